// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ExecutorContext, emitReadySignal } from '@nx/devkit';
import { execa } from 'execa';
import type { ServeExecutorSchema } from './schema';
import { machineContext, newConsoleLog } from '../../util/machine';
import { reportFailure } from '../../util/report';
import { qemuEscape } from '../../quote/qemu';
import { serialConsole } from '../../qemu/run-script';
import { ROOT_SHELL_BANNER, STAGE2_REACHED } from '../../guest/stage2';
import { forwardRule } from '../../config/network';

/** How long a guest gets to power off cleanly before QEMU is stopped. */
const POWEROFF_GRACE_MS = 60_000;

/** Types `poweroff` on the guest's console, whose shell syncs and remounts the root read-only first. */
function typeOnConsole(socket: string, text: string): Promise<void> {
  return new Promise((resolve) => {
    const conn = createConnection(socket, () => conn.end(text, () => resolve()));
    conn.on('error', () => resolve());
  });
}

// The machine as a service for other tasks: Nx starts it (continuous), waits
// for our ready signal, runs the dependents, then stops it by killing the whole
// process tree, QEMU included (seen: "terminating on signal 15"). So the guest
// runs with -snapshot: its disks are opened read-only and its writes go to
// throwaway overlays, and no power cut can damage a user's disk. When we get
// to stop it ourselves (Ctrl-C), the guest is powered off through its console.
export default async function serveExecutor(
  options: ServeExecutorSchema,
  context: ExecutorContext,
) {
  const scratch = mkdtempSync(join(tmpdir(), 'nxvm-serve-'));
  try {
    const m = machineContext(options, context);
    const r = m.machine;
    const log = newConsoleLog(context.root, r.paths.stateDir, 'serve');
    const socket = join(scratch, 'console.sock');
    const qemu = execa(
      m.runScript,
      [
        '-snapshot',
        '-display',
        'none',
        '-monitor',
        'none',
        '-chardev',
        `socket,id=serve0,path=${qemuEscape(socket)},server=on,wait=off,logfile=${qemuEscape(log)}`,
        '-serial',
        'chardev:serve0',
      ],
      {
        stdin: 'ignore',
        stdout: 'inherit',
        stderr: 'inherit',
        reject: false,
        env: {
          QEMU_KERNEL_PARAMS: `${process.env.QEMU_KERNEL_PARAMS ?? ''} console=${serialConsole(r)}`,
        },
      },
    );
    let exited = false;
    void qemu.then(() => (exited = true));
    let stopping = false;
    const stop = async () => {
      if (stopping || exited) return;
      stopping = true;
      console.log(`powering "${r.name}" off`);
      await typeOnConsole(socket, '\npoweroff\n');
      const deadline = Date.now() + POWEROFF_GRACE_MS;
      while (!exited && Date.now() < deadline) await sleep(200);
      if (!exited) qemu.kill('SIGTERM');
    };
    process.once('SIGTERM', () => void stop());
    process.once('SIGINT', () => void stop());
    console.log(
      `serving "${r.name}" in the background; console log: ${relative(context.root, log)}`,
    );

    const timeout = options.bootTimeout ?? 600;
    const deadline = Date.now() + timeout * 1000;
    let stage2 = false;
    let ready = false;
    while (!exited && !stopping) {
      const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
      if (!stage2 && text.includes(STAGE2_REACHED)) {
        stage2 = true;
        console.log('the guest reached stage 2; waiting for its network and postBootCommands');
      }
      if (text.includes(`${ROOT_SHELL_BANNER} ${r.name}`)) {
        ready = true;
        break;
      }
      if (Date.now() > deadline) {
        console.error(
          `serve: "${r.name}" did not come up within ${timeout} s; stopping it. Console log: ${log}`,
        );
        await stop();
        await qemu;
        return { success: false };
      }
      await sleep(200);
    }
    if (ready) {
      const forwards = r.config.forwardPorts.map((f) => forwardRule(f)).join(', ');
      console.log(`"${r.name}" is up${forwards ? `; forwards: ${forwards}` : ''}`);
      emitReadySignal();
    }
    const result = await qemu;
    if (!ready && !stopping) {
      console.error(
        `serve: "${r.name}" stopped before it was up (QEMU status ${result.exitCode}); console log: ${log}`,
      );
      return { success: false };
    }
    // Powered off on request, or by the guest itself: the normal end of a service.
    const clean = result.exitCode === 0 || (stopping && result.signal === 'SIGTERM');
    if (!clean)
      console.error(
        `serve: QEMU exited with status ${result.exitCode ?? result.signal}; console log: ${log}`,
      );
    return { success: clean };
  } catch (err) {
    reportFailure(err);
    return { success: false };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
