// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { runAttached } from '../../host/attached';
import { stopTimeoutUnderNx } from '../../host/nx-grace';
import type { StartExecutorSchema } from './schema';
import { machineExecutor } from '../machine-executor';
import { newConsoleLog } from '../../host/console-log';
import { serialConsoleArgs } from './lib/console-args';
import { runPreparation } from './lib/prepare';

export default machineExecutor<StartExecutorSchema>(
  async (options, m, context) => {
    if (!(await runPreparation(context.root, m.machine.name, options.prepare ?? []))) {
      console.error(`start: preparing "${m.machine.name}" failed (see above); nothing was started`);
      return { success: false };
    }
    const log = newConsoleLog(context.root, m.machine.paths.stateDir, 'console');
    const graphical =
      m.machine.graphics && Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
    console.log(`starting "${m.machine.name}"; console log: ${log}`);
    if (!graphical) console.log("leave with 'poweroff' in the guest, or Ctrl-A X");
    const result = await runAttached(m.runScript, graphical ? [] : serialConsoleArgs(log), {
      stdio: 'inherit',
      env: { VM_STOP_TIMEOUT: stopTimeoutUnderNx() },
    });
    if (result.interrupted)
      console.error(
        `start: interrupted (${result.interrupted}); "${m.machine.name}" was powered off`,
      );
    else if (result.exitCode !== 0)
      console.error(`start: QEMU exited with status ${result.exitCode ?? result.signal}`);
    return { success: result.exitCode === 0 && !result.interrupted };
  },
  { warnOnRefusedToken: false },
);
