// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import type { ExecutorContext } from '@nx/devkit';
import { execa } from 'execa';
import type { ExecExecutorSchema } from './schema';
import { machineContext } from '../../util/machine';
import { reportFailure } from '../../util/report';
import { EXEC_BOOT_FAILURE_STATUS, EXEC_TIMEOUT_STATUS } from '../../qemu/exec-script';

// `nx run` can only exit 0 or 1, so the guest's status is printed instead.
export default async function execExecutor(options: ExecExecutorSchema, context: ExecutorContext) {
  try {
    const m = machineContext(options, context);
    const result = await execa(m.execScript, [options.command], {
      stdio: 'inherit',
      reject: false,
      env: { VM_EXEC_TIMEOUT: String(options.timeout ?? 600) },
    });
    const status = result.exitCode ?? 1;
    if (status === 0) return { success: true };
    if (status === EXEC_BOOT_FAILURE_STATUS || status === EXEC_TIMEOUT_STATUS)
      console.error(
        `exec: machine "${m.machine.name}" did not run the command (see the console lines above)`,
      );
    else
      console.error(
        `exec: the command exited with status ${status} in machine "${m.machine.name}"`,
      );
    return { success: false };
  } catch (err) {
    reportFailure(err);
    return { success: false };
  }
}
