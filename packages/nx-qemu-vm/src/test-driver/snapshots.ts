// Snapshots inside a test: the machines' memory, devices and disks saved
// where they run and brought back later, so that an expensive setup (an
// install, a migrated database) is done once and each test starts from it.
//
// Each machine's state goes into its own throwaway disk overlay as one of
// QEMU's internal snapshots (savevm/loadvm): the overlay lives in the run's
// scratch directory, so the snapshots go with the machines. The machines of
// one snapshot stop together before any is saved and go on together after
// the last, and a restore loads them all before any runs again, so that
// machines on a vlan see each other at the same moment of their history.
import { randomBytes } from 'node:crypto';
import type { QmpClient } from '../qemu/qmp';
import type { GuestArch } from '../config/defaults';
import { MachineError } from './errors';
import { humanMonitorCommand } from './screen';
import {
  EINVAL,
  type ShareMount,
  clockAndSeedCalls,
  inUseCommand,
  mountCalls,
  unmountCalls,
} from './snapshot-commands';
import type { SystemCall } from './agent-protocol';
import type { ExecuteResult } from './types';

/** One machine's saved state. */
export interface MachineSnapshot {
  readonly machine: string;
  /** QEMU's name of the snapshot (`info snapshots`). */
  readonly name: string;
  readonly takenAt: Date;
  /**
   * Bytes of the saved memory and device state. The disk blocks the guest
   * wrote are kept in the overlay as they were, and cost nothing more until
   * the guest writes them again.
   */
  readonly bytes: number;
}

/** A snapshot of every machine of a set, taken together. */
export interface SetSnapshot {
  readonly machines: Readonly<Record<string, MachineSnapshot>>;
  readonly takenAt: Date;
  /** The machines' snapshots' bytes, summed. */
  readonly bytes: number;
}

/** What a snapshot needs of a running machine (Machine.snapshotAccess). */
export interface SnapshotAccess {
  name: string;
  consoleLog: string;
  arch: GuestArch;
  /** The run's scratch directory: a snapshot is only good in the run that took it. */
  run: string;
  qmp: QmpClient;
  shares: ShareMount[];
  /** Commands of the test still running. */
  running: number;
  exec(command: string, timeoutSeconds: number): Promise<ExecuteResult<string>>;
  /** System calls the agent makes itself; the errno of each. */
  systemCalls(calls: SystemCall[], timeoutSeconds: number): Promise<number[]>;
  /** Rejects the running commands: the guest is about to be set back. */
  interrupt(err: Error): void;
  /** Drops what the agent sent from the state left behind and asks for its hello; awaited after `cont`. */
  resync(): Promise<void>;
}

/** What only this module reads of a snapshot. */
interface Saved {
  run: string;
  shares: ShareMount[];
}
const saved = new WeakMap<MachineSnapshot, Saved>();
let counter = 0;

/** Seconds the guest's side of a snapshot (unmount, mount, clock) may take. */
const GUEST_STEP_SECONDS = 60;
const QMP_TIMEOUT_MS = 120_000;

async function monitor(a: SnapshotAccess, command: string): Promise<void> {
  // HMP says nothing when savevm and loadvm succeed, and why when they fail.
  const said = (await humanMonitorCommand(a.qmp, command)).trim();
  if (said) throw new MachineError(a.name, `${command}: ${said}`, a.consoleLog);
}

/** Resolves when every one of `works` has, and rejects with the first failure once all have ended. */
async function all<T>(works: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(works);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

async function stateBytes(a: SnapshotAccess, name: string): Promise<number> {
  const devices = (await a.qmp.execute('query-block', undefined, QMP_TIMEOUT_MS)) as {
    inserted?: { image?: { snapshots?: { name: string; 'vm-state-size': number }[] } };
  }[];
  return devices
    .flatMap((d) => d.inserted?.image?.snapshots ?? [])
    .filter((s) => s.name === name)
    .reduce((sum, s) => sum + s['vm-state-size'], 0);
}

/** One machine's shares unmounted; those it did unmount, in mount order. */
async function detachOne(a: SnapshotAccess, what = 'snapshot'): Promise<ShareMount[]> {
  const order = [...a.shares].reverse();
  const errnos = await a.systemCalls(unmountCalls(a.arch, a.shares), GUEST_STEP_SECONDS);
  const detached = order.filter((_, i) => errnos[i] === 0).reverse();
  const busy = order.filter((_, i) => errnos[i] !== 0 && errnos[i] !== EINVAL);
  if (!busy.length) return detached;
  const mountPoints = busy.map((s) => s.mountPoint);
  await attachOne(a, detached);
  const said = await a.exec(inUseCommand(mountPoints), GUEST_STEP_SECONDS);
  throw new MachineError(
    a.name,
    `${what}: QEMU cannot save a machine whose 9p shares are mounted, and ${mountPoints.join(', ')} could not be unmounted (${said.stderr.trim() || 'busy'}). Stop what uses it first (a working directory, an open file).`,
    a.consoleLog,
  );
}

async function attachOne(
  a: SnapshotAccess,
  shares: ShareMount[],
  extra: SystemCall[] = [],
): Promise<void> {
  const calls = [...extra, ...mountCalls(a.arch, shares)];
  const errnos = await a.systemCalls(calls, GUEST_STEP_SECONDS);
  const failed = errnos.findIndex((e) => e !== 0);
  if (failed === -1) return;
  const what =
    failed < extra.length
      ? ['setting the clock', 'reseeding the random generator'][failed]
      : `mounting ${shares[failed - extra.length].mountPoint}`;
  throw new MachineError(
    a.name,
    `after a snapshot: ${what} failed (errno ${errnos[failed]})`,
    a.consoleLog,
  );
}

/** The shares each machine unmounted; if one could not, the others are mounted again. */
async function detach(machines: SnapshotAccess[]): Promise<ShareMount[][]> {
  const results = await Promise.allSettled(machines.map((a) => detachOne(a)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failed) return results.map((r) => (r as PromiseFulfilledResult<ShareMount[]>).value);
  await Promise.allSettled(
    results.map((r, i) =>
      r.status === 'fulfilled' ? attachOne(machines[i], r.value) : Promise.resolve(),
    ),
  );
  throw failed.reason;
}

const attach = (machines: SnapshotAccess[], shares: ShareMount[][]) =>
  all(machines.map((a, i) => attachOne(a, shares[i])));

const stopAll = (machines: SnapshotAccess[]) =>
  all(machines.map((a) => a.qmp.execute('stop', undefined, QMP_TIMEOUT_MS)));
const goOnAll = (machines: SnapshotAccess[]) =>
  all(machines.map((a) => a.qmp.execute('cont', undefined, QMP_TIMEOUT_MS)));

/** Saves every machine, together; each machine's snapshot, in their order. */
export async function takeSnapshots(machines: SnapshotAccess[]): Promise<MachineSnapshot[]> {
  const busy = machines.find((a) => a.running > 0);
  if (busy)
    throw new MachineError(
      busy.name,
      `snapshot: ${busy.running} command(s) still run in it; a snapshot is taken between commands, so that none is cut in two`,
      busy.consoleLog,
    );
  const name = `nxvm-${++counter}`;
  const detached = await detach(machines);
  const takenAt = new Date();
  let bytes: number[] = [];
  await stopAll(machines);
  try {
    await all(machines.map((a) => monitor(a, `savevm ${name}`)));
    bytes = await all(machines.map((a) => stateBytes(a, name)));
  } finally {
    await goOnAll(machines);
    await attach(machines, detached);
  }
  return machines.map((a, i) => {
    const snapshot: MachineSnapshot = Object.freeze({
      machine: a.name,
      name,
      takenAt,
      bytes: bytes[i],
    });
    saved.set(snapshot, { run: a.run, shares: detached[i] });
    return snapshot;
  });
}

function savedOf(a: SnapshotAccess, snapshot: MachineSnapshot): Saved {
  const s = saved.get(snapshot);
  if (!s || snapshot.machine !== a.name)
    throw new MachineError(
      a.name,
      `restore: not a snapshot of this machine (${s ? `it is ${JSON.stringify(snapshot.machine)}'s` : 'not one snapshot() returned'})`,
      a.consoleLog,
    );
  if (s.run !== a.run)
    throw new MachineError(
      a.name,
      `restore: snapshot ${snapshot.name} was taken before the machine last stopped; a snapshot lives in the run that took it`,
      a.consoleLog,
    );
  return s;
}

/** Sets every machine back to its snapshot, together. */
export async function restoreSnapshots(
  pairs: { access: SnapshotAccess; snapshot: MachineSnapshot }[],
): Promise<void> {
  const machines = pairs.map((p) => p.access);
  const states = pairs.map((p) => savedOf(p.access, p.snapshot));
  for (const { access, snapshot } of pairs)
    access.interrupt(
      new MachineError(
        access.name,
        `the machine was set back to snapshot ${snapshot.name} while the command ran`,
        access.consoleLog,
      ),
    );
  // The state left behind is thrown away with its shares mounted: loading a
  // snapshot resets the devices first, and the 9p device's reset drops the
  // guest's fids, and with its root fid the block on saving it again.
  await stopAll(machines);
  // allSettled: the machines that stopped run again whatever QEMU said.
  const loads = await Promise.allSettled(
    pairs.map(({ access, snapshot }) => monitor(access, `loadvm ${snapshot.name}`)),
  );
  // A loaded machine's agent may have a frame cut off at the stop: dropped before it runs.
  const resynced = all(
    machines.filter((_, i) => loads[i].status === 'fulfilled').map((a) => a.resync()),
  );
  resynced.catch(() => undefined);
  await goOnAll(machines);
  // The clock as near as can be to the moment the guest runs again. A
  // machine whose snapshot QEMU could not find runs on as it was, shares and
  // all; one that failed half-way through the load is in no state to go on,
  // and the error below says why.
  await all<unknown>([
    resynced,
    ...machines.map((a, i) =>
      loads[i].status === 'fulfilled'
        ? attachOne(a, states[i].shares, clockAndSeedCalls(a.arch, Date.now(), randomBytes(32)))
        : Promise.resolve(),
    ),
  ]);
  const failed = loads.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Removes a snapshot from the machine's overlay, and the disk space it held. */
export async function deleteSnapshot(a: SnapshotAccess, snapshot: MachineSnapshot): Promise<void> {
  savedOf(a, snapshot);
  await monitor(a, `delvm ${snapshot.name}`);
  saved.delete(snapshot);
}

/** Before a ready state is saved (warmStart "ready"): the shares unmounted; a busy one refuses, naming its holders. */
export const detachForSave = (a: SnapshotAccess): Promise<ShareMount[]> =>
  detachOne(a, 'ready state');

/** After a ready state was restored: the clock set, the random generator reseeded, the shares mounted again. */
export const resumeReadyState = (a: SnapshotAccess): Promise<void> =>
  attachOne(a, a.shares, clockAndSeedCalls(a.arch, Date.now(), randomBytes(32)));
