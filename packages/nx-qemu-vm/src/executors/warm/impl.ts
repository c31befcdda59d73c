// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { join, relative } from 'node:path';
import type { WarmExecutorSchema } from './schema';
import { machineExecutor } from '../machine-executor';
import { reportFailure } from '../report-failure';
import { publishDirectory } from '../../host/atomic-write';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { type WarmStarter, saveWarmState } from '../../qemu/warm-state';

/** The states, by file name under dist/vm/<m>/warm: exec's and the test API's. */
const WARM_FILES = ['state', 'test-state'] as const;
type WarmFile = (typeof WARM_FILES)[number];

export default machineExecutor<WarmExecutorSchema>(
  async (options, m, context) => {
    if (!m.machine.warmStart) {
      console.log(`machine "${m.machine.name}" does not use warm starts; nothing to build`);
      return { success: true };
    }
    const dir = join(m.dist, 'warm');
    const starters: Record<WarmFile, WarmStarter> = {
      state: { kind: 'exec', execScript: m.execScript },
      'test-state': { kind: 'test', runScript: m.runScript, graphics: m.machine.graphics },
    };
    console.log(
      `booting ${m.machine.name} twice to its warm point (as exec and as the test API start it) and saving its states`,
    );
    try {
      await publishDirectory(dir, async (scratch) => {
        // Both at once: each is one QEMU, mostly waiting for its guest.
        const saves = await Promise.allSettled(
          WARM_FILES.map((file) =>
            saveWarmState(starters[file], join(scratch, file), (options.timeout ?? 600) * 1000),
          ),
        );
        const failed: string[] = [];
        saves.forEach((saved, i) => {
          const file = WARM_FILES[i];
          if (saved.status === 'fulfilled') {
            console.log(
              `wrote ${relative(context.root, join(dir, file))} (${(saved.value.bytes / 1024 / 1024).toFixed(1)} MiB): booted in ${saved.value.bootSeconds.toFixed(1)} s, saved in ${saved.value.saveSeconds.toFixed(1)} s`,
            );
            return;
          }
          // Only whole states are published: a key without its state would be stale.
          for (const left of readdirSync(scratch).filter((f) => f.startsWith(`${file}.`)))
            rmSync(join(scratch, left), { force: true });
          failed.push(
            `${file === 'state' ? 'exec' : 'the test API'}: ${saved.reason instanceof Error ? saved.reason.message : String(saved.reason)}`,
          );
        });
        if (failed.length === WARM_FILES.length) throw new Error(failed.join('\n\n'));
        for (const why of failed)
          console.warn(
            `warning: no warm state for ${why.split(':')[0]}; it boots ${m.machine.name} cold:\n${why}`,
          );
      });
    } catch (err) {
      // A warm start only makes a boot faster: without a state, it is cold.
      // The empty output is cached like a state, until the machine changes.
      publishEmpty(dir);
      reportFailure(err);
      console.warn(
        `warning: machine "${m.machine.name}" has no warm state; exec and the test API boot it cold until the cause above is fixed`,
      );
    }
    return { success: true };
  },
  // Cached like the other build steps, so a remote cache may store it too.
  { warnOnRefusedToken: true },
);

/** An output without a state: a stale one must not survive a failed save. */
function publishEmpty(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}
