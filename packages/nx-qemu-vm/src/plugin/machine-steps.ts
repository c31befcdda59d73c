// The build and state targets of one machine, one builder each: what each
// step runs, waits for and hashes. Data flows config -> initrd -> boot-disk,
// config -> build (scripts); the stateful disks sit beside them. The
// project that assembles them is in plugin/machine-targets.ts.
import type { TargetConfiguration } from '@nx/devkit';
import { ARCH_PROFILES, distDir } from '../config/defaults';
import { type ValidMachine, installsAfterRestore } from '../config/valid-machine';
import {
  type CachedTarget,
  TARGET_FIELDS,
  hostInputs,
  machineFieldsInput,
  warmHostInputs,
  fileSourceInputs,
} from './target-inputs';
import { pluginDigest } from './plugin-digest';
import type { HostEntry } from '../config/network';

export interface TargetNaming {
  prefix: string;
}

/** What every target builder of one machine works from. */
export interface MachineTargetContext {
  name: string;
  m: ValidMachine;
  /** dist/vm/<name>, relative to the workspace root. */
  dist: string;
  /** A target's name with the user's prefix. */
  t: (target: string) => string;
  /** Our sources as inputs, in the plugin's own repository (pluginSourceInputs). */
  source: NonNullable<TargetConfiguration['inputs']>;
  fromImage: boolean;
  /** The options of a never-cached target. */
  options: { machine: string };
  /** A cached step's options: Nx hashes options, not executor code, so they carry the plugin's digest. */
  built: { machine: string; pluginDigest: string };
  /** `built`, with the machine's position where its vlan addresses and MACs follow it: a reorder must rebuild. */
  positioned: { machine: string; pluginDigest: string; position?: number };
  /** The machines this one shares a vlan with: their names go into its /etc/hosts. */
  hosts: readonly HostEntry[];
}

export function machineTargetContext(
  name: string,
  position: number,
  m: ValidMachine,
  naming: TargetNaming,
  source: NonNullable<TargetConfiguration['inputs']>,
  hosts: readonly HostEntry[],
): MachineTargetContext {
  const options = { machine: name };
  const built = { ...options, pluginDigest: pluginDigest() };
  return {
    name,
    m,
    dist: distDir(name),
    t: (target) => `${naming.prefix}${target}`,
    source,
    fromImage: m.system.from === 'debian',
    options,
    built,
    positioned: m.vlans.length ? { ...built, position } : built,
    hosts,
  };
}

export const meta = (description: string) => ({ description, technologies: ['qemu'] });

function stateful(
  c: MachineTargetContext,
  executor: string,
  description: string,
): TargetConfiguration {
  return {
    executor: `nx-qemu-vm:${executor}`,
    // Never cached and never an output: a cache restore must not touch a user's disk.
    cache: false,
    inputs: [],
    dependsOn: [c.t('config')],
    options: c.options,
    metadata: meta(description),
  };
}

// Every cached step hashes the same three kinds of input: its fields, our code, and what it takes from the host.
function cachedStep(
  c: MachineTargetContext,
  target: CachedTarget,
  outDir: string,
  description: string,
  extra: TargetConfiguration<Record<string, unknown>> = {},
): TargetConfiguration {
  return {
    executor: `nx-qemu-vm:${target}`,
    cache: true,
    ...extra,
    inputs: [
      machineFieldsInput(c.name, target === 'config' ? 'all' : TARGET_FIELDS[target]),
      ...c.source,
      ...hostInputs(target, c.m),
      ...(extra.inputs ?? []),
    ],
    outputs: [`{workspaceRoot}/${c.dist}/${outDir}`],
    options: extra.options ?? c.positioned,
    metadata: meta(description),
  };
}

export const configTarget = (c: MachineTargetContext) =>
  cachedStep(
    c,
    'config',
    'config',
    `Validate machine "${c.name}" and write its resolved config to ${c.dist}/config/machine.json.`,
  );

export const initrdTarget = (c: MachineTargetContext) =>
  cachedStep(
    c,
    'initrd',
    'initrd',
    `Build ${c.dist}/initrd/initrd.img, the stage-1 initrd that formats the root disk, mounts the store and starts the guest.`,
    {
      ...(c.fromImage
        ? {
            dependsOn: [c.t('config'), c.t('image')],
            // The kernel, its modules and the tools come out of the image.
            inputs: [{ dependentTasksOutputFiles: '**/image/*' }, ...fileSourceInputs(c.m)],
          }
        : { dependsOn: [c.t('config')], inputs: fileSourceInputs(c.m) }),
      // Its /etc/hosts names the other machines on its vlans: their names
      // and positions are in the key through this option.
      ...(c.hosts.length
        ? { options: { ...c.positioned, hosts: c.hosts.map((h) => `${h.address} ${h.name}`) } }
        : {}),
    },
  );

export const buildTarget = (c: MachineTargetContext) =>
  cachedStep(
    c,
    'build',
    'bin',
    `Write ${c.dist}/bin/run-${c.name}-vm and exec-${c.name}-vm, the standalone scripts that boot this machine.`,
    { dependsOn: [c.t('config')] },
  );

export const imageTarget = (c: MachineTargetContext) =>
  cachedStep(
    c,
    'image',
    'image',
    `Build ${c.dist}/image/store.erofs from Debian packages (mmdebstrap): the guest's /usr with the rest of its tree as installed (no machine's secrets), and beside it the kernel and a manifest of the packages.`,
    { options: c.built },
  );

// Runs each installed target first; hashes their outputs (the files it
// packs), so a change to them reruns this step and what depends on it.
export const installTarget = (c: MachineTargetContext) =>
  cachedStep(
    c,
    'install',
    'install',
    `Pack the workspace files this machine installs (${c.m.install.map((e) => `${e.target} at ${e.to}`).join(', ')}) into read-only erofs images in ${c.dist}/install.`,
    {
      dependsOn: c.m.install.map((e) => {
        const [project, target] = e.target.split(':');
        return { projects: [project], target };
      }),
      inputs: [{ dependentTasksOutputFiles: '**/*' }],
      options: c.built,
    },
  );

// Any change to the machine, its scripts, initrd, kernel or QEMU makes a
// state that no longer restores (the run script checks it too, by key). The
// states are two targets, as exec and the test API restore one each: exec
// waits for its own only, and a ready state (the test API's, which holds
// what the guest read of its image and install images) does not make exec
// wait for a boot to ready when an installed project changes.
const warmStep = (c: MachineTargetContext, forWhom: 'exec' | 'test'): TargetConfiguration => {
  const ready = forWhom === 'test' && c.m.warmStart === 'ready';
  // The images must be there for the save; their bytes are in it unless swapped after a restore.
  const readyInstalls = ready && c.m.install.length > 0;
  const installsInState = readyInstalls && !installsAfterRestore(c.m);
  const dir = `${c.dist}/${forWhom === 'exec' ? 'warm' : 'test-warm'}`;
  return {
    executor: 'nx-qemu-vm:warm',
    cache: true,
    dependsOn: [c.t('build'), c.t('initrd'), ...(readyInstalls ? [c.t('install')] : [])],
    inputs: [
      machineFieldsInput(c.name, 'all'),
      ...c.source,
      ...warmHostInputs(c.m, c.m.qemu.binary ?? ARCH_PROFILES[c.m.arch].binary),
      { dependentTasksOutputFiles: '**/bin/*' },
      { dependentTasksOutputFiles: '**/initrd/initrd.img' },
      ...(c.fromImage ? [{ dependentTasksOutputFiles: '**/image/*', transitive: true }] : []),
      ...(installsInState ? [{ dependentTasksOutputFiles: '**/install/*' }] : []),
    ],
    outputs: [`{workspaceRoot}/${dir}`],
    options: { ...c.positioned, for: forWhom },
    metadata: meta(
      forWhom === 'exec'
        ? `Boot ${c.name} to the end of its driver loading as exec starts it, and save QEMU's state to ${dir}; exec restores it instead of booting (warmStart).`
        : ready
          ? `Boot ${c.name} as the test API starts it until it is ready, and save QEMU's state with the disks it wrote to ${dir}; startMachines restores it instead of booting (warmStart "ready").`
          : `Boot ${c.name} to the end of its driver loading as the test API starts it, and save QEMU's state to ${dir}; startMachines restores it instead of booting (warmStart).`,
    ),
  };
};

/** exec's warm state (warmStart). */
export const warmTarget = (c: MachineTargetContext) => warmStep(c, 'exec');
/** The test API's: at the end of stage 1, or ready (warmStart "ready"). */
export const testWarmTarget = (c: MachineTargetContext) => warmStep(c, 'test');

export const bootDiskTarget = (c: MachineTargetContext) =>
  cachedStep(
    c,
    'boot-disk',
    'boot-disk',
    `Build ${c.dist}/boot-disk/disk.img: a GPT disk with GRUB for ${c.m.arch === 'aarch64-linux' ? 'UEFI (arm64, from the image)' : 'BIOS and UEFI'}, the kernel and the initrd${c.m.useEFIBoot ? ', and its EFI variables' : ''}.`,
    {
      dependsOn: [c.t('initrd')],
      inputs: [
        { dependentTasksOutputFiles: '**/initrd.img' },
        ...(c.fromImage
          ? [
              {
                // The kernel; an aarch64 disk also takes GRUB out of the store.
                dependentTasksOutputFiles:
                  c.m.arch === 'aarch64-linux' ? '**/image/*' : '**/image/vmlinuz',
                transitive: true,
              },
            ]
          : []),
      ],
      options: c.built,
    },
  );

export const rootDiskTarget = (c: MachineTargetContext) =>
  stateful(
    c,
    'root-disk',
    `Create the persistent root disk when it is missing. Never overwritten, never cached; refused while the machine runs.`,
  );

export const emptyDisksTarget = (c: MachineTargetContext) =>
  stateful(
    c,
    'empty-disks',
    `Create the empty data disks (emptyDiskImages) when missing. Never overwritten, never cached.`,
  );

export const efiVarsTarget = (c: MachineTargetContext): TargetConfiguration => ({
  ...stateful(
    c,
    'efi-vars',
    `Create the writable EFI variable store when it is missing. Never overwritten, never cached.`,
  ),
  dependsOn: c.m.useBootLoader ? [c.t('boot-disk')] : [c.t('config')],
});
