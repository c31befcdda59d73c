// Outputs appear whole or not at all: a crash or an error never leaves a
// half-written file under a name that Nx would cache or a user would run.
import { chmodSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data, { mode });
    chmodSync(tmp, mode); // the umask must not change what we ship
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Publishes a finished temporary file under `target` with a hard link, which
 * never replaces a file, even one a concurrent run made a moment ago. Returns
 * false when `target` already existed. The temporary file is always removed.
 */
export function publishNew(tmp: string, target: string): boolean {
  try {
    linkSync(tmp, target);
    return true;
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}
