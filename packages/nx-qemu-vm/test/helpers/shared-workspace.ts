// One workspace for several spec files of one `npm test` run, so that the
// machines they boot share their builds (one Debian image for all, built
// once). tools/run-tests.mjs gives the run a scratch directory
// (NXQV_RUN_SCRATCH) and removes it afterwards; the first file to get here
// makes the workspace in a temporary directory and renames it into place,
// which is atomic, so another file sees it whole or not at all. A file run
// alone (no scratch directory) makes its own and removes it when it ends.
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createTempWorkspace, type TempWorkspace } from './temp-workspace';

/** The scratch directory tools/run-tests.mjs makes for one run of the suites. */
export const RUN_SCRATCH_ENV = 'NXQV_RUN_SCRATCH';

/** How long a file waits for another to finish making the workspace. */
const MAKING_TIMEOUT_MS = 120_000;

export interface SharedWorkspace {
  root: string;
  /** Removes the workspace if this file made it for itself; a run's is the runner's. */
  release(): void;
}

/**
 * The workspace of `fixtureDir`: its `workspace-vm.json` as the workspace's,
 * and the directory itself copied to `<root>/<name>`, so that the machines'
 * `files` name their sources as `<name>/...`.
 */
export async function sharedWorkspace(name: string, fixtureDir: string): Promise<SharedWorkspace> {
  const make = () => {
    const config = JSON.parse(readFileSync(join(fixtureDir, 'workspace-vm.json'), 'utf8'));
    const ws: TempWorkspace = createTempWorkspace(config, `nxqv-${name}-`);
    cpSync(fixtureDir, join(ws.root, name), { recursive: true });
    return ws;
  };
  const scratch = process.env[RUN_SCRATCH_ENV];
  if (!scratch) {
    const ws = make();
    return { root: ws.root, release: () => ws.remove() };
  }
  const root = join(scratch, name);
  const claim = `${root}.making`;
  try {
    mkdirSync(claim);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another file makes it: wait for its rename.
    const since = statSync(claim).mtimeMs;
    while (!existsSync(root)) {
      if (Date.now() - since > MAKING_TIMEOUT_MS)
        throw new Error(`${root} was not made within ${MAKING_TIMEOUT_MS / 1000} s`);
      await delay(500);
    }
    return { root, release: () => {} };
  }
  renameSync(make().root, root);
  return { root, release: () => {} };
}
