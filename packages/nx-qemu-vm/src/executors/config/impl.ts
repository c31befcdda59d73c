// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { join, relative } from 'node:path';
import type { ConfigExecutorSchema } from './schema';
import { machineExecutor } from '../machine-executor';
import { writeFileSync } from 'node:fs';
import { publishDirectory } from '../../host/atomic-write';

// The first step of every machine: a config error stops the graph here,
// and the resolved machine is there to read when a VM does not do what you meant.
export default machineExecutor<ConfigExecutorSchema>(
  async (_options, m, context) => {
    const file = join(m.dist, 'config', 'machine.json');
    // The position is left out: it only matters through the vlan addresses, which are in the file.
    const { index: _position, ...resolved } = m.machine;
    await publishDirectory(join(m.dist, 'config'), (scratch) =>
      writeFileSync(join(scratch, 'machine.json'), `${JSON.stringify(resolved, null, 2)}\n`),
    );
    console.log(
      `machine "${m.machine.name}" is valid; resolved config: ${relative(context.root, file)}`,
    );
    return { success: true };
  },
  { warnOnRefusedToken: true },
);
