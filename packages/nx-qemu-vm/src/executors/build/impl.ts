import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import type { BuildExecutorSchema } from './schema';
import { writeMachineScripts } from './lib/write-machine-scripts';
import { reportFailure } from '../../util/report';

export default async function buildExecutor(options: BuildExecutorSchema, context: ExecutorContext) {
  const machine = options.machine ?? context.projectName ?? '';
  try {
    const written = writeMachineScripts(context.root, join(context.root, options.configFile ?? 'workspace-vm.json'), machine);
    for (const file of written) console.log(`wrote ${file}`);
    return { success: true };
  } catch (err) {
    reportFailure(err);
    return { success: false };
  }
}
