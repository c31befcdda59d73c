// Outputs appear whole or not at all: a crash or an error never leaves a
// half-written file under a name that Nx would cache or a user would run.
import {
  chmodSync,
  linkSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = temporaryName(path);
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

/** The name a file or directory is written under before it is published: `<name>.tmp-<pid>`. */
export const temporaryName = (path: string) => `${path}.tmp-${process.pid}`;

/** Whether a process exists (a pid of ours, or one we may not signal). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what an interrupted run left beside `path`: `<name>.tmp-<pid>` and
 * `<name>.old-<pid>` whose process is gone. A live process's are its own.
 */
export function removeStaleTemporaries(path: string): void {
  const dir = dirname(path);
  const name = basename(path);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(`${name}.`)) continue;
    const match = /^\.(tmp|old)-(\d+)$/.exec(entry.slice(name.length));
    if (match && !processAlive(Number(match[2])))
      rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

/**
 * Builds an output directory whole, or not at all. `build` writes into a
 * scratch directory beside the output (`.<name>.tmp-<pid>`, outside what Nx
 * caches), which then takes the output's place. An interrupted build leaves
 * only its scratch, which the next build removes. When two builds of the same
 * output race, each output is complete; the last to finish stays.
 */
export async function publishDirectory(
  outDir: string,
  build: (scratch: string) => Promise<void> | void,
): Promise<void> {
  const hidden = join(dirname(outDir), `.${basename(outDir)}`);
  mkdirSync(dirname(outDir), { recursive: true });
  removeStaleTemporaries(hidden);
  const scratch = temporaryName(hidden);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch);
  try {
    await build(scratch);
    const old = `${hidden}.old-${process.pid}`;
    try {
      renameSync(outDir, old);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    try {
      renameSync(scratch, outDir);
    } catch (err) {
      // A concurrent build of the same inputs published first; its output stands.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
