// A ready state's install images, swapped after a restore (installsAfterRestore):
// the state records a digest of the images it was saved with; a restore whose
// images differ (an installed project changed since) mounts this run's in
// their place and restarts the declared services on them, instead of the
// warm target saving the state again.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { MachineError } from './errors';
import type { SnapshotAccess } from './snapshots';
import { swapInstallsCommand } from './snapshot-commands';

export interface InstallSwap {
  /** The ready state's digest file (READY_SUFFIXES.installs). */
  digestFile: string;
  /** The install images, absolute, in the order of the machine's install entries. */
  images: string[];
  mountPoints: string[];
  /** The declared services' units, in start order. */
  units: string[];
  /** Seconds the swap may take: the services' starts, each up to its readyTimeout, and a minute. */
  timeoutSeconds: number;
}

/** A digest of the images' bytes, in order; read as streams, so an image of any size will do. */
export async function installDigest(images: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const image of images) {
    const one = createHash('sha256');
    for await (const chunk of createReadStream(image)) one.update(chunk as Buffer);
    hash.update(one.digest());
  }
  return hash.digest('hex');
}

/** Swaps the images in when they are not those the state was saved with; says whether it did. */
export async function swapInstallsIfChanged(
  a: SnapshotAccess,
  swap: InstallSwap,
): Promise<boolean> {
  const saved = existsSync(swap.digestFile) ? readFileSync(swap.digestFile, 'utf8').trim() : '';
  if (saved === (await installDigest(swap.images))) return false;
  const res = await a.exec(swapInstallsCommand(swap.mountPoints, swap.units), swap.timeoutSeconds);
  if (res.status !== 0)
    throw new MachineError(
      a.name,
      `after its ready state was restored, this run's install images could not take the place of those it was saved with (status ${res.status}):\n${res.stderr.trim() || res.stdout.trim()}`,
      a.consoleLog,
    );
  return true;
}
