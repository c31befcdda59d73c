// One machine's targets: the graph Nx runs, and what each step hashes. Data
// flows config -> initrd -> boot-disk, config -> build (scripts);
// the stateful disks sit beside them. prepare builds all of it; start, serve
// and exec only the cached steps, for the run script makes what is missing.
import { relative } from 'node:path';
import type { ProjectConfiguration, TargetConfiguration } from '@nx/devkit';
import { ARCH_PROFILES, distDir } from '../config/defaults';
import type { ValidMachine } from '../config/machine';
import {
  type CachedTarget,
  TARGET_FIELDS,
  hostInputs,
  machineFieldsInput,
  warmHostInputs,
  fileSourceInputs,
} from './target-inputs';
import { PLUGIN_ROOT, pluginDigest } from './plugin-digest';
import type { HostEntry } from '../config/network';

export interface TargetNaming {
  prefix: string;
}

/**
 * In the plugin's own repository, Nx also sees our sources as files (so its
 * daemon notices an edit); everywhere, the plugin digest in the options
 * covers the code that runs.
 */
export function pluginSourceInputs(
  workspaceRoot: string,
): NonNullable<TargetConfiguration['inputs']> {
  const rel = relative(workspaceRoot, PLUGIN_ROOT);
  if (rel.startsWith('..') || rel.includes('node_modules')) return [];
  return [
    { fileset: `{workspaceRoot}/${rel}/src/**/*` },
    `!{workspaceRoot}/${rel}/src/**/*.spec.ts`,
    { fileset: `{workspaceRoot}/${rel}/package.json` },
  ];
}

export function machineProject(
  name: string,
  position: number,
  m: ValidMachine,
  workspaceRoot: string,
  naming: TargetNaming,
  /** The machines this one shares a vlan with: their names go into its /etc/hosts. */
  hosts: readonly HostEntry[] = [],
): Omit<ProjectConfiguration, 'root'> {
  const t = (target: string) => `${naming.prefix}${target}`;
  const dist = distDir(name);
  const source = pluginSourceInputs(workspaceRoot);
  const fromImage = m.system.from === 'debian';
  // Vlan addresses and MACs follow the machine's position in the file: a reorder must rebuild.
  const options = { machine: name };
  // Nx hashes options, not executor code: the cached steps carry the plugin's digest.
  const built = { ...options, pluginDigest: pluginDigest() };
  const positioned = m.vlans.length ? { ...built, position } : built;
  const meta = (description: string) => ({ description, technologies: ['qemu'] });
  const stateful = (executor: string, description: string): TargetConfiguration => ({
    executor: `nx-qemu-vm:${executor}`,
    // Never cached and never an output: a cache restore must not touch a user's disk.
    cache: false,
    inputs: [],
    dependsOn: [t('config')],
    options,
    metadata: meta(description),
  });

  // Every cached step hashes the same three kinds of input: its fields, our code, and what it takes from the host.
  const cachedStep = (
    target: CachedTarget,
    outDir: string,
    description: string,
    extra: TargetConfiguration<Record<string, unknown>> = {},
  ): TargetConfiguration => ({
    executor: `nx-qemu-vm:${target}`,
    cache: true,
    ...extra,
    inputs: [
      machineFieldsInput(name, target === 'config' ? 'all' : TARGET_FIELDS[target]),
      ...source,
      ...hostInputs(target, m),
      ...(extra.inputs ?? []),
    ],
    outputs: [`{workspaceRoot}/${dist}/${outDir}`],
    options: extra.options ?? positioned,
    metadata: meta(description),
  });

  const targets: Record<string, TargetConfiguration> = {
    [t('config')]: cachedStep(
      'config',
      'config',
      `Validate machine "${name}" and write its resolved config to ${dist}/config/machine.json.`,
    ),
    [t('initrd')]: cachedStep(
      'initrd',
      'initrd',
      `Build ${dist}/initrd/initrd.img, the stage-1 initrd that formats the root disk, mounts the store and starts the guest.`,
      {
        ...(fromImage
          ? {
              dependsOn: [t('config'), t('image')],
              // The kernel, its modules and the tools come out of the image.
              inputs: [{ dependentTasksOutputFiles: '**/image/*' }, ...fileSourceInputs(m)],
            }
          : { dependsOn: [t('config')], inputs: fileSourceInputs(m) }),
        // Its /etc/hosts names the other machines on its vlans: their names
        // and positions are in the key through this option.
        ...(hosts.length
          ? { options: { ...positioned, hosts: hosts.map((h) => `${h.address} ${h.name}`) } }
          : {}),
      },
    ),
    [t('build')]: cachedStep(
      'build',
      'bin',
      `Write ${dist}/bin/run-${name}-vm and exec-${name}-vm, the standalone scripts that boot this machine.`,
      {
        dependsOn: [t('config')],
      },
    ),
    [t('root-disk')]: stateful(
      'root-disk',
      `Create the persistent root disk when it is missing. Never overwritten, never cached; refused while the machine runs.`,
    ),
    [t('empty-disks')]: stateful(
      'empty-disks',
      `Create the empty data disks (emptyDiskImages) when missing. Never overwritten, never cached.`,
    ),
  };
  const cached = [t('config'), t('initrd'), t('build')];
  if (fromImage) {
    targets[t('image')] = cachedStep(
      'image',
      'image',
      `Build ${dist}/image/store.erofs from Debian packages (mmdebstrap): the guest's /usr with the rest of its tree as installed (no machine's secrets), and beside it the kernel and a manifest of the packages.`,
      { options: built },
    );
    cached.splice(1, 0, t('image'));
  }
  if (m.install.length) {
    // Runs each installed target first; hashes their outputs (the files it
    // packs), so a change to them reruns this step and what depends on it.
    targets[t('install')] = cachedStep(
      'install',
      'install',
      `Pack the workspace files this machine installs (${m.install.map((e) => `${e.target} at ${e.to}`).join(', ')}) into read-only erofs images in ${dist}/install.`,
      {
        dependsOn: m.install.map((e) => {
          const [project, target] = e.target.split(':');
          return { projects: [project], target };
        }),
        inputs: [{ dependentTasksOutputFiles: '**/*' }],
        options: built,
      },
    );
    cached.push(t('install'));
  }
  if (m.warmStart) {
    // Any change to the machine, its scripts, initrd, kernel or QEMU makes a
    // state that no longer restores (the run script checks it too, by key).
    targets[t('warm')] = {
      executor: 'nx-qemu-vm:warm',
      cache: true,
      dependsOn: [t('build'), t('initrd')],
      inputs: [
        machineFieldsInput(name, 'all'),
        ...source,
        ...warmHostInputs(m, m.qemu.binary ?? ARCH_PROFILES[m.arch].binary),
        { dependentTasksOutputFiles: '**/bin/*' },
        { dependentTasksOutputFiles: '**/initrd/initrd.img' },
        ...(fromImage ? [{ dependentTasksOutputFiles: '**/image/*', transitive: true }] : []),
      ],
      outputs: [`{workspaceRoot}/${dist}/warm`],
      options: positioned,
      metadata: meta(
        `Boot ${name} to the end of its driver loading, as exec and as the test API start it, and save QEMU's states to ${dist}/warm; they restore them instead of booting (warmStart).`,
      ),
    };
    cached.push(t('warm'));
  }
  const state = [t('root-disk'), t('empty-disks')];
  if (m.useBootLoader) {
    targets[t('boot-disk')] = cachedStep(
      'boot-disk',
      'boot-disk',
      `Build ${dist}/boot-disk/disk.img: a GPT disk with GRUB for ${m.arch === 'aarch64-linux' ? 'UEFI (arm64, from the image)' : 'BIOS and UEFI'}, the kernel and the initrd${m.useEFIBoot ? ', and its EFI variables' : ''}.`,
      {
        dependsOn: [t('initrd')],
        inputs: [
          { dependentTasksOutputFiles: '**/initrd.img' },
          ...(fromImage
            ? [
                {
                  // The kernel; an aarch64 disk also takes GRUB out of the store.
                  dependentTasksOutputFiles:
                    m.arch === 'aarch64-linux' ? '**/image/*' : '**/image/vmlinuz',
                  transitive: true,
                },
              ]
            : []),
        ],
        options: built,
      },
    );
    cached.push(t('boot-disk'));
  }
  if (m.useEFIBoot) {
    targets[t('efi-vars')] = {
      ...stateful(
        'efi-vars',
        `Create the writable EFI variable store when it is missing. Never overwritten, never cached.`,
      ),
      dependsOn: m.useBootLoader ? [t('boot-disk')] : [t('config')],
    };
    state.push(t('efi-vars'));
  }
  // Each task costs a process (about half a second); empty-disks has nothing to do without empty disks.
  const needed = state.filter(
    (target) => target !== t('empty-disks') || m.emptyDiskImages.length > 0,
  );
  const everything = [
    t('build'),
    ...(fromImage ? [t('image')] : []),
    ...(m.install.length ? [t('install')] : []),
    t('initrd'),
    ...(m.useBootLoader ? [t('boot-disk')] : []),
    ...needed,
  ];
  // What start, serve and exec wait for: the cached steps, no never-cached task
  // (each costs Nx a process on every run). The run script creates a missing
  // root disk, data disk or vars file itself, checks an existing root disk,
  // and refuses a disk in use, as the stateful targets do.
  const boot = everything.filter((target) => !state.includes(target));
  // What a test of this machine depends on: `dependsOn` it builds everything a
  // boot needs, and `dependentTasksOutputFiles` inputs see every change to the
  // machine (nx affected included). nx-qemu-vm/testing runs it too.
  targets[t('prepare')] = {
    executor: 'nx:noop',
    cache: false,
    inputs: [],
    // The test API restores the warm state (warmStart) it builds.
    dependsOn: m.warmStart ? [...everything, t('warm')] : everything,
    metadata: meta(
      `Build everything a boot of ${name} needs (the cached steps and the disks), and nothing else. Tests that boot it depend on this target.`,
    ),
  };
  targets[t('start')] = {
    executor: 'nx-qemu-vm:start',
    cache: false,
    // Not `continuous`, and its preparation is an option rather than dependsOn:
    // Nx 24 relays a continuous task's output in broken lines, and stops passing
    // keystrokes to an interactive task once other tasks ran before it in the same
    // command (both seen in tmux). The executor runs `prepare` through a nested Nx.
    // Never cached; without explicit inputs Nx would hash the (file-less) project root.
    inputs: [],
    options: { ...options, prepare: boot },
    metadata: meta(
      `Start ${name} with its console in this terminal ('poweroff' in the guest or Ctrl-A X ends it), after building what it needs.`,
    ),
  };
  targets[t('serve')] = {
    executor: 'nx-qemu-vm:serve',
    cache: false,
    // A service for other tasks, which declare dependsOn { target: 'serve', waitFor: 'ready' }.
    continuous: true,
    readyWhen: { signal: true },
    inputs: [],
    dependsOn: boot,
    options,
    metadata: meta(
      `Run ${name} in the background while other tasks need it; ready once its network and postBootCommands are up. Console log in .vm/${name}/logs.`,
    ),
  };
  targets[t('exec')] = {
    executor: 'nx-qemu-vm:exec',
    cache: false,
    inputs: [],
    // exec and the test API restore a warm state; serve and start boot cold.
    dependsOn: m.warmStart ? [...boot, t('warm')] : boot,
    options,
    metadata: meta(
      `Boot ${name}, run --command='...' as root, print its output, power off, and fail when the command fails.`,
    ),
  };
  return {
    name,
    projectType: 'application',
    tags: ['qemu-vm'],
    targets,
    metadata: {
      description: `QEMU virtual machine "${name}"`,
      targetGroups: {
        'Build (cached)': cached,
        'State (never cached)': state,
        Run: [t('prepare'), t('start'), t('serve'), t('exec')],
      },
    },
  };
}
