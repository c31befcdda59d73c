// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { relative } from 'node:path';
import type { BootDiskExecutorSchema } from './schema';
import { machineExecutor } from '../machine-executor';
import { buildBootDisk } from './lib/build-boot-disk';

export default machineExecutor<BootDiskExecutorSchema>(
  async (options, m, context) => {
    const result = await buildBootDisk(
      m,
      options.timeout ?? 600,
      (line) => line && console.log(line),
    );
    console.log(
      `wrote ${relative(context.root, result.disk)}${result.efiVars ? ` and ${relative(context.root, result.efiVars)}` : ''}`,
    );
    return { success: true };
  },
  { warnOnRefusedToken: true },
);
