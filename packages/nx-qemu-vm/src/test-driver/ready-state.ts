// Saves a machine's ready state (warmStart "ready"): the machine boots as the
// test API boots it, on fresh disks beside the state file, until its agent
// answers (stage 2 done or multi-user.target reached, its services ready,
// postBootCommands run); its shares are unmounted, QEMU writes its state to
// the file, and quits. startMachines restores it (launch.ts, ready-restore):
// QEMU loads the state over throwaway overlays of those disks, and the
// machine mounts its shares again, sets its clock and reseeds (snapshots.ts).
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedMachine } from '../config/resolve';
import { type WarmSaveResult, migrateToFile } from '../qemu/warm-state';
import { READY_SUFFIXES, readyDiskSuffixes } from '../qemu/warm-files';
import { warmConsoleFile } from '../qemu/test-api-args';
import { Machine } from './machine';
import { detachForSave } from './snapshots';
import { installSwap, machineSpec } from './start-machines';
import { installDigest } from './ready-installs';
import { Transcript } from './transcript';

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
  // Which install images it will see: taken before QEMU opens them, checked again after the save.
  const swap = r.installsAfterRestore ? installSwap(workspaceRoot, r) : undefined;
  const digest = swap && (await installDigest(swap.images));
  try {
    const machine = await Machine.boot(spec, timeoutSeconds);
    const booted = Date.now();
    try {
      const access = machine.snapshotAccess('save its ready state');
      await detachForSave(access);
      await migrateToFile(access.qmp, stateFile, started + timeoutSeconds * 1000, true);
      // Only a whole state gets its key: a save cut off leaves one that never restores.
      renameSync(stateFile + READY_SUFFIXES.pendingKey, stateFile + READY_SUFFIXES.key);
      // Which install images it saw: a restore with others swaps them in (ready-installs.ts).
      if (swap) {
        if ((await installDigest(swap.images)) !== digest)
          throw new Error(
            'the install images changed while the machine was being saved; save it again',
          );
        writeFileSync(stateFile + READY_SUFFIXES.installs, `${digest}\n`);
      }
    } finally {
      // QEMU quits; the disks are closed cleanly, as the save left them.
      await machine.crash();
    }
    const saved = Date.now();
    if (existsSync(spec.consoleLog)) copyFileSync(spec.consoleLog, warmConsoleFile(stateFile));
    const disks = readyDiskSuffixes(r.paths.emptyDisks.length).map((d) => stateFile + d);
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
