// Starts a run script with QEMU paused before the guest's first instruction
// (-S) and a QMP socket, asks QEMU its status and tells it to quit. That proves
// QEMU accepted the whole command line (every device, drive, netdev and
// firmware file is opened before -S takes effect) without booting anything.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { QmpClient, withTimeout } from '../../src/qemu/qmp';

export interface PausedRunResult {
  /** `query-status` result, e.g. "prelaunch". */
  status: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Environment variables the run script reads; cleared so the developer's shell cannot change the result. */
const SCRIPT_ENV = [
  'DISPLAY',
  'WAYLAND_DISPLAY',
  'QEMU_OPTS',
  'QEMU_NET_OPTS',
  'QEMU_KERNEL_PARAMS',
  'VM_DISK_IMAGE',
  'NIX_DISK_IMAGE',
  'VM_EFI_VARS',
  'NIX_EFI_VARS',
  'SHARED_DIR',
  'USE_TMPDIR',
  'VM_ACCEL',
  'VM_WORKSPACE_ROOT',
];

export interface LaunchOptions {
  ws: string;
  /** Scratch dir of this run; HOME, caches and the run's TMPDIR go below it. */
  tmp: string;
  /** QMP socket path; unix socket paths must stay under 108 bytes. */
  socket: string;
  /** Bound for each step: start-up, each QMP exchange, shutdown. */
  stepTimeoutMs: number;
}

function scriptEnv(o: LaunchOptions): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of SCRIPT_ENV) delete env[k];
  const dirs = {
    HOME: join(o.tmp, 'home'),
    XDG_CACHE_HOME: join(o.tmp, 'cache'),
    TMPDIR: join(o.tmp, 'tmp,dir'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  // The comma in TMPDIR makes every run check the script's escaping of paths known only at run time.
  // KVM is not usable on our hosts; TCG also keeps results independent of the host CPU.
  return { ...env, ...dirs, VM_WORKSPACE_ROOT: o.ws, VM_ACCEL: 'tcg' };
}

const STDERR_LIMIT = 64 * 1024;

export async function launchPausedAndQuit(
  script: string,
  o: LaunchOptions,
): Promise<PausedRunResult> {
  if (Buffer.byteLength(o.socket) > 107)
    throw new Error(`QMP socket path too long for a unix socket: ${o.socket}`);
  // detached: QEMU gets its own process group, so a timeout can kill it and anything the script started.
  const child: ChildProcess = spawn(script, ['-S', '-qmp', `unix:${o.socket},server=on,wait=off`], {
    env: scriptEnv(o),
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += s;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('error', (err) => {
      stderr += `spawn failed: ${err.message}\n`;
      resolve({ code: null, signal: null });
    });
    // 'close' (not 'exit') so that all of stderr has been read.
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  let done: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((r) => (done = r));
  let qmp: QmpClient | undefined;
  try {
    const deadline = Date.now() + o.stepTimeoutMs;
    while (!existsSync(o.socket)) {
      if (done)
        throw new Error(
          `QEMU exited (code ${done.code}, signal ${done.signal}) before its QMP socket appeared:\n${stderr}`,
        );
      if (Date.now() > deadline)
        throw new Error(`no QMP socket after ${o.stepTimeoutMs} ms:\n${stderr}`);
      await sleep(20);
    }
    // QEMU binds the socket a moment before it listens: a refused connection then is not a failure yet.
    for (;;) {
      try {
        qmp = await QmpClient.connect(o.socket, o.stepTimeoutMs);
        break;
      } catch (err) {
        const refused =
          (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ||
          /ECONNREFUSED/.test(String(err));
        if (!refused || done || Date.now() > deadline) throw err;
        await sleep(20);
      }
    }
    const reply = (await qmp.execute('query-status', undefined, o.stepTimeoutMs)) as {
      status?: string;
    };
    await qmp.quit(o.stepTimeoutMs);
    const end = await withTimeout(exited, o.stepTimeoutMs, 'QEMU to exit after quit');
    return { status: String(reply?.status), exitCode: end.code, signal: end.signal, stderr };
  } catch (err) {
    // QEMU usually explains itself on stderr as it exits (e.g. a drive it could
    // not open after the QMP socket was up); give it a moment to finish saying so.
    await withTimeout(exited, 1_000, 'QEMU to exit').catch(() => undefined);
    // A new error: a socket error's stack (which reporters print) is fixed when created, so appending to its message would not show.
    const cause = err instanceof Error ? err.message : String(err);
    const msg =
      done && !cause.startsWith('QEMU exited')
        ? `QEMU exited (code ${done.code}, signal ${done.signal}); ${cause}`
        : cause;
    throw new Error(msg.includes(stderr) ? msg : `${msg}\nQEMU stderr:\n${stderr}`);
  } finally {
    qmp?.close();
    if (!done && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await withTimeout(exited, 5_000, 'QEMU to die after SIGKILL').catch(() => undefined);
    }
  }
}
