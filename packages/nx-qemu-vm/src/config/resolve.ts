// Validated config + host facts -> everything the run script, the initrd and
// the boot disk need, computed once. Pure: no file system, no processes.
// Code after resolution reads a ResolvedMachine only, never the options it came from.
import { ConfigError, type ConfigIssue, machineIssues } from './errors';
import type { HostFacts } from '../host/host-facts';
import { type ValidMachine, installsAfterRestore } from './valid-machine';
import type { ValidConfig } from './validate';
import {
  ARCH_PROFILES,
  bootDiskEfiVars,
  bootDiskImage,
  defaultConsoles,
  defaultDiskImage,
  defaultEfiVars,
  emptyDiskImage,
  generatedInitrd,
  pvhKernel,
  IMAGE_UUID,
  installImage,
  installUuid,
  stateDir,
} from './defaults';
import { lookupDrive, resolveDrives } from './drives';
import {
  type ResolvedSystem,
  outsideOutputsProblems,
  resolveFirmware,
  resolveKernelImage,
  resolveSystem,
} from './host-resolve';
import { sharedImageIssues } from './images';
import { type HostEntry, primaryIPAddress, resolveNetwork, workspaceHosts } from './network';
import { startOrder } from './workload-checks';
import { resolveFileSystems, resolveShares } from './shares';
import type { ResolvedInstall, ResolvedMachine } from './resolved-machine';

export type { ResolvedSystem } from './host-resolve';
export type { ResolvedInstall, ResolvedMachine, ResolvedService } from './resolved-machine';
export { newestKernel } from './host-resolve';

export function resolveMachine(
  name: string,
  index: number,
  machine: ValidMachine,
  host: HostFacts,
  hosts: HostEntry[] = [],
): ResolvedMachine {
  // The order of these steps is the order of their problems in the message.
  const { system, problems: systemProblems } = resolveSystem(name, machine, host);
  const { kernel, problems: kernelProblems } = resolveKernelImage(machine, system, host);
  const { efi, bios, problems: firmwareProblems } = resolveFirmware(machine, host);
  const problems = [
    ...systemProblems,
    ...kernelProblems,
    ...outsideOutputsProblems(machine, host),
    ...firmwareProblems,
  ];
  if (problems.length) throw new ConfigError('workspace-vm.json', machineIssues(name, problems));
  const profile = ARCH_PROFILES[machine.arch];
  return {
    name,
    index,
    arch: machine.arch,
    config: machine,
    system,
    qemu: {
      binary: machine.qemu.binary ?? profile.binary,
      machine: machine.qemu.machine ?? profile.machine,
      cpu: profile.cpu,
      accel: machine.accel,
      debianPackage: profile.debianQemuPackage,
      diskInterface: machine.qemu.diskInterface,
      options: machine.qemu.options,
    },
    memorySize: machine.memorySize,
    cores: machine.cores,
    graphics: machine.graphics,
    warmStart: machine.warmStart,
    installsAfterRestore: installsAfterRestore(machine),
    guestAgent: machine.qemu.guestAgent.enable,
    boot: {
      loader: machine.useBootLoader,
      efi: machine.useEFIBoot,
      diskBuilder: machine.bootDiskBuilder,
      resolution: machine.resolution,
    },
    store: { ...machine.store, writable: machine.writableStore },
    msize: machine.msize,
    paths: resolvePaths(name, machine),
    diskSize: machine.diskSize,
    emptyDiskSizes: machine.emptyDiskImages,
    ...resolveStorage(name, machine, system),
    network: resolveNetwork(machine, index),
    primaryIPAddress: primaryIPAddress(machine, index),
    forwardPorts: machine.forwardPorts,
    hostDirectories: hostDirectories(machine, system),
    services: startOrder(machine.services).map((service) => ({
      ...machine.services[service],
      name: service,
      unit: `${service}.service`,
    })),
    hosts,
    guest: {
      users: machine.users,
      files: machine.files,
      gettys: machine.gettys,
      postBootCommands: machine.postBootCommands,
    },
    // Undefined only with a problem, thrown above.
    ...resolveBoot(name, machine, kernel as string),
    efi,
    bios,
  };
}

function resolvePaths(name: string, machine: ValidMachine): ResolvedMachine['paths'] {
  return {
    stateDir: stateDir(name),
    diskImage: machine.diskImage ?? defaultDiskImage(name),
    emptyDisks: machine.emptyDiskImages.map((_, i) => emptyDiskImage(name, i)),
    efiVars: machine.efiVars ?? defaultEfiVars(name),
    bootDisk: bootDiskImage(name),
    bootDiskEfiVars: bootDiskEfiVars(name),
  };
}

/** The drives, the shares and the file systems stage 1 mounts from them. */
function resolveStorage(
  name: string,
  machine: ValidMachine,
  system: ResolvedSystem,
): Pick<ResolvedMachine, 'installs' | 'drives' | 'bootDevice' | 'shares' | 'fileSystems'> {
  const installs = resolveInstalls(name, machine);
  const drives = resolveDrives(
    name,
    machine,
    system.from === 'debian' ? system.image.store : undefined,
    installs.length,
  );
  const bootDevice = machine.bootDevice ?? drives[0].device;
  const bootPartition = machine.useBootLoader
    ? `${lookupDrive(drives, 'boot').device}2`
    : undefined;
  const shares = resolveShares(machine, system.from === 'host');
  const fileSystems = resolveFileSystems(
    machine,
    shares,
    bootDevice,
    bootPartition,
    // By its file system's UUID: the drive's name depends on the drives before it.
    system.from === 'debian' ? `UUID=${IMAGE_UUID}` : undefined,
    installs,
  );
  return { installs, drives, bootDevice, shares, fileSystems };
}

/** The host directories that 9p shares, with the option that names each: the store first. */
function hostDirectories(
  machine: ValidMachine,
  system: ResolvedSystem,
): ResolvedMachine['hostDirectories'] {
  return [
    ...(system.from === 'host' ? [{ option: 'store.source', path: machine.store.source }] : []),
    ...Object.entries(machine.sharedDirectories).map(([tag, share]) => ({
      option: `sharedDirectories.${tag}.source`,
      path: share.source,
    })),
  ];
}

/** The kernel, its initrd and command line, and the consoles it writes to. */
function resolveBoot(
  name: string,
  machine: ValidMachine,
  kernelImage: string,
): Pick<ResolvedMachine, 'consoles' | 'kernel'> {
  const consoles = machine.qemu.consoles ?? defaultConsoles(machine.arch, machine.graphics);
  const systemd = machine.init === 'systemd';
  const init = systemd ? '/usr/lib/systemd/systemd' : machine.init;
  const params = [
    ...machine.kernelParams,
    `init=${init}`,
    // The image's udev would rename eth0 to enp0s3: stage 2 configures NICs by those names.
    ...(systemd ? ['net.ifnames=0'] : []),
    ...consoles.map((c) => `console=${c}`),
  ];
  return {
    consoles,
    kernel: {
      image: kernelImage,
      initrd: machine.initrd ?? generatedInitrd(name),
      generatedInitrd: machine.initrd === null,
      // A machine with a display enters it only where no screen is looked at (run-script.ts).
      pvh: machine.initrd === null && machine.arch === 'x86_64-linux' ? pvhKernel(name) : undefined,
      init,
      systemd,
      params,
    },
  };
}

/** Resolves every machine, reporting the problems of all of them together. */
export function resolveConfig(
  config: ValidConfig,
  host: HostFacts,
): Record<string, ResolvedMachine> {
  const out: Record<string, ResolvedMachine> = {};
  const issues: ConfigIssue[] = [];
  Object.entries(config.machines).forEach(([name, machine], i) => {
    try {
      out[name] = resolveMachine(name, i + 1, machine, host, workspaceHosts(config.machines, name));
    } catch (err) {
      if (err instanceof ConfigError) issues.push(...err.issues);
      else throw err;
    }
  });
  issues.push(...sharedImageIssues(config.machines, host));
  if (issues.length) throw new ConfigError('workspace-vm.json', issues);
  return out;
}

function resolveInstalls(name: string, machine: ValidMachine): ResolvedInstall[] {
  return machine.install.map((entry, i) => {
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
