// The resolution steps that consult the host (its Debian codename, its
// kernels, its firmware, its real paths), each returning what it resolved
// and the problems it found. Pure: the host is read through HostFacts.
import type { OptionProblem } from './errors';
import type { HostFacts } from '../host/host-facts';
import type { ValidMachine } from './valid-machine';
import { ARCH_PROFILES, imageDir, imageKernel, imageStore } from './defaults';
import { EFI_PACKAGE, type EfiFirmware, selectEfiFirmware } from './firmware';

/** Where the guest's software comes from; see the `system` option. */
export type ResolvedSystem =
  | { from: 'host' }
  | {
      from: 'debian';
      suite: string;
      /** The user's packages, then what every image needs, sorted and without repeats. */
      packages: string[];
      debianArch: string;
      image: { dir: string; store: string; kernel: string };
    };

/** What stage 1, stage 2 and exec need in every Debian image besides the Essential packages. */
export function basePackages(
  machine: Pick<ValidMachine, 'arch' | 'init' | 'useBootLoader' | 'gettys'>,
): string[] {
  return [
    ARCH_PROFILES[machine.arch].debianKernelPackage,
    'busybox-static',
    'e2fsprogs',
    // useradd and usermod, with which stage 1 makes the `users` (Priority required, not Essential).
    'passwd',
    ...(machine.init === 'systemd' ? ['systemd'] : []),
    // A console login registers a logind session (pam_systemd), which logind keeps over D-Bus.
    ...(machine.gettys.length ? ['libpam-systemd', 'dbus'] : []),
    // An aarch64 boot disk's GRUB comes from the image (the host's is x86).
    ...(machine.arch === 'aarch64-linux' && machine.useBootLoader ? ['grub-efi-arm64-bin'] : []),
  ];
}

/** The guest's software, and whether its init and store fit where it comes from. */
export function resolveSystem(
  name: string,
  machine: ValidMachine,
  host: HostFacts,
): { system: ResolvedSystem; problems: OptionProblem[] } {
  const problems: OptionProblem[] = [];
  const profile = ARCH_PROFILES[machine.arch];
  let system: ResolvedSystem = { from: 'host' };
  if (machine.system.from === 'debian') {
    const suite = machine.system.suite ?? host.codename;
    if (suite === undefined)
      problems.push({
        path: ['system', 'suite'],
        value: undefined,
        message:
          'this host has no Debian codename in /etc/os-release; name the suite, e.g. "bookworm".',
      });
    if (machine.kernel !== undefined)
      problems.push({
        path: ['kernel'],
        value: machine.kernel,
        message: `comes from the image (${profile.debianKernelPackage}) when system.from is "debian"; remove "kernel", or use system.from "host".`,
      });
    system = {
      from: 'debian',
      suite: suite ?? '',
      packages: [...new Set([...machine.system.packages, ...basePackages(machine)])].sort(),
      debianArch: profile.debianArch,
      image: { dir: imageDir(name), store: imageStore(name), kernel: imageKernel(name) },
    };
  }

  // systemd and the /etc it is configured by come from a Debian image.
  if (machine.init === 'systemd' && system.from === 'host')
    problems.push({
      path: ['init'],
      value: machine.init,
      message:
        'boots the systemd of a Debian image, with the /etc its packages set up; set system.from to "debian" (the package systemd is added), or init to the path of an init in the guest.',
    });
  else if (machine.init === 'systemd' && machine.store.target !== '/usr')
    problems.push({
      path: ['store', 'target'],
      value: machine.store.target,
      message:
        'with init "systemd" the image must be the guest\'s /usr, where systemd and its units live; set store.target to "/usr".',
    });

  // The host's /usr holds x86_64 programs: an aarch64 guest could not run them.
  if (system.from === 'host' && machine.arch === 'aarch64-linux' && machine.store.source === '/usr')
    problems.push({
      path: ['system', 'from'],
      value: 'host',
      message:
        'an aarch64 guest cannot run the host\'s /usr (x86_64 programs). Set system.from to "debian" (an arm64 image is built), or store.source to an arm64 root\'s /usr.',
    });
  return { system, problems };
}

/** The kernel image to boot (undefined only with a problem), and whether it and the initrd exist. */
export function resolveKernelImage(
  machine: ValidMachine,
  system: ResolvedSystem,
  host: HostFacts,
): { kernel: string | undefined; problems: OptionProblem[] } {
  const problems: OptionProblem[] = [];
  // /boot holds the host's kernels; another architecture must name its own.
  const kernel =
    system.from === 'debian'
      ? system.image.kernel
      : (machine.kernel ??
        (machine.arch === 'x86_64-linux' ? newestKernel(host.kernels) : undefined));
  if (system.from === 'debian') {
    // Built by the image target: it need not exist yet.
  } else if (kernel === undefined && machine.arch !== 'x86_64-linux')
    problems.push({
      path: ['kernel'],
      value: undefined,
      message: `an ${machine.arch} guest needs its own kernel: the kernels in /boot are the host's. Set system.from to "debian" (the image brings one), or "kernel" to an image for ${machine.arch}.`,
    });
  else if (kernel === undefined)
    problems.push({
      path: ['kernel'],
      value: undefined,
      message:
        'no kernel given and none found as /boot/vmlinuz-*. Install one (apt-get install linux-image-amd64) or set "kernel" to an image file.',
    });
  else if (host.kind(kernel) !== 'file')
    problems.push({
      path: ['kernel'],
      value: kernel,
      message: `${host.kind(kernel) ? 'is not a file' : 'file not found'}. Install a kernel (apt-get install linux-image-amd64) or point "kernel" at an existing image.`,
    });
  if (machine.initrd !== null && host.kind(machine.initrd) !== 'file')
    problems.push({
      path: ['initrd'],
      value: machine.initrd,
      message: `${host.kind(machine.initrd) ? 'is not a file' : 'file not found'}. Set "initrd" to an existing file, or to null to use the generated one.`,
    });
  return { kernel, problems };
}

export function newestKernel(kernels: readonly string[]): string | undefined {
  const collator = new Intl.Collator('en', { numeric: true });
  return [...kernels].sort(collator.compare).pop();
}

/**
 * Nx empties a cached target's output folder when it builds or restores it:
 * a user's disk there would be lost. Compared as real paths, so that
 * "dist//vm", "x/../dist/vm" or an absolute path do not slip through.
 */
export function outsideOutputsProblems(machine: ValidMachine, host: HostFacts): OptionProblem[] {
  const problems: OptionProblem[] = [];
  const outputs = host.realPath('dist/vm');
  const insideOutputs = (p: string) => {
    const real = host.realPath(p);
    return real === outputs || real.startsWith(`${outputs}/`);
  };
  const keepOut = (path: (string | number)[], value: string | undefined, what: string) => {
    if (value !== undefined && insideOutputs(value))
      problems.push({
        path,
        value,
        message: `must not be under dist/vm/, where Nx replaces cached outputs; keep ${what} under .vm/ (the default) or elsewhere.`,
      });
  };
  keepOut(['diskImage'], machine.diskImage, 'disks');
  keepOut(['efiVars'], machine.efiVars, 'them');
  machine.qemu.drives.forEach((d, i) => keepOut(['qemu', 'drives', i, 'file'], d.file, 'disks'));
  return problems;
}

/** The UEFI firmware of an EFI boot and the BIOS file the user named, found on the host. */
export function resolveFirmware(
  machine: ValidMachine,
  host: HostFacts,
): { efi: EfiFirmware | undefined; bios: string | undefined; problems: OptionProblem[] } {
  const problems: OptionProblem[] = [];
  let efi: EfiFirmware | undefined;
  if (machine.useEFIBoot) {
    const machineType = machine.qemu.machine ?? ARCH_PROFILES[machine.arch].machine;
    efi = selectEfiFirmware(machine.arch, machineType, host.firmware, (path) => host.exists(path));
    if (!efi)
      problems.push({
        path: ['useEFIBoot'],
        value: true,
        message: `no UEFI firmware found for ${machine.arch}. Install it (apt-get install ${EFI_PACKAGE[machine.arch]}) or set useEFIBoot to false.`,
      });
  }
  let bios: string | undefined;
  if (machine.bios !== null) {
    bios = host.exists(`${machine.bios}/bios.bin`) ? `${machine.bios}/bios.bin` : machine.bios;
    if (!host.exists(bios))
      problems.push({
        path: ['bios'],
        value: machine.bios,
        message: 'firmware file not found (a file, or a directory holding bios.bin).',
      });
  }
  return { efi, bios, problems };
}
