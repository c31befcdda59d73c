// The plugin runs on every Nx command, and Nx may call createNodes several
// times in one process (the daemon does on each file change): a warning that
// printed each time would bury the output. Each distinct text prints once per
// process, so a different problem after an edit still shows.
import { logger } from '@nx/devkit';

type EmitLog = (level: 'warn', message: string) => void;

/**
 * Nx 24 runs plugins in worker processes whose stderr it does not wait for: a
 * console.warn from createNodes is lost when the command is quick (`nx show
 * projects` lost it about one time in three here), and under the daemon it
 * goes to the daemon's log. Nx's own channel for a worker's log lines sends
 * them to the terminal that ran the command, and prints directly outside a
 * worker. It is not in @nx/devkit's public API, so without it we fall back.
 */
function nxPluginLog(): EmitLog | undefined {
  try {
    // A require, not an import: a later Nx without the module must not stop the plugin loading.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const internals = require('nx/src/devkit-internals') as { emitPluginWorkerLog?: unknown };
    const emit = internals.emitPluginWorkerLog;
    return typeof emit === 'function' ? (emit as EmitLog) : undefined;
  } catch {
    return undefined;
  }
}

function warn(text: string): void {
  const emit = nxPluginLog();
  if (emit) emit('warn', text);
  else logger.warn(text);
}

const printed = new Set<string>();

export function warnOnce(message: string, print: (text: string) => void = warn): void {
  if (printed.has(message)) return;
  printed.add(message);
  print(message);
}
