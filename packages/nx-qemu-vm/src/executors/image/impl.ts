// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import type { ImageExecutorSchema } from './schema';
import { machineContext } from '../../util/machine';
import { reportFailure } from '../../util/report';
import { warnIfRemoteCacheRefusesToken } from '../../util/remote-cache-check';
import { publishDirectory } from '../../util/atomic-write';
import { ToolError, runTool } from '../../host/run-tool';
import { throwIfInterrupted } from '../../host/interruption';
import { imagePlan } from '../../image/image-plan';
import { explainImageFailure } from '../../image/image-errors';
import { unshareProblemMessage, unshareProblems } from '../../image/unshare-checks';
import { readUnshareFacts } from '../../host/unshare-facts';

export default async function imageExecutor(
  options: ImageExecutorSchema,
  context: ExecutorContext,
) {
  try {
    await warnIfRemoteCacheRefusesToken();
    const m = machineContext(options, context);
    const r = m.machine;
    if (r.system.from !== 'debian') {
      console.log(
        `machine "${r.name}" runs the host's /usr (system.from "host"); nothing to build`,
      );
      return { success: true };
    }
    // Both tools are checked first: an hour of downloads must not end in "mkfs.erofs: not found".
    await runTool('mkfs.erofs', ['--help'], { allowFailure: true, debianPackage: 'erofs-utils' });
    // An ordinary account builds in a user namespace: say what is missing before mmdebstrap does not.
    const unshare = unshareProblems(readUnshareFacts());
    if (unshare.length) throw new Error(unshareProblemMessage(r.name, unshare));
    const dir = join(m.dist, 'image');
    await publishDirectory(dir, async (scratch) => {
      const plan = imagePlan(r, scratch, process.env.SOURCE_DATE_EPOCH ?? '0');
      console.log(
        `building the ${r.system.from === 'debian' ? r.system.debianArch : ''} Debian ${plan.suite} image of "${r.name}" with mmdebstrap: ${plan.packages.join(' ')}`,
      );
      try {
        await runTool(plan.command, plan.args, {
          env: plan.env,
          echo: true,
          attached: true,
          debianPackage: 'mmdebstrap',
        });
      } catch (err) {
        throw err instanceof ToolError ? explainImageFailure(err, plan) : err;
      }
      throwIfInterrupted('the image build');
    });
    const store = join(dir, 'store.erofs');
    console.log(
      `wrote ${relative(context.root, store)} (${(statSync(store).size / 1024 / 1024).toFixed(1)} MiB) and ${relative(context.root, join(dir, 'manifest.txt'))}`,
    );
    return { success: true };
  } catch (err) {
    reportFailure(err);
    return { success: false };
  }
}
