// What every executor needs first: the workspace, the config file and the one
// resolved machine it works on. Resolution fails before anything is written.
import { mkdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { distDir } from '../config/defaults';
import { loadResolved } from '../config/load';
import type { ResolvedMachine } from '../config/resolve';

export interface MachineOptions {
  machine?: string;
  configFile?: string;
  /** Set by the plugin where the output depends on the machine's position in the file. */
  position?: number;
  /** Set by the plugin on cached steps, for Nx's hash only (see plugin/plugin-digest.ts). */
  pluginDigest?: string;
}

export interface MachineContext {
  workspaceRoot: string;
  machine: ResolvedMachine;
  /** Absolute path of dist/vm/<name>. */
  dist: string;
  runScript: string;
  execScript: string;
}

export function machineContext(options: MachineOptions, context: ExecutorContext): MachineContext {
  // Nx starts executors where `nx` was typed; relative paths in the config (and
  // in VM_DISK_IMAGE and friends) are relative to the workspace root, as in the
  // runtime inputs that hash them.
  process.chdir(context.root);
  const name = options.machine ?? context.projectName ?? '';
  const configPath = join(context.root, options.configFile ?? 'workspace-vm.json');
  const all = loadResolved(configPath);
  const machine = all[name];
  if (!machine)
    throw new Error(
      `machine "${name}" is not in ${configPath}; machines: ${Object.keys(all).join(', ')}`,
    );
  if (options.position !== undefined && options.position !== machine.index)
    throw new Error(
      `machine "${name}" is number ${machine.index} in ${configPath}, but the task was planned for number ${options.position}; the project graph is stale: run npx nx reset`,
    );
  const dist = join(context.root, distDir(name));
  return {
    workspaceRoot: context.root,
    machine,
    dist,
    runScript: join(dist, 'bin', `run-${name}-vm`),
    execScript: join(dist, 'bin', `exec-${name}-vm`),
  };
}

/**
 * The file a stateful target works on: the run script lets these environment
 * variables override the configured path, so the target must look at the same
 * file. Relative paths are relative to the workspace root.
 */
export function overridablePath(
  workspaceRoot: string,
  envNames: readonly string[],
  configured: string,
): { shown: string; path: string } {
  const shown = envNames.map((n) => process.env[n]).find((v) => v) ?? configured;
  return { shown, path: isAbsolute(shown) ? shown : join(workspaceRoot, shown) };
}

/** A new console log file under the machine's state directory, named by the time it starts. */
export function newConsoleLog(workspaceRoot: string, stateDir: string, kind: string): string {
  const logs = join(workspaceRoot, stateDir, 'logs');
  mkdirSync(logs, { recursive: true });
  return join(logs, `${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
}
