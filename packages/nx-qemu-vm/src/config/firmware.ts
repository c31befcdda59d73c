// UEFI firmware is found the way libvirt finds it: through the JSON
// descriptors that QEMU's firmware spec defines, ranked by file name, with
// Debian's well-known OVMF/AAVMF paths as a fallback.
import type { FirmwareDescriptor } from '../host/host-facts';
import type { GuestArch } from './defaults';

export interface EfiFirmware {
  code: string;
  varsTemplate: string;
  format: string;
}

const QEMU_ARCH: Record<GuestArch, string> = {
  'x86_64-linux': 'x86_64',
  'i686-linux': 'i386',
  'aarch64-linux': 'aarch64',
};

const DEBIAN_FALLBACKS: Record<GuestArch, { code: string; vars: string }[]> = {
  'x86_64-linux': [
    { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
    { code: '/usr/share/OVMF/OVMF_CODE.fd', vars: '/usr/share/OVMF/OVMF_VARS.fd' },
  ],
  'i686-linux': [],
  'aarch64-linux': [
    { code: '/usr/share/AAVMF/AAVMF_CODE.fd', vars: '/usr/share/AAVMF/AAVMF_VARS.fd' },
  ],
};

export const EFI_PACKAGE: Record<GuestArch, string> = {
  'x86_64-linux': 'ovmf',
  'i686-linux': 'ovmf-ia32',
  'aarch64-linux': 'qemu-efi-aarch64',
};

/** Machine globs in descriptors name versioned types (`pc-q35-*`); map our aliases onto them. */
function machineMatches(glob: string, machine: string): boolean {
  const base = machine.split(',')[0];
  const canonical =
    base === 'q35'
      ? 'pc-q35-any'
      : base === 'pc'
        ? 'pc-i440fx-any'
        : base === 'virt'
          ? 'virt-any'
          : base;
  const re = new RegExp(
    '^' +
      glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  );
  return re.test(canonical) || re.test(base);
}

/**
 * Picks the best UEFI firmware for the guest. Secure-boot builds that need SMM
 * or come with enrolled keys are skipped: they would refuse our unsigned loaders.
 */
export function selectEfiFirmware(
  arch: GuestArch,
  machine: string,
  descriptors: readonly FirmwareDescriptor[],
  exists: (path: string) => boolean,
): EfiFirmware | undefined {
  const qemuArch = QEMU_ARCH[arch];
  for (const d of descriptors) {
    const features = d.features ?? [];
    if (!d['interface-types'].includes('uefi')) continue;
    if (d.mapping.device !== 'flash' || !d.mapping.executable || !d.mapping['nvram-template'])
      continue;
    if (
      features.includes('requires-smm') ||
      features.includes('enrolled-keys') ||
      features.includes('secure-boot')
    )
      continue;
    if (
      !d.targets.some(
        (t) => t.architecture === qemuArch && t.machines.some((g) => machineMatches(g, machine)),
      )
    )
      continue;
    const code = d.mapping.executable.filename;
    const varsTemplate = d.mapping['nvram-template'].filename;
    if (!exists(code) || !exists(varsTemplate)) continue;
    return { code, varsTemplate, format: d.mapping.executable.format ?? 'raw' };
  }
  for (const f of DEBIAN_FALLBACKS[arch])
    if (exists(f.code) && exists(f.vars))
      return { code: f.code, varsTemplate: f.vars, format: 'raw' };
  return undefined;
}
