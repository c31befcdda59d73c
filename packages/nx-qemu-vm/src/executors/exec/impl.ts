// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { runAttachedInheriting } from '../../host/attached-inherit';
import { stopTimeoutUnderNx } from '../../host/nx-grace';
import type { ExecExecutorSchema } from './schema';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { scriptExecutor } from '../machine-scripts';
import { EXEC_BOOT_FAILURE_STATUS, EXEC_TIMEOUT_STATUS } from '../../contract/host-guest';

// `nx run` can only exit 0 or 1, so the guest's status is printed instead.
// Only the script is needed, which the build step (a dependency) wrote from a
// checked config: exec does not load the config again (machine-scripts.ts).
export default scriptExecutor<ExecExecutorSchema>(async (options, m) => {
  if (!existsSync(m.execScript))
    throw new Error(
      `${relative(process.cwd(), m.execScript)} is missing: it is built by the build step, which exec runs first unless told not to (--exclude-task-dependencies)`,
    );
  const result = await runAttachedInheriting(m.execScript, [options.command], {
    VM_EXEC_TIMEOUT: String(options.timeout ?? 600),
    VM_STOP_TIMEOUT: stopTimeoutUnderNx(),
  });
  if (result.interrupted) {
    console.error(`exec: interrupted (${result.interrupted}); machine "${m.name}" was stopped`);
    return { success: false };
  }
  const status = result.exitCode ?? 1;
  if (status === 0) return { success: true };
  if (status === EXEC_BOOT_FAILURE_STATUS || status === EXEC_TIMEOUT_STATUS)
    console.error(
      `exec: machine "${m.name}" did not run the command (see the console lines above)`,
    );
  else console.error(`exec: the command exited with status ${status} in machine "${m.name}"`);
  return { success: false };
});
