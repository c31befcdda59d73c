// Saves a machine's ready state (warmStart "ready"): the machine boots as the
// test API boots it, on fresh disks beside the state file, until its agent
// answers (stage 2 done or multi-user.target reached, its services ready,
// postBootCommands run); its shares are unmounted, QEMU writes its state to
// the file, and quits. startMachines restores it (launch.ts, ready-restore):
// QEMU loads the state over throwaway overlays of those disks, and the
// machine mounts its shares again, sets its clock and reseeds (snapshots.ts).
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedMachine } from '../config/resolve';
import { type WarmSaveResult, migrateToFile } from '../qemu/warm-state';
import { warmConsoleFile } from '../qemu/test-api-args';
import { readyRootDisk } from './launch';
import { Machine } from './machine';
import { detachForSave } from './snapshots';
import { machineSpec } from './start-machines';
import { Transcript } from './transcript';

/** The files of a ready state: the state, its key and console, and the disks it was saved with. */
export function readyStateFiles(state: string, emptyDisks: number): string[] {
  return [
    state,
    `${state}.key`,
    warmConsoleFile(state),
    readyRootDisk(state),
    ...Array.from({ length: emptyDisks }, (_, i) => `${state}.empty${i}.qcow2`),
  ];
}

export interface ReadySaveResult extends WarmSaveResult {
  /** Bytes of the disks saved with the state (what the guest wrote to them). */
  diskBytes: number;
}

export async function saveReadyState(
  workspaceRoot: string,
  r: ResolvedMachine,
  stateFile: string,
  timeoutSeconds: number,
): Promise<ReadySaveResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-ready.'));
  const started = Date.now();
  // No other machine's vlan traffic reaches the saved one.
  const vlanNet = `239.${randomInt(256)}.${randomInt(256)}`;
  const spec = {
    // persistent: the guest writes to the state's own disks, not to overlays.
    ...machineSpec(workspaceRoot, r, true, vlanNet),
    consoleLog: join(scratch, 'console.log'),
    artifactsDir: join(scratch, 'artifacts'),
    warm: { mode: 'ready-save' as const, state: stateFile },
    snapshotRefusal: undefined,
    transcript: new Transcript(),
    shell: 'sh' as const,
    bootTimeout: timeoutSeconds,
  };
  try {
    const machine = await Machine.boot(spec, timeoutSeconds);
    const booted = Date.now();
    try {
      const access = machine.snapshotAccess('save its ready state');
      await detachForSave(access);
      await migrateToFile(access.qmp, stateFile, started + timeoutSeconds * 1000);
    } finally {
      // QEMU quits; the disks are closed cleanly, as the save left them.
      await machine.crash();
    }
    const saved = Date.now();
    if (existsSync(spec.consoleLog)) copyFileSync(spec.consoleLog, warmConsoleFile(stateFile));
    const disks = readyStateFiles(stateFile, r.paths.emptyDisks.length).slice(3);
    return {
      bytes: statSync(stateFile).size,
      diskBytes: disks.reduce((sum, f) => sum + statSync(f).size, 0),
      bootSeconds: (booted - started) / 1000,
      saveSeconds: (saved - booted) / 1000,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
