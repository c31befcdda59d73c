// Validated config + host facts -> everything the run script, the initrd and
// the boot disk need, computed once. Pure: no file system, no processes.
import { ConfigError, type ConfigIssue, jsonPath } from './errors';
import type { HostFacts } from '../host/facts';
import type { ValidMachine } from './machine';
import type { ValidConfig } from './validate';
import {
  ARCH_PROFILES,
  type GuestArch,
  bootDiskEfiVars,
  bootDiskImage,
  defaultConsoles,
  defaultDiskImage,
  defaultEfiVars,
  emptyDiskImage,
  generatedInitrd,
  pvhKernel,
  IMAGE_UUID,
  imageDir,
  imageKernel,
  imageStore,
  installImage,
  installUuid,
  stateDir,
} from './defaults';
import { type ResolvedDrive, lookupDrive, resolveDrives } from './drives';
import { sharedImageIssues } from './images';
import {
  type HostEntry,
  type ResolvedNetwork,
  primaryIPAddress,
  resolveNetwork,
  workspaceHosts,
} from './network';
import type { ValidService } from './machine';
import { startOrder } from './workload-checks';
import {
  type ResolvedFileSystem,
  type ResolvedShare,
  resolveFileSystems,
  resolveShares,
} from './shares';
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
  m: Pick<ValidMachine, 'arch' | 'init' | 'useBootLoader' | 'gettys'>,
): string[] {
  return [
    ARCH_PROFILES[m.arch].debianKernelPackage,
    'busybox-static',
    'e2fsprogs',
    // useradd and usermod, with which stage 1 makes the `users` (Priority required, not Essential).
    'passwd',
    ...(m.init === 'systemd' ? ['systemd'] : []),
    // A console login registers a logind session (pam_systemd), which logind keeps over D-Bus.
    ...(m.gettys.length ? ['libpam-systemd', 'dbus'] : []),
    // An aarch64 boot disk's GRUB comes from the image (the host's is x86).
    ...(m.arch === 'aarch64-linux' && m.useBootLoader ? ['grub-efi-arm64-bin'] : []),
  ];
}

/** One entry of `install`: an Nx target's files, as an erofs image mounted at `to`. */
export interface ResolvedInstall {
  /** The target as written, `project:target`. */
  target: string;
  project: string;
  targetName: string;
  /** The directory to pack, relative to the workspace; undefined: the target's one output. */
  from: string | undefined;
  to: string;
  /** The image the install target writes, relative to the workspace. */
  image: string;
  /** Its file system UUID, by which stage 1 finds the drive. */
  uuid: string;
}

/** A declared service, with its unit name under systemd. */
export interface ResolvedService extends ValidService {
  name: string;
  unit: string;
}

export interface ResolvedMachine {
  name: string;
  /** 1-based position in workspace-vm.json. */
  index: number;
  arch: GuestArch;
  config: ValidMachine;
  system: ResolvedSystem;
  qemu: {
    binary: string;
    machine: string;
    cpu: string;
    accel: ValidMachine['accel'];
    debianPackage: string;
  };
  paths: {
    stateDir: string;
    diskImage: string;
    emptyDisks: string[];
    efiVars: string;
    bootDisk: string;
    bootDiskEfiVars: string;
  };
  drives: ResolvedDrive[];
  bootDevice: string;
  consoles: string[];
  network: ResolvedNetwork;
  primaryIPAddress: string;
  shares: ResolvedShare[];
  fileSystems: ResolvedFileSystem[];
  installs: ResolvedInstall[];
  /** In start order: each after the services it waits for. */
  services: ResolvedService[];
  /** The other machines of the workspace that share a vlan with this one. */
  hosts: HostEntry[];
  kernel: {
    image: string;
    initrd: string;
    generatedInitrd: boolean;
    /** x86_64 with the generated initrd: the unpacked kernel the initrd target writes, if it can. */
    pvh: string | undefined;
    init: string;
    /** init is the image's systemd, and stage 2 runs as its service. */
    systemd: boolean;
    params: string[];
  };
  efi?: EfiFirmware;
  bios?: string;
}

export function newestKernel(kernels: readonly string[]): string | undefined {
  const collator = new Intl.Collator('en', { numeric: true });
  return [...kernels].sort(collator.compare).pop();
}

function resolveBios(bios: string, host: HostFacts): string {
  return host.exists(`${bios}/bios.bin`) ? `${bios}/bios.bin` : bios;
}

export function resolveMachine(
  name: string,
  index: number,
  m: ValidMachine,
  host: HostFacts,
  hosts: HostEntry[] = [],
): ResolvedMachine {
  const issues: ConfigIssue[] = [];
  const issue = (path: (string | number)[], value: unknown, message: string) =>
    issues.push({ machine: name, path: jsonPath(['machines', name, ...path]), value, message });
  const profile = ARCH_PROFILES[m.arch];

  let system: ResolvedSystem = { from: 'host' };
  if (m.system.from === 'debian') {
    const suite = m.system.suite ?? host.codename;
    if (suite === undefined)
      issue(
        ['system', 'suite'],
        undefined,
        'this host has no Debian codename in /etc/os-release; name the suite, e.g. "bookworm".',
      );
    if (m.kernel !== undefined)
      issue(
        ['kernel'],
        m.kernel,
        `comes from the image (${profile.debianKernelPackage}) when system.from is "debian"; remove "kernel", or use system.from "host".`,
      );
    system = {
      from: 'debian',
      suite: suite ?? '',
      packages: [...new Set([...m.system.packages, ...basePackages(m)])].sort(),
      debianArch: profile.debianArch,
      image: { dir: imageDir(name), store: imageStore(name), kernel: imageKernel(name) },
    };
  }

  // systemd and the /etc it is configured by come from a Debian image.
  if (m.init === 'systemd' && system.from === 'host')
    issue(
      ['init'],
      m.init,
      'boots the systemd of a Debian image, with the /etc its packages set up; set system.from to "debian" (the package systemd is added), or init to the path of an init in the guest.',
    );
  else if (m.init === 'systemd' && m.store.target !== '/usr')
    issue(
      ['store', 'target'],
      m.store.target,
      'with init "systemd" the image must be the guest\'s /usr, where systemd and its units live; set store.target to "/usr".',
    );

  // The host's /usr holds x86_64 programs: an aarch64 guest could not run them.
  if (system.from === 'host' && m.arch === 'aarch64-linux' && m.store.source === '/usr')
    issue(
      ['system', 'from'],
      'host',
      'an aarch64 guest cannot run the host\'s /usr (x86_64 programs). Set system.from to "debian" (an arm64 image is built), or store.source to an arm64 root\'s /usr.',
    );

  // /boot holds the host's kernels; another architecture must name its own.
  const kernel =
    system.from === 'debian'
      ? system.image.kernel
      : (m.kernel ?? (m.arch === 'x86_64-linux' ? newestKernel(host.kernels) : undefined));
  if (system.from === 'debian') {
    // Built by the image target: it need not exist yet.
  } else if (kernel === undefined && m.arch !== 'x86_64-linux')
    issue(
      ['kernel'],
      undefined,
      `an ${m.arch} guest needs its own kernel: the kernels in /boot are the host's. Set system.from to "debian" (the image brings one), or "kernel" to an image for ${m.arch}.`,
    );
  else if (kernel === undefined)
    issue(
      ['kernel'],
      undefined,
      'no kernel given and none found as /boot/vmlinuz-*. Install one (apt-get install linux-image-amd64) or set "kernel" to an image file.',
    );
  else if (host.kind(kernel) !== 'file')
    issue(
      ['kernel'],
      kernel,
      `${host.kind(kernel) ? 'is not a file' : 'file not found'}. Install a kernel (apt-get install linux-image-amd64) or point "kernel" at an existing image.`,
    );
  if (m.initrd !== null && host.kind(m.initrd) !== 'file')
    issue(
      ['initrd'],
      m.initrd,
      `${host.kind(m.initrd) ? 'is not a file' : 'file not found'}. Set "initrd" to an existing file, or to null to use the generated one.`,
    );
  // Nx empties a cached target's output folder when it builds or restores it:
  // a user's disk there would be lost. Compared as real paths, so that
  // "dist//vm", "x/../dist/vm" or an absolute path do not slip through.
  const outputs = host.realPath('dist/vm');
  const insideOutputs = (p: string) => {
    const real = host.realPath(p);
    return real === outputs || real.startsWith(`${outputs}/`);
  };
  const keepOut = (path: (string | number)[], value: string | undefined, what: string) => {
    if (value !== undefined && insideOutputs(value))
      issue(
        path,
        value,
        `must not be under dist/vm/, where Nx replaces cached outputs; keep ${what} under .vm/ (the default) or elsewhere.`,
      );
  };
  keepOut(['diskImage'], m.diskImage, 'disks');
  keepOut(['efiVars'], m.efiVars, 'them');
  m.qemu.drives.forEach((d, i) => keepOut(['qemu', 'drives', i, 'file'], d.file, 'disks'));

  let efi: EfiFirmware | undefined;
  if (m.useEFIBoot) {
    efi = selectEfiFirmware(m.arch, m.qemu.machine ?? profile.machine, host.firmware, (path) =>
      host.exists(path),
    );
    if (!efi)
      issue(
        ['useEFIBoot'],
        true,
        `no UEFI firmware found for ${m.arch}. Install it (apt-get install ${EFI_PACKAGE[m.arch]}) or set useEFIBoot to false.`,
      );
  }
  let bios: string | undefined;
  if (m.bios !== null) {
    bios = resolveBios(m.bios, host);
    if (!host.exists(bios))
      issue(['bios'], m.bios, 'firmware file not found (a file, or a directory holding bios.bin).');
  }

  const installs = resolveInstalls(name, m);
  const drives = resolveDrives(
    name,
    m,
    system.from === 'debian' ? system.image.store : undefined,
    installs.length,
  );
  const bootDevice = m.bootDevice ?? drives[0].device;
  const bootPartition = m.useBootLoader ? `${lookupDrive(drives, 'boot').device}2` : undefined;
  const shares = resolveShares(m, system.from === 'host');
  const consoles = m.qemu.consoles ?? defaultConsoles(m.arch, m.graphics);
  const systemd = m.init === 'systemd';
  const init = systemd ? '/usr/lib/systemd/systemd' : m.init;
  const params = [
    ...m.kernelParams,
    `init=${init}`,
    // The image's udev would rename eth0 to enp0s3: stage 2 configures NICs by those names.
    ...(systemd ? ['net.ifnames=0'] : []),
    ...consoles.map((c) => `console=${c}`),
  ];

  if (issues.length) throw new ConfigError('workspace-vm.json', issues);
  return {
    name,
    index,
    arch: m.arch,
    config: m,
    system,
    qemu: {
      binary: m.qemu.binary ?? profile.binary,
      machine: m.qemu.machine ?? profile.machine,
      cpu: profile.cpu,
      accel: m.accel,
      debianPackage: profile.debianQemuPackage,
    },
    paths: {
      stateDir: stateDir(name),
      diskImage: m.diskImage ?? defaultDiskImage(name),
      emptyDisks: m.emptyDiskImages.map((_, i) => emptyDiskImage(name, i)),
      efiVars: m.efiVars ?? defaultEfiVars(name),
      bootDisk: bootDiskImage(name),
      bootDiskEfiVars: bootDiskEfiVars(name),
    },
    drives,
    bootDevice,
    consoles,
    network: resolveNetwork(m, index),
    primaryIPAddress: primaryIPAddress(m, index),
    shares,
    fileSystems: resolveFileSystems(
      m,
      shares,
      bootDevice,
      bootPartition,
      // By its file system's UUID: the drive's name depends on the drives before it.
      system.from === 'debian' ? `UUID=${IMAGE_UUID}` : undefined,
      installs,
    ),
    installs,
    services: startOrder(m.services).map((service) => ({
      ...m.services[service],
      name: service,
      unit: `${service}.service`,
    })),
    hosts,
    kernel: {
      image: kernel as string,
      initrd: m.initrd ?? generatedInitrd(name),
      generatedInitrd: m.initrd === null,
      // A PVH entry gets no text screen from the firmware: the display would keep the
      // BIOS's last words. A machine with a display boots the kernel as it is.
      pvh:
        m.initrd === null && m.arch === 'x86_64-linux' && !m.graphics ? pvhKernel(name) : undefined,
      init,
      systemd,
      params,
    },
    efi,
    bios,
  };
}

/** Resolves every machine, reporting the problems of all of them together. */
export function resolveConfig(
  config: ValidConfig,
  host: HostFacts,
): Record<string, ResolvedMachine> {
  const out: Record<string, ResolvedMachine> = {};
  const issues: ConfigIssue[] = [];
  Object.entries(config.machines).forEach(([name, m], i) => {
    try {
      out[name] = resolveMachine(name, i + 1, m, host, workspaceHosts(config.machines, name));
    } catch (err) {
      if (err instanceof ConfigError) issues.push(...err.issues);
      else throw err;
    }
  });
  issues.push(...sharedImageIssues(config.machines, host));
  if (issues.length) throw new ConfigError('workspace-vm.json', issues);
  return out;
}

function resolveInstalls(name: string, m: ValidMachine): ResolvedInstall[] {
  return m.install.map((entry, i) => {
    const [project, targetName] = entry.target.split(':');
    return {
      target: entry.target,
      project,
      targetName,
      from: entry.from?.replace(/\/+$/, ''),
      to: entry.to,
      image: installImage(name, i),
      uuid: installUuid(i),
    };
  });
}
