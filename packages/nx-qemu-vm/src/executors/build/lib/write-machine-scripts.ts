import { chmodSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { MachineContext } from '../../machine-executor';
import { renderRunScript } from '../../../qemu/run-script';
import { renderExecScript } from '../../../qemu/exec-script';
import { publishDirectory } from '../../../host/atomic-write';

/**
 * Renders both scripts, then publishes bin/ with both or neither: a failure or
 * an interruption never leaves a new run script beside an old exec script.
 */
export async function writeMachineScripts(m: MachineContext): Promise<string[]> {
  const files = [
    [m.runScript, renderRunScript(m.machine)],
    [m.execScript, renderExecScript(m.machine)],
  ] as const;
  await publishDirectory(dirname(m.runScript), (scratch) => {
    for (const [path, text] of files) {
      const file = join(scratch, basename(path));
      writeFileSync(file, text);
      chmodSync(file, 0o755); // the umask must not change what we ship
    }
  });
  return files.map(([path]) => relative(m.workspaceRoot, path));
}
