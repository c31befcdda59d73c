// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import type { ExecutorContext } from '@nx/devkit';
import type { BuildExecutorSchema } from './schema';
import { writeMachineScripts } from './lib/write-machine-scripts';
import { machineContext } from '../../util/machine';
import { reportFailure } from '../../util/report';
import { warnIfRemoteCacheRefusesToken } from '../../util/remote-cache-check';

export default async function buildExecutor(
  options: BuildExecutorSchema,
  context: ExecutorContext,
) {
  try {
    await warnIfRemoteCacheRefusesToken();
    for (const file of await writeMachineScripts(machineContext(options, context)))
      console.log(`wrote ${file}`);
    return { success: true };
  } catch (err) {
    reportFailure(err);
    return { success: false };
  }
}
