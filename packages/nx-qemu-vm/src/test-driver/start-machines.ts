// startMachines: the machines of workspace-vm.json, built through Nx (their
// `prepare` targets, cache included) and booted in parallel, each on
// throwaway overlays of its disks unless the test asks for persistent ones.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomInt } from 'node:crypto';
import { distDir } from '../config/defaults';
import { loadResolved } from '../config/load';
import type { ResolvedMachine } from '../config/resolve';
import { nestedEnv, nxBin, prepareCommand } from '../host/nested-nx';
import { newConsoleLog } from '../host/console-log';
import { StartError, tail } from './errors';
import { keepAlive } from './keep-alive';
import { Machine } from './machine';
import { accelSummary } from '../qemu/accel-line';
import { READY_SUFFIXES, WARM_FILES } from '../qemu/warm-files';
import type { InstallSwap } from './ready-installs';
import type { WarmRun } from './launch';
import type { Shell } from './agent-protocol';
import { type Transcript, closeTranscript, openTranscript } from './transcript';
import { STORE_TAG } from '../config/shares';
import type { ShareMount } from './snapshot-commands';
import {
  type MachineSnapshot,
  type SetSnapshot,
  deleteSnapshot,
  restoreSnapshots,
  takeSnapshots,
} from './snapshots';

export interface StartOptions {
  /** The directory of workspace-vm.json; default: found from process.cwd() upwards. */
  workspaceRoot?: string;
  /** Boot on the machines' own disks, which keep what the test writes. Default false: throwaway overlays. */
  persistent?: boolean;
  /** Build what the machines need through Nx first (their `prepare` targets). Default true. */
  build?: boolean;
  /** Seconds each machine may take to boot until its agent answers. Default 600. */
  timeout?: number;
  /**
   * false: build, but boot none; each machine's start() boots it, in the
   * order the test needs. Default true: all boot in parallel.
   */
  start?: boolean;
  /** Progress: Nx's output, the boots and subtests. Default: silent, with Nx's output in errors; subtests on stderr. */
  log?: (text: string) => void;
  /** The shell of the machines' commands unless a call names one: 'sh' (default) or 'bash' (with `set -euo pipefail`). */
  shell?: Shell;
}

export interface MachineSet<Name extends string> extends AsyncDisposable {
  machines: Record<Name, Machine>;
  /** Stops every machine: throwaway ones at once, persistent ones with a clean power-off. */
  shutdown(): Promise<void>;
  /** Keeps every running machine's console log, screenshot and the transcript under dist/vm/<m>/test-artifacts. */
  captureArtifacts(label?: string): Promise<string[]>;
  /** Every command and wait of these machines, with its duration and outcome, under the subtests that ran it. */
  transcript: Transcript;
  /**
   * Saves every machine of the set together (memory, devices and disks, in
   * the run's scratch directory), stopped at one moment, so that they come
   * back at one moment of their common history (a vlan frame in flight then
   * is lost, as on a network). Several may exist; they go with the set.
   */
  snapshot(): Promise<SetSnapshot>;
  /** Sets every machine of the snapshot back to it, together; commands running in them are rejected. */
  restore(snapshot: SetSnapshot): Promise<void>;
  /** Frees what a snapshot holds in the machines' overlays. */
  deleteSnapshot(snapshot: SetSnapshot): Promise<void>;
}

export function findWorkspaceRoot(from: string): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'workspace-vm.json'))) return dir;
    if (dirname(dir) === dir)
      throw new StartError(
        `no workspace-vm.json in ${from} or above it; run the test from the workspace, or pass options.workspaceRoot`,
      );
  }
}

function prepare(root: string, names: string[], log?: (text: string) => void): Promise<void> {
  const argv = prepareCommand(nxBin(root), names, ['prepare']);
  return new Promise((resolveDone, reject) => {
    const child = spawn('setpriv', ['--pdeathsig', 'TERM', '--', process.execPath, ...argv], {
      cwd: root,
      env: nestedEnv(process.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const take = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-200_000);
      log?.(chunk.toString());
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', (err) => reject(new StartError(`cannot run Nx: ${err.message}`)));
    child.once('close', (code) =>
      code === 0
        ? resolveDone()
        : reject(
            new StartError(
              `building ${names.join(', ')} failed (nx run-many -t prepare, status ${code}):\n${tail(output, 40)}`,
            ),
          ),
    );
  });
}

/** The vlans of one set of machines travel on a multicast group of their own (see run-script.ts). */
const setVlanNet = () => `231.${randomInt(256)}.${randomInt(256)}`;

export async function startMachines<const Name extends string>(
  names: readonly Name[],
  options: StartOptions = {},
): Promise<MachineSet<Name>> {
  if (!names.length) throw new StartError('startMachines: name at least one machine');
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new StartError(`startMachines: "${duplicate}" is named twice`);
  const root = options.workspaceRoot
    ? resolve(options.workspaceRoot)
    : findWorkspaceRoot(process.cwd());
  const configFile = join(root, 'workspace-vm.json');
  const all = loadResolved(configFile);
  const unknown = names.filter((n) => !(n in all));
  if (unknown.length)
    throw new StartError(
      `no machine ${unknown.map((n) => `"${n}"`).join(', ')} in ${configFile}; its machines: ${Object.keys(all).join(', ') || '(none)'}`,
    );
  const transcript = openTranscript(options.log);
  return keepAlive(async () => {
    if (options.build !== false)
      await transcript.step(undefined, 'build: nx run-many -t prepare', () =>
        prepare(root, [...names], options.log),
      );
    const persistent = options.persistent ?? false;
    const vlanNet = setVlanNet();
    const bootTimeout = options.timeout ?? 600;
    const spec = (name: Name) => ({
      ...machineSpec(root, all[name], persistent, vlanNet),
      bootTimeout,
      transcript,
      shell: options.shell ?? 'sh',
    });
    if (options.start === false) {
      const created = names.map((name) => [name, Machine.create(spec(name))]);
      return machineSet(
        Object.fromEntries(created) as Record<Name, Machine>,
        persistent,
        transcript,
      );
    }
    const boots = names.map((name) => {
      options.log?.(`booting ${name}\n`);
      return transcript.step(name, 'boot', () => Machine.boot(spec(name), bootTimeout));
    });
    const results = await Promise.allSettled(boots);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const booted = results.filter(
      (r): r is PromiseFulfilledResult<Machine> => r.status === 'fulfilled',
    );
    if (failed.length) {
      await Promise.all(booted.map((r) => r.value.stopNow()));
      if (failed.length === 1) throw failed[0].reason;
      throw new AggregateError(
        failed.map((f) => f.reason as Error),
        failed.map((f) => (f.reason as Error).message).join('\n\n'),
      );
    }
    const said = accelSummary(
      booted.map((b, i) => ({ name: names[i], text: b.value.acceleratorSaid })),
    );
    for (const line of said) sayAccelerator(line, options.log);
    const machines = Object.fromEntries(names.map((n, i) => [n, booted[i].value])) as Record<
      Name,
      Machine
    >;
    return machineSet(machines, persistent, transcript);
  }).catch((err: unknown) => {
    closeTranscript(transcript);
    throw err;
  });
}

const acceleratorsSaid = new Set<string>();

/** Which accelerator the machines use: to the log when there is one, else once per process on stderr. */
function sayAccelerator(line: string, log: StartOptions['log']): void {
  if (log) return log(line);
  if (acceleratorsSaid.has(line)) return;
  acceleratorsSaid.add(line);
  process.stderr.write(line);
}

export function machineSpec(
  root: string,
  r: ResolvedMachine,
  persistent: boolean,
  vlanNet: string,
) {
  const dist = join(root, distDir(r.name));
  return {
    name: r.name,
    runScript: join(dist, 'bin', `run-${r.name}-vm`),
    artifactsDir: join(dist, 'test-artifacts'),
    consoleLog: newConsoleLog(root, r.paths.stateDir, 'test'),
    graphics: r.graphics,
    persistent,
    vlanNet,
    vlanNetdevs: r.network.vlans.map((v) => `vlan${v.vlan}`),
    userNetdev: r.network.user.default ? 'user.0' : undefined,
    guestAgent: r.guestAgent,
    services: r.services.map((s) => s.name),
    addresses: r.network.vlans.map(({ vlan, address }) => ({ vlan, address })),
    systemd: r.kernel.systemd,
    warm: warmRun(dist, r, persistent),
    installSwap: r.installsAfterRestore ? installSwap(root, r) : undefined,
    arch: r.arch,
    shares: r.fileSystems
      .filter((f) => f.fsType === '9p' && f.device !== STORE_TAG)
      .map((f): ShareMount => ({ tag: f.device, mountPoint: f.mountPoint, options: f.options })),
    snapshotRefusal: persistent
      ? "snapshots need throwaway disks, and the machines were started with persistent: true (a snapshot would be written into the machine's own disk image)"
      : r.system.from === 'host'
        ? 'its system is the host\'s /usr on a 9p share, which stays mounted while the machine runs, and QEMU cannot save a machine with a mounted share; a machine with a declared system ("system": { "from": "debian" }) has its system on an image and can be saved'
        : undefined,
  };
}

/** What a restore of the machine's ready state swaps when its install images changed. */
export function installSwap(root: string, r: ResolvedMachine): InstallSwap {
  const state = join(root, distDir(r.name), 'test-warm', WARM_FILES.ready);
  return {
    digestFile: state + READY_SUFFIXES.installs,
    images: r.installs.map((i) => join(root, i.image)),
    mountPoints: r.installs.map((i) => i.to),
    units: r.services.map((s) => s.unit),
    timeoutSeconds: r.services.reduce((sum, s) => sum + s.readyTimeout, 60),
  };
}

/** The state the warm target saved for the test API (warmStart), unless VM_WARM_START=0 or there is none. */
function warmRun(dist: string, r: ResolvedMachine, persistent: boolean): WarmRun | undefined {
  if (!r.warmStart || process.env.VM_WARM_START === '0') return undefined;
  // A ready state brings the disks it was saved with: kept disks are the machine's own, so it boots cold.
  if (r.warmStart === 'ready' && persistent) return undefined;
  const state = join(
    dist,
    'test-warm',
    r.warmStart === 'ready' ? WARM_FILES.ready : WARM_FILES.testApi,
  );
  if (!existsSync(state)) return undefined;
  return { mode: r.warmStart === 'ready' ? 'ready-restore' : 'restore', state };
}

function machineSet<Name extends string>(
  machines: Record<Name, Machine>,
  persistent: boolean,
  transcript: Transcript,
): MachineSet<Name> {
  const list = Object.values<Machine>(machines);
  const shutdown = () =>
    keepAlive(async () => {
      closeTranscript(transcript);
      await Promise.all(list.map((m) => (persistent ? m.shutdown() : m.stopNow())));
    });
  const access = (what: string) => list.map((m) => m.snapshotAccess(what));
  const ofSet = (snapshot: SetSnapshot) =>
    list.map((m) => {
      const s = snapshot.machines[m.name];
      if (!s)
        throw new StartError(
          `restore: the snapshot has no machine "${m.name}"; take it from this set`,
        );
      return s;
    });
  return {
    machines,
    shutdown,
    transcript,
    snapshot: () =>
      keepAlive(() =>
        transcript.step(undefined, 'snapshot()', async () => {
          const taken = await takeSnapshots(access('take a snapshot'));
          return Object.freeze({
            machines: Object.freeze(Object.fromEntries(taken.map((s) => [s.machine, s]))),
            takenAt: taken[0].takenAt,
            bytes: taken.reduce((sum, s) => sum + s.bytes, 0),
          });
        }),
      ),
    restore: (snapshot) =>
      keepAlive(() =>
        transcript.step(undefined, 'restore()', async () => {
          const snapshots: MachineSnapshot[] = ofSet(snapshot);
          const machinesAccess = access('restore a snapshot');
          await restoreSnapshots(
            machinesAccess.map((a, i) => ({ access: a, snapshot: snapshots[i] })),
          );
        }),
      ),
    deleteSnapshot: (snapshot) =>
      keepAlive(() =>
        transcript.step(undefined, 'deleteSnapshot()', async () => {
          const snapshots = ofSet(snapshot);
          await Promise.all(
            access('delete a snapshot').map((a, i) => deleteSnapshot(a, snapshots[i])),
          );
        }),
      ),
    captureArtifacts: (label) => Promise.all(list.map((m) => m.captureArtifacts(label))),
    [Symbol.asyncDispose]: shutdown,
  };
}
