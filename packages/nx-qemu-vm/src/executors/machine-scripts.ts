// Where a machine's built scripts are, from its name alone. An executor that
// only runs a script its dependencies built (exec) takes this way and skips
// loading and resolving the config: the config step that its build step
// depends on checked it in the same run, and the load (the schema's compile,
// Nx's devkit) would cost every exec a good part of a second.
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { distDir } from '../config/defaults';
import { reportFailure } from './report-failure';

export interface MachineScripts {
  name: string;
  /** Absolute path of dist/vm/<name>. */
  dist: string;
  runScript: string;
  execScript: string;
}

export function machineScripts(workspaceRoot: string, name: string): MachineScripts {
  const dist = join(workspaceRoot, distDir(name));
  return {
    name,
    dist,
    runScript: join(dist, 'bin', `run-${name}-vm`),
    execScript: join(dist, 'bin', `exec-${name}-vm`),
  };
}

export interface ExecutorResult {
  success: boolean;
}

/** Runs an executor's body and prints any error for a person, failing the task. */
export async function reportingFailure(
  body: () => ExecutorResult | Promise<ExecutorResult>,
): Promise<ExecutorResult> {
  try {
    return await body();
  } catch (err) {
    reportFailure(err);
    return { success: false };
  }
}

/**
 * The Nx executor that runs `run` with the machine's scripts, in the
 * workspace root (relative paths in the config and in VM_DISK_IMAGE and
 * friends are relative to it, as Nx starts executors where `nx` was typed).
 */
export function scriptExecutor<Options extends { machine?: string }>(
  run: (options: Options, s: MachineScripts) => ExecutorResult | Promise<ExecutorResult>,
): (options: Options, context: ExecutorContext) => Promise<ExecutorResult> {
  return (options, context) =>
    reportingFailure(() => {
      process.chdir(context.root);
      return run(
        options,
        machineScripts(context.root, options.machine ?? context.projectName ?? ''),
      );
    });
}
