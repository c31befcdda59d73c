// Creates a stateful disk (root or empty data disk) when it is missing, and
// otherwise only looks at it. An existing image is never written: a changed
// layout is reported, and a disk in use by a running VM is refused.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { runTool } from '../host/run-tool';
import {
  publishNew,
  removeStaleTemporaries,
  temporaryName,
  writeFileAtomic,
} from '../host/atomic-write';
import {
  type DiskLayout,
  layoutDrift,
  layoutStampPath,
  parseLayoutStamp,
  renderLayoutStamp,
} from './layout';
import { refuseIfInUse } from './in-use';
import {
  QCOW2_CHECK_DAMAGED,
  QCOW2_CHECK_USABLE,
  QCOW2_MAGIC,
  damagedMessage,
  notAFileMessage,
  notQcow2Message,
  unreadableMessage,
} from './disk-rules';

export interface StatefulDisk {
  /** Absolute path of the image. */
  image: string;
  /** How messages name it, e.g. "root disk .vm/vm/vm.qcow2". */
  label: string;
  machine: string;
  layout: DiskLayout;
}

export type DiskOutcome = { state: 'created' } | { state: 'kept'; drift: string[] };

export class DiskError extends Error {}

/** The virtual size in MiB that a qcow2 header records, or undefined when it is not a qcow2 header. Pure. */
export function qcow2VirtualSizeMiB(header: Buffer): number | undefined {
  if (header.length < 32 || header.toString('hex', 0, 4) !== QCOW2_MAGIC) return undefined;
  return Number(header.readBigUInt64BE(24)) / 1024 / 1024;
}

/**
 * Looks at an existing qcow2 image, and refuses one that cannot serve as a
 * disk: not a file, not a qcow2 image, or damaged. Reads it; never writes to
 * it. Returns its virtual size.
 */
export async function inspectDisk(image: string, label: string): Promise<number> {
  if (!statSync(image).isFile()) throw new DiskError(notAFileMessage(label, 'the option'));
  const header = Buffer.alloc(32);
  const fd = openSync(image, 'r');
  try {
    readSync(fd, header, 0, 32, 0);
  } finally {
    closeSync(fd);
  }
  const size = qcow2VirtualSizeMiB(header);
  if (size === undefined) throw new DiskError(notQcow2Message(label, image));
  const check = await runTool('qemu-img', ['check', '-f', 'qcow2', '--output=json', image], {
    debianPackage: 'qemu-utils',
    allowFailure: true,
  });
  if (QCOW2_CHECK_USABLE.includes(check.exitCode)) return size;
  if (check.exitCode === QCOW2_CHECK_DAMAGED) {
    const found = (JSON.parse(check.stdout) as { corruptions?: number }).corruptions ?? 0;
    throw new DiskError(
      damagedMessage(label, image, `${found} corruption${found === 1 ? '' : 's'}`),
    );
  }
  const reason = check.stderr.trim().split('\n')[0];
  if (/lock/i.test(reason))
    throw new DiskError(`${label} is in use: ${reason}. Stop the machine that has it open first.`);
  throw new DiskError(unreadableMessage(label, reason));
}

export async function ensureStatefulDisk(d: StatefulDisk): Promise<DiskOutcome> {
  refuseIfInUse(d.image, d.label, d.machine);
  if (existsSync(d.image)) {
    const stamp = layoutStampPath(d.image);
    const recorded = existsSync(stamp) ? parseLayoutStamp(readFileSync(stamp, 'utf8')) : undefined;
    const size = await inspectDisk(d.image, d.label);
    return { state: 'kept', drift: layoutDrift(d.layout, recorded, size) };
  }
  mkdirSync(dirname(d.image), { recursive: true });
  // An interrupted creation left its temporary file; the image itself was never published.
  removeStaleTemporaries(d.image);
  const tmp = temporaryName(d.image);
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
