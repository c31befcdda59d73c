// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { relative } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import type { BootDiskExecutorSchema } from './schema';
import { machineContext } from '../../util/machine';
import { reportFailure } from '../../util/report';
import { warnIfRemoteCacheRefusesToken } from '../../util/remote-cache-check';
import { buildBootDisk } from './lib/build-boot-disk';

export default async function bootDiskExecutor(
  options: BootDiskExecutorSchema,
  context: ExecutorContext,
) {
  try {
    await warnIfRemoteCacheRefusesToken();
    const result = await buildBootDisk(
      machineContext(options, context),
      options.timeout ?? 600,
      (line) => line && console.log(line),
    );
    console.log(
      `wrote ${relative(context.root, result.disk)}${result.efiVars ? ` and ${relative(context.root, result.efiVars)}` : ''}`,
    );
    return { success: true };
  } catch (err) {
    reportFailure(err);
    return { success: false };
  }
}
