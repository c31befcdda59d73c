// Where a booted machine's serial console goes: start, serve and the test API
// each keep one file per boot, so an old boot's log is never overwritten.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** A new console log file under the machine's state directory, named by the time it starts. */
export function newConsoleLog(workspaceRoot: string, stateDir: string, kind: string): string {
  const logs = join(workspaceRoot, stateDir, 'logs');
  mkdirSync(logs, { recursive: true });
  return join(logs, `${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
}
