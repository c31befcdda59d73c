// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import type { BuildExecutorSchema } from './schema';
import { writeMachineScripts } from './lib/write-machine-scripts';
import { machineExecutor } from '../machine-executor';

export default machineExecutor<BuildExecutorSchema>(
  async (_options, m) => {
    for (const file of await writeMachineScripts(m)) console.log(`wrote ${file}`);
    return { success: true };
  },
  { warnOnRefusedToken: true },
);
