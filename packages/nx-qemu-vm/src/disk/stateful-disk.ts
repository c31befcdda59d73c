// Creates a stateful disk (root or empty data disk) when it is missing, and
// otherwise only looks at it. An existing image is never written: a changed
// layout is reported, and a disk in use by a running VM is refused.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { runTool } from '../host/run-tool';
import { publishNew, writeFileAtomic } from '../util/atomic-write';
import {
  type DiskLayout,
  layoutDrift,
  layoutStampPath,
  parseLayoutStamp,
  renderLayoutStamp,
} from './layout';
import { refuseIfInUse } from './in-use';

export interface StatefulDisk {
  /** Absolute path of the image. */
  image: string;
  /** How messages name it, e.g. "root disk .vm/vm/vm.qcow2". */
  label: string;
  machine: string;
  layout: DiskLayout;
}

export type DiskOutcome = { state: 'created' } | { state: 'kept'; drift: string[] };

async function virtualSizeMiB(image: string): Promise<number | undefined> {
  // -U reads the header without taking QEMU's lock; the in-use check has already run.
  const res = await runTool('qemu-img', ['info', '-U', '--output=json', image], {
    debianPackage: 'qemu-utils',
    allowFailure: true,
  });
  if (res.exitCode !== 0) return undefined;
  const size = (JSON.parse(res.stdout) as { 'virtual-size'?: number })['virtual-size'];
  return size === undefined ? undefined : size / 1024 / 1024;
}

export async function ensureStatefulDisk(d: StatefulDisk): Promise<DiskOutcome> {
  await refuseIfInUse(d.image, d.label, d.machine);
  if (existsSync(d.image)) {
    const stamp = layoutStampPath(d.image);
    const recorded = existsSync(stamp) ? parseLayoutStamp(readFileSync(stamp, 'utf8')) : undefined;
    return { state: 'kept', drift: layoutDrift(d.layout, recorded, await virtualSizeMiB(d.image)) };
  }
  mkdirSync(dirname(d.image), { recursive: true });
  const tmp = `${d.image}.tmp-${process.pid}`;
  try {
    await runTool('qemu-img', ['create', '-q', '-f', 'qcow2', tmp, `${d.layout.sizeMiB}M`], {
      debianPackage: 'qemu-utils',
    });
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  // Lost a race with a concurrent run: its disk and stamp stand.
  if (!publishNew(tmp, d.image)) return { state: 'kept', drift: [] };
  writeFileAtomic(layoutStampPath(d.image), `${renderLayoutStamp(d.layout)}\n`);
  return { state: 'created' };
}

/** The warning for a disk whose layout no longer matches the config. */
export function driftWarning(d: StatefulDisk, drift: readonly string[]): string {
  return [
    `warning: ${d.label} predates a change to its layout; it is left as it is:`,
    ...drift.map((line) => `  - ${line}`),
    `  To start afresh, stop the machine and move the image away (its data goes with it); the next start creates a new one.`,
  ].join('\n');
}
