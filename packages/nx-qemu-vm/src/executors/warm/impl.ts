// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { join, relative } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import type { WarmExecutorSchema } from './schema';
import { machineContext } from '../../util/machine';
import { reportFailure } from '../../util/report';
import { publishDirectory } from '../../util/atomic-write';
import { mkdirSync, rmSync } from 'node:fs';
import { saveWarmState } from '../../qemu/warm-state';

export default async function warmExecutor(options: WarmExecutorSchema, context: ExecutorContext) {
  try {
    const m = machineContext(options, context);
    if (!m.machine.config.warmStart) {
      console.log(`machine "${m.machine.name}" does not use warm starts; nothing to build`);
      return { success: true };
    }
    const dir = join(m.dist, 'warm');
    console.log(`booting ${m.machine.name} to its warm point and saving its state`);
    try {
      await publishDirectory(dir, async (scratch) => {
        const saved = await saveWarmState(
          m.execScript,
          join(scratch, 'state'),
          (options.timeout ?? 600) * 1000,
        );
        console.log(
          `wrote ${relative(context.root, join(dir, 'state'))} (${(saved.bytes / 1024 / 1024).toFixed(1)} MiB): booted in ${saved.bootSeconds.toFixed(1)} s, saved in ${saved.saveSeconds.toFixed(1)} s`,
        );
      });
    } catch (err) {
      // A warm start only makes exec faster: without a state, exec boots cold.
      // The empty output is cached like a state, until the machine changes.
      publishEmpty(dir);
      reportFailure(err);
      console.warn(
        `warning: machine "${m.machine.name}" has no warm state; exec boots it cold until the cause above is fixed`,
      );
    }
    return { success: true };
  } catch (err) {
    reportFailure(err);
    return { success: false };
  }
}

/** An output without a state: a stale one must not survive a failed save. */
function publishEmpty(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}
