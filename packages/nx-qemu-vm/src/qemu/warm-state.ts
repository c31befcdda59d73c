// Saves a machine's warm state (warmStart): the machine boots, with
// VM_WARM=save, to the point where stage 1 waits, after its drivers and
// before any disk or share; QEMU then writes its state to a file over QMP and
// quits. There is one state per way of starting the machine, as each has its
// own devices: exec's (the exec script, restored by exec-vm.sh) and the test
// API's (the run script with launch.ts's arguments, restored by launch.ts).
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAttached } from '../host/attached';
import { runTool } from '../host/run-tool';
import { WARM_POINT } from '../contract/host-guest';
import { QmpClient } from './qmp';
import { apiSockets, testApiArgs, warmConsoleFile } from './test-api-args';
import { shQuote } from '../quote/shell';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface WarmSaveResult {
  /** Bytes of the saved state. */
  bytes: number;
  /** Seconds from the start of QEMU to the warm point, and of the save itself. */
  bootSeconds: number;
  saveSeconds: number;
}

/** How the saved machine is started: as `exec` starts it, or as the test API does. */
export type WarmStarter =
  { kind: 'exec'; execScript: string } | { kind: 'test'; runScript: string; graphics: boolean };

/** The environment every save runs with, whatever starts the machine. */
function saveEnv(scratch: string): Record<string, string> {
  return {
    TMPDIR: scratch,
    USE_TMPDIR: '1',
    // The save never touches a root disk; a scratch one keeps the user's free to use.
    VM_DISK_IMAGE: join(scratch, 'root.qcow2'),
    // The state holds the kernel command line; a plain run must match it.
    QEMU_KERNEL_PARAMS: '',
    QEMU_OPTS: '',
    // No other machine's vlan traffic reaches the saved one.
    VM_VLAN_NET: `239.${randomInt(256)}.${randomInt(256)}`,
  };
}

function startToSave(starter: WarmStarter, scratch: string, stateFile: string, log: string) {
  const env = saveEnv(scratch);
  if (starter.kind === 'exec')
    return { script: starter.execScript, args: ['true'], env: { ...env, VM_WARM_SAVE: stateFile } };
  mkdirSync(join(scratch, 'api'), { mode: 0o700 });
  const { agentSocket, qmpSocket } = apiSockets(scratch);
  return {
    script: starter.runScript,
    args: testApiArgs(
      { graphics: starter.graphics, persistent: false, consoleLog: log },
      agentSocket,
      qmpSocket,
    ),
    env: { ...env, VM_WARM: 'save', VM_WARM_FILE: stateFile, VM_STOP_TIMEOUT: '0' },
  };
}

/**
 * Boots the machine as `starter` starts it and saves its state to `stateFile`
 * (and the key of what it was saved for to `stateFile.key`, written by the run
 * script). Rejects, with the console's last lines, when no state was saved.
 */
export async function saveWarmState(
  starter: WarmStarter,
  stateFile: string,
  timeoutMs: number,
): Promise<WarmSaveResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-warm.'));
  const log = join(scratch, 'console.log');
  const started = Date.now();
  try {
    let exited = false;
    // On any failure the machine is stopped (SIGTERM: the script powers it off) before we return.
    const stop = new AbortController();
    // The scripts' messages (the scratch disk they create) only matter on failure.
    const messages = join(scratch, 'messages.txt');
    // A scratch root disk of any size: the guest never reads it before the save.
    await runTool('qemu-img', ['create', '-q', '-f', 'qcow2', join(scratch, 'root.qcow2'), '64M'], {
      debianPackage: 'qemu-utils',
    });
    const start = startToSave(starter, scratch, stateFile, log);
    const run = runAttached(start.script, start.args, {
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: { file: messages },
      cancelSignal: stop.signal,
      env: start.env,
    }).finally(() => (exited = true));
    // The exec script's messages, and the console's last lines unless they name them already.
    const consoleTail = () => {
      const said = existsSync(messages) ? readFileSync(messages, 'utf8').trimEnd() : '';
      if (said.includes('Last console lines')) return said;
      const lines = existsSync(log) ? readFileSync(log, 'utf8').trimEnd() : '';
      return [
        said,
        `Last console lines:\n${lines ? lines.split('\n').slice(-25).join('\n') : '(none)'}`,
      ]
        .filter(Boolean)
        .join('\n');
    };
    let booted = 0;
    let saved = 0;
    try {
      while (!(existsSync(log) && readFileSync(log, 'utf8').includes(WARM_POINT))) {
        if (exited) {
          await run;
          throw new Error(`the machine stopped before its warm point.\n${consoleTail()}`);
        }
        if (Date.now() - started > timeoutMs)
          throw new Error(`no warm point within ${timeoutMs / 1000} s.\n${consoleTail()}`);
        await sleep(50);
      }
      booted = Date.now();
      const qmp = await QmpClient.connect(join(scratch, 'warm-qmp.sock'), 10_000);
      try {
        await migrateToFile(qmp, stateFile, started + timeoutMs);
        await qmp.quit(10_000);
      } finally {
        qmp.close();
      }
      saved = Date.now();
      const result = await run;
      if (result.exitCode !== 0)
        throw new Error(
          `the ${starter.kind === 'exec' ? 'exec' : 'run'} script ended with ${result.interrupted ?? result.signal ?? `status ${result.exitCode}`} after the save.\n${consoleTail()}`,
        );
      if (starter.kind === 'test') copyFileSync(log, warmConsoleFile(stateFile));
    } catch (err) {
      stop.abort();
      await run;
      throw err;
    }
    return {
      bytes: statSync(stateFile).size,
      bootSeconds: (booted - started) / 1000,
      saveSeconds: (saved - booted) / 1000,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Has QEMU write the machine's state to `stateFile` and waits until it has
 * (the machine stays stopped); rejects with QEMU's reason, or at `deadline`.
 */
export async function migrateToFile(
  qmp: QmpClient,
  stateFile: string,
  deadline: number,
  stopFirst = false,
): Promise<void> {
  // A guest that runs on while QEMU copies its memory relies on QEMU
  // tracking the pages it writes; a busy guest under TCG on a loaded host
  // came back with its memory corrupted. Stopped, it is copied in one pass,
  // and the restored machine starts paused (MachineProcess continues it).
  if (stopFirst) await qmp.execute('stop', undefined, 10_000);
  // QEMU runs this through /bin/sh: the paths are quoted. cat may still
  // be writing when QEMU says "completed"; the file gets its name only
  // once cat is done.
  const part = `${stateFile}.part`;
  await qmp.execute(
    'migrate',
    { uri: `exec:cat > ${shQuote(part)} && mv -- ${shQuote(part)} ${shQuote(stateFile)}` },
    10_000,
  );
  for (;;) {
    const status = (await qmp.execute('query-migrate', undefined, 10_000)) as {
      status?: string;
      'error-desc'?: string;
    };
    if (status.status === 'completed') break;
    if (status.status !== 'setup' && status.status !== 'active')
      throw new Error(
        `QEMU could not save the machine (${status.status}${status['error-desc'] ? `: ${status['error-desc']}` : ''})`,
      );
    if (Date.now() > deadline) throw new Error('saving the machine took too long');
    await sleep(50);
  }
  for (let waited = 0; !existsSync(stateFile); waited += 50) {
    if (waited > 30_000) throw new Error('QEMU said the state was saved, but no file appeared');
    await sleep(50);
  }
}
