import { relative } from 'node:path';
import type { MachineContext } from '../../../util/machine';
import { renderRunScript } from '../../../qemu/run-script';
import { renderExecScript } from '../../../qemu/exec-script';
import { writeFileAtomic } from '../../../util/atomic-write';

/** Renders both scripts before writing either, so a failure writes nothing. */
export function writeMachineScripts(m: MachineContext): string[] {
  const files = [
    [m.runScript, renderRunScript(m.machine)],
    [m.execScript, renderExecScript(m.machine)],
  ] as const;
  for (const [path, text] of files) writeFileAtomic(path, text, 0o755);
  return files.map(([path]) => relative(m.workspaceRoot, path));
}
