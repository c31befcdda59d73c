// What every machine executor does around its own work: find the workspace,
// load the config file and resolve the one machine it works on (a config
// error stops it before anything is written), and print a failure for a
// person rather than a stack. Each executors/*/impl.ts is the body only.
import { isAbsolute, join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { loadResolved } from '../config/load';
import type { ResolvedMachine } from '../config/resolve';
import { type ExecutorResult, machineScripts, reportingFailure } from './machine-scripts';
import { warnIfRemoteCacheRefusesToken } from '../host/remote-cache-check';

export type { ExecutorResult } from './machine-scripts';

/** The options the plugin gives every machine target (plugin/machine-steps.ts), beside each executor's own. */
export interface MachineTargetOptions {
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

export function machineContext(
  options: MachineTargetOptions,
  context: ExecutorContext,
): MachineContext {
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
  const { dist, runScript, execScript } = machineScripts(context.root, name);
  return { workspaceRoot: context.root, machine, dist, runScript, execScript };
}

/**
 * The Nx executor that runs `run` on the resolved machine; any error is
 * printed and fails the task. A step whose output goes to the remote cache
 * first warns when the server refuses our token (`warnOnRefusedToken`): what
 * it builds would then stay here. Each executor says which it is.
 */
export function machineExecutor<Options extends MachineTargetOptions>(
  run: (
    options: Options,
    m: MachineContext,
    context: ExecutorContext,
  ) => ExecutorResult | Promise<ExecutorResult>,
  { warnOnRefusedToken }: { warnOnRefusedToken: boolean },
): (options: Options, context: ExecutorContext) => Promise<ExecutorResult> {
  return (options, context) =>
    reportingFailure(async () => {
      if (warnOnRefusedToken) await warnIfRemoteCacheRefusesToken();
      return run(options, machineContext(options, context), context);
    });
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
