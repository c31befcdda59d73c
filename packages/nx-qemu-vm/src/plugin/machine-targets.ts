// One machine's project: the graph Nx runs, assembled from one builder per
// target (the build and state steps in plugin/machine-steps.ts, the run
// targets here). prepare builds all of it; start, serve and exec only the
// cached steps, for the run script makes what is missing.
import { relative } from 'node:path';
import type { ProjectConfiguration, TargetConfiguration } from '@nx/devkit';
import type { ValidMachine } from '../config/valid-machine';
import type { HostEntry } from '../config/network';
import { PLUGIN_ROOT } from './plugin-digest';
import {
  type MachineTargetContext,
  type TargetNaming,
  bootDiskTarget,
  buildTarget,
  configTarget,
  efiVarsTarget,
  emptyDisksTarget,
  imageTarget,
  initrdTarget,
  installTarget,
  machineTargetContext,
  meta,
  rootDiskTarget,
  testWarmTarget,
  warmTarget,
} from './machine-steps';

export type { TargetNaming } from './machine-steps';

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

// What a test of this machine depends on: `dependsOn` it builds everything a
// boot needs, and `dependentTasksOutputFiles` inputs see every change to the
// machine (nx affected included). nx-qemu-vm/testing runs it too.
const prepareTarget = (c: MachineTargetContext, everything: string[]): TargetConfiguration => ({
  executor: 'nx:noop',
  cache: false,
  inputs: [],
  // The test API restores the warm state (warmStart) it builds.
  dependsOn: c.m.warmStart ? [...everything, c.t('test-warm')] : everything,
  metadata: meta(
    `Build everything a boot of ${c.name} needs (the cached steps and the disks), and nothing else. Tests that boot it depend on this target.`,
  ),
});

const startTarget = (c: MachineTargetContext, boot: string[]): TargetConfiguration => ({
  executor: 'nx-qemu-vm:start',
  cache: false,
  // Not `continuous`, and its preparation is an option rather than dependsOn:
  // Nx 24 relays a continuous task's output in broken lines, and stops passing
  // keystrokes to an interactive task once other tasks ran before it in the same
  // command (both seen in tmux). The executor runs `prepare` through a nested Nx.
  // Never cached; without explicit inputs Nx would hash the (file-less) project root.
  inputs: [],
  options: { ...c.options, prepare: boot },
  metadata: meta(
    `Start ${c.name} with its console in this terminal ('poweroff' in the guest or Ctrl-A X ends it), after building what it needs.`,
  ),
});

const serveTarget = (c: MachineTargetContext, boot: string[]): TargetConfiguration => ({
  executor: 'nx-qemu-vm:serve',
  cache: false,
  // A service for other tasks, which declare dependsOn { target: 'serve', waitFor: 'ready' }.
  continuous: true,
  readyWhen: { signal: true },
  inputs: [],
  dependsOn: boot,
  options: c.options,
  metadata: meta(
    `Run ${c.name} in the background while other tasks need it; ready once its network and postBootCommands are up. Console log in .vm/${c.name}/logs.`,
  ),
});

const execTarget = (c: MachineTargetContext, boot: string[]): TargetConfiguration => ({
  executor: 'nx-qemu-vm:exec',
  cache: false,
  inputs: [],
  // exec and the test API restore a warm state; serve and start boot cold.
  dependsOn: c.m.warmStart ? [...boot, c.t('warm')] : boot,
  options: c.options,
  metadata: meta(
    `Boot ${c.name}, run --command='...' as root, print its output, power off, and fail when the command fails.`,
  ),
});

export function machineProject(
  name: string,
  position: number,
  m: ValidMachine,
  workspaceRoot: string,
  naming: TargetNaming,
  /** The machines this one shares a vlan with: their names go into its /etc/hosts. */
  hosts: readonly HostEntry[] = [],
): Omit<ProjectConfiguration, 'root'> {
  const c = machineTargetContext(
    name,
    position,
    m,
    naming,
    pluginSourceInputs(workspaceRoot),
    hosts,
  );
  const { t, fromImage } = c;
  const has = {
    image: fromImage,
    install: m.install.length > 0,
    warm: m.warmStart,
    bootDisk: m.useBootLoader,
    efiVars: m.useEFIBoot,
    // Each task costs a process (about half a second); empty-disks has nothing to do without empty disks.
    emptyDisks: m.emptyDiskImages.length > 0,
  };
  const cached = [
    t('config'),
    ...(has.image ? [t('image')] : []),
    t('initrd'),
    t('build'),
    ...(has.install ? [t('install')] : []),
    ...(has.warm ? [t('warm'), t('test-warm')] : []),
    ...(has.bootDisk ? [t('boot-disk')] : []),
  ];
  const state = [t('root-disk'), t('empty-disks'), ...(has.efiVars ? [t('efi-vars')] : [])];
  const everything = [
    t('build'),
    ...(has.image ? [t('image')] : []),
    ...(has.install ? [t('install')] : []),
    t('initrd'),
    ...(has.bootDisk ? [t('boot-disk')] : []),
    ...state.filter((target) => target !== t('empty-disks') || has.emptyDisks),
  ];
  // What start, serve and exec wait for: the cached steps, no never-cached task
  // (each costs Nx a process on every run). The run script creates a missing
  // root disk, data disk or vars file itself, checks an existing root disk,
  // and refuses a disk in use, as the stateful targets do.
  const boot = everything.filter((target) => !state.includes(target));
  const targets: Record<string, TargetConfiguration> = {
    [t('config')]: configTarget(c),
    [t('initrd')]: initrdTarget(c),
    [t('build')]: buildTarget(c),
    [t('root-disk')]: rootDiskTarget(c),
    [t('empty-disks')]: emptyDisksTarget(c),
    ...(has.image ? { [t('image')]: imageTarget(c) } : {}),
    ...(has.install ? { [t('install')]: installTarget(c) } : {}),
    ...(has.warm ? { [t('warm')]: warmTarget(c), [t('test-warm')]: testWarmTarget(c) } : {}),
    ...(has.bootDisk ? { [t('boot-disk')]: bootDiskTarget(c) } : {}),
    ...(has.efiVars ? { [t('efi-vars')]: efiVarsTarget(c) } : {}),
    [t('prepare')]: prepareTarget(c, everything),
    [t('start')]: startTarget(c, boot),
    [t('serve')]: serveTarget(c, boot),
    [t('exec')]: execTarget(c, boot),
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
