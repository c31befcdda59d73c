// The project of a machine whose config has a problem: the targets it would
// have, each failing at once with the problems (executor config-error), so
// `nx run vm:exec` names the bad value instead of "target not found", and a
// test that depends on vm:prepare fails with it too.
import type { ProjectConfiguration, TargetConfiguration } from '@nx/devkit';
import type { ConfigError } from '../config/errors';
import { CONFIG_FILE } from '../config/load';
import type { ConfigErrorExecutorSchema } from '../executors/config-error/schema';
import type { TargetNaming } from './machine-targets';

/** Every machine has these (machine-targets.ts). */
const ALWAYS = [
  'config',
  'initrd',
  'build',
  'root-disk',
  'empty-disks',
  'prepare',
  'start',
  'serve',
  'exec',
];

/**
 * The targets a valid machine of these options would have. A broken machine
 * has no defaults filled in, so this reads the raw values: a value of the wrong
 * type just leaves its target out.
 */
export function brokenTargetNames(raw: unknown): string[] {
  const m = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const system = m.system as { from?: unknown } | undefined;
  return [
    ...ALWAYS,
    ...(system?.from === 'debian' ? ['image'] : []),
    ...(Array.isArray(m.install) && m.install.length > 0 ? ['install'] : []),
    ...(m.useBootLoader === true ? ['boot-disk'] : []),
    ...(m.useEFIBoot === true ? ['efi-vars'] : []),
    ...(m.warmStart === true || m.warmStart === 'ready' ? ['warm', 'test-warm'] : []),
  ];
}

export function brokenMachineProject(
  name: string,
  raw: unknown,
  error: ConfigError,
  naming: TargetNaming,
): Omit<ProjectConfiguration, 'root'> {
  const options: ConfigErrorExecutorSchema = { machine: name, message: error.message };
  // A fresh object per target: Nx fills in defaults on the ones it is given.
  const target = (): TargetConfiguration => ({
    executor: 'nx-qemu-vm:config-error',
    // Nothing to keep: the task only reports. But the file is its input, so
    // that `nx affected` selects the machine (and the tests that depend on it)
    // when an edit breaks it, and CI fails rather than skips.
    cache: false,
    inputs: [{ fileset: `{workspaceRoot}/${CONFIG_FILE}` }],
    options: { ...options },
    metadata: {
      description: `Fails: ${error.file} has a problem that stops machine "${name}" (run it to see which).`,
      technologies: ['qemu'],
    },
  });
  const targets = Object.fromEntries(
    brokenTargetNames(raw).map((t) => [`${naming.prefix}${t}`, target()]),
  );
  return {
    name,
    projectType: 'application',
    tags: ['qemu-vm'],
    targets,
    metadata: {
      description: `QEMU virtual machine "${name}", not runnable: its config has problems`,
    },
  };
}
