// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { join, relative } from 'node:path';
import type { WarmExecutorSchema } from './schema';
import { machineExecutor } from '../machine-executor';
import { reportFailure } from '../report-failure';
import { publishDirectory } from '../../host/atomic-write';
import { mkdirSync, rmSync } from 'node:fs';
import { type WarmSaveResult, saveWarmState } from '../../qemu/warm-state';
import { WARM_FILES } from '../../qemu/warm-files';
import { saveReadyState } from '../../test-driver/ready-state';

interface Save {
  file: string;
  /** Who restores it, for the messages. */
  for: string;
  save(stateFile: string): Promise<WarmSaveResult & { diskBytes?: number }>;
}

export default machineExecutor<WarmExecutorSchema>(
  async (options, m, context) => {
    if (!m.machine.warmStart) {
      console.log(`machine "${m.machine.name}" does not use warm starts; nothing to build`);
      return { success: true };
    }
    const forTest = options.for === 'test';
    const dir = join(m.dist, forTest ? 'test-warm' : 'warm');
    const timeoutMs = (options.timeout ?? 600) * 1000;
    const r = m.machine;
    const save: Save = !forTest
      ? {
          file: WARM_FILES.exec,
          for: 'exec',
          save: (file) =>
            saveWarmState({ kind: 'exec', execScript: m.execScript }, file, timeoutMs),
        }
      : r.warmStart === 'ready'
        ? {
            file: WARM_FILES.ready,
            for: 'the test API',
            save: (file) => saveReadyState(context.root, r, file, timeoutMs / 1000),
          }
        : {
            file: WARM_FILES.testApi,
            for: 'the test API',
            save: (file) =>
              saveWarmState(
                { kind: 'test', runScript: m.runScript, graphics: r.graphics },
                file,
                timeoutMs,
              ),
          };
    console.log(
      save.file === WARM_FILES.ready
        ? `booting ${r.name} until it is ready, as the test API starts it, and saving its state`
        : `booting ${r.name} to its warm point, as ${save.for} starts it, and saving its state`,
    );
    try {
      await publishDirectory(dir, async (scratch) => {
        const { bytes, diskBytes, bootSeconds, saveSeconds } = await save.save(
          join(scratch, save.file),
        );
        console.log(
          `wrote ${relative(context.root, join(dir, save.file))} (${mib(bytes)}${diskBytes === undefined ? '' : `, and ${mib(diskBytes)} of disks`}): booted in ${bootSeconds.toFixed(1)} s, saved in ${saveSeconds.toFixed(1)} s`,
        );
      });
    } catch (err) {
      // A warm start only makes a boot faster: without a state, it is cold.
      // The empty output is cached like a state, until the machine changes.
      publishEmpty(dir);
      reportFailure(err);
      // Unless the cause may be an installed project, which this target's
      // hash leaves out (its images are swapped in after a restore): a
      // failure is not cached, and the next run tries again.
      if (forTest && r.installsAfterRestore) {
        console.error(
          `machine "${r.name}": no ready state was saved; a failure of your installed services is not cached, so fix it and run again`,
        );
        return { success: false };
      }
      console.warn(
        `warning: machine "${m.machine.name}" has no warm state for ${save.for}; it boots cold until the cause above is fixed`,
      );
    }
    return { success: true };
  },
  // Cached like the other build steps, so a remote cache may store it too.
  { warnOnRefusedToken: true },
);

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** An output without a state: a stale one must not survive a failed save. */
function publishEmpty(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}
