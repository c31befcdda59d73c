// A host described in data, so pure code can be tested for any machine
// without touching the real /boot or firmware directories.
import { resolve } from 'node:path';
import type { FirmwareDescriptor, HostFacts } from '../../src/host/host-facts';

export const FAKE_KERNEL = '/boot/vmlinuz-6.1.0-99-amd64';

export const FAKE_FIRMWARE: FirmwareDescriptor[] = [
  {
    file: '40-edk2-x86_64-secure-enrolled.json',
    'interface-types': ['uefi'],
    mapping: {
      device: 'flash',
      executable: { filename: '/usr/share/OVMF/OVMF_CODE_4M.ms.fd', format: 'raw' },
      'nvram-template': { filename: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd', format: 'raw' },
    },
    targets: [{ architecture: 'x86_64', machines: ['pc-q35-*'] }],
    features: ['enrolled-keys', 'requires-smm', 'secure-boot'],
  },
  {
    file: '60-edk2-x86_64.json',
    'interface-types': ['uefi'],
    mapping: {
      device: 'flash',
      executable: { filename: '/usr/share/OVMF/OVMF_CODE_4M.fd', format: 'raw' },
      'nvram-template': { filename: '/usr/share/OVMF/OVMF_VARS_4M.fd', format: 'raw' },
    },
    targets: [{ architecture: 'x86_64', machines: ['pc-i440fx-*', 'pc-q35-*'] }],
    features: ['acpi-s3', 'verbose-dynamic'],
  },
  {
    file: '60-edk2-aarch64.json',
    'interface-types': ['uefi'],
    mapping: {
      device: 'flash',
      executable: { filename: '/usr/share/AAVMF/AAVMF_CODE.fd', format: 'raw' },
      'nvram-template': { filename: '/usr/share/AAVMF/AAVMF_VARS.fd', format: 'raw' },
    },
    targets: [{ architecture: 'aarch64', machines: ['virt-*'] }],
  },
];

/** The fake host's workspace root: relative paths are taken from here. */
export const FAKE_WORKSPACE = '/ws';

export function fakeHost(
  overrides: Partial<Pick<HostFacts, 'kernels' | 'firmware'>> & {
    files?: string[];
    directories?: string[];
  } = {},
): HostFacts {
  const kernels = overrides.kernels ?? ['/boot/vmlinuz-6.1.0-9-amd64', FAKE_KERNEL];
  const firmware = overrides.firmware ?? FAKE_FIRMWARE;
  const files = new Set([
    ...kernels,
    ...firmware.flatMap((d) => [
      d.mapping.executable?.filename ?? '',
      d.mapping['nvram-template']?.filename ?? '',
    ]),
    ...(overrides.files ?? []),
  ]);
  const directories = new Set(overrides.directories ?? []);
  return {
    codename: 'bookworm',
    kernels,
    firmware,
    exists: (p) => files.has(p) || directories.has(p),
    kind: (p) => (files.has(p) ? 'file' : directories.has(p) ? 'directory' : undefined),
    realPath: (p) => resolve(FAKE_WORKSPACE, p),
  };
}
