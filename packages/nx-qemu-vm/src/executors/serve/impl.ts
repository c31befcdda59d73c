// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { emitReadySignal } from '@nx/devkit';
import { execa } from 'execa';
import type { ServeExecutorSchema } from './schema';
import { machineExecutor } from '../machine-executor';
import { newConsoleLog } from '../../host/console-log';
import { stopTimeoutUnderNx } from '../../host/nx-grace';
import { qemuEscape } from '../../quote/qemu';
import { serialConsole } from '../../qemu/run-script';
import { reportBetween } from '../../guest/services';
import {
  ROOT_SHELL_BANNER,
  SERVICE_FAILED,
  SERVICE_REPORT_END,
  STAGE2_REACHED,
} from '../../contract/host-guest';
import { forwardRule } from '../../config/network';
import { attachedArgv } from '../../host/attached';
import { whenInterrupted } from '../../host/interruption';

// The machine as a service for other tasks: Nx starts it (continuous), waits
// for our ready signal, runs the dependents, then stops it. When we get to
// stop it (SIGTERM, SIGINT, or Nx going away), the run script powers the guest
// off cleanly. But Nx may also kill the whole process tree at once, QEMU
// included (seen: "terminating on signal 15"), so the guest runs with
// -snapshot: its disks are opened read-only and its writes go to throwaway
// overlays, and no power cut can damage a user's disk.
export default machineExecutor<ServeExecutorSchema>(
  async (options, m, context) => {
    const r = m.machine;
    const log = newConsoleLog(context.root, r.paths.stateDir, 'serve');
    const [file, args] = attachedArgv(m.runScript, [
      '-snapshot',
      '-display',
      'none',
      '-monitor',
      'none',
      '-serial',
      `file:${qemuEscape(log)}`,
    ]);
    const qemu = execa(file, args, {
      stdin: 'ignore',
      stdout: 'inherit',
      stderr: 'inherit',
      reject: false,
      env: {
        VM_STOP_TIMEOUT: stopTimeoutUnderNx(),
        QEMU_KERNEL_PARAMS: `${process.env.QEMU_KERNEL_PARAMS ?? ''} console=${serialConsole(r)}`,
      },
    });
    let exited = false;
    void qemu.finally(() => (exited = true));
    let stopping = false;
    const stop = () => {
      if (stopping || exited) return;
      stopping = true;
      console.log(`powering "${r.name}" off`);
      qemu.kill('SIGTERM');
    };
    const stopListening = whenInterrupted(stop);
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
        console.log(
          'the guest reached stage 2; waiting for its network, postBootCommands and services',
        );
      }
      const failed = reportBetween(text, SERVICE_FAILED, SERVICE_REPORT_END);
      if (failed !== undefined) {
        console.error(`serve: "${r.name}": a service failed to start:\n${failed}`);
        stop();
        await qemu;
        stopListening();
        return { success: false };
      }
      if (text.includes(`${ROOT_SHELL_BANNER} ${r.name}`)) {
        ready = true;
        break;
      }
      if (Date.now() > deadline) {
        console.error(
          `serve: "${r.name}" did not come up within ${timeout} s; stopping it. Console log: ${log}`,
        );
        stop();
        await qemu;
        stopListening();
        return { success: false };
      }
      await sleep(200);
    }
    if (ready) {
      const forwards = r.forwardPorts.map((f) => forwardRule(f)).join(', ');
      console.log(`"${r.name}" is up${forwards ? `; forwards: ${forwards}` : ''}`);
      emitReadySignal();
    }
    const result = await qemu;
    stopListening();
    if (!ready && !stopping) {
      console.error(
        `serve: "${r.name}" stopped before it was up (QEMU status ${result.exitCode}); console log: ${log}`,
      );
      return { success: false };
    }
    // Powered off on request (the run script exits 128 + the signal), or by the guest itself.
    const clean =
      result.exitCode === 0 || (stopping && [129, 130, 143].includes(result.exitCode ?? 0));
    if (!clean)
      console.error(
        `serve: QEMU exited with status ${result.exitCode ?? result.signal}; console log: ${log}`,
      );
    return { success: clean };
  },
  { warnOnRefusedToken: false },
);
