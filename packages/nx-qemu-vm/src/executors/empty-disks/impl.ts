// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { join } from 'node:path';
import type { EmptyDisksExecutorSchema } from './schema';
import { machineExecutor } from '../machine-executor';
import { emptyDiskLayouts } from '../../disk/layout';
import { driftWarning, ensureStatefulDisk } from '../../disk/stateful-disk';

// Stateful and never cached, like the root disk: data written to them stays.
export default machineExecutor<EmptyDisksExecutorSchema>(
  async (_options, m, context) => {
    const r = m.machine;
    const layouts = emptyDiskLayouts(r);
    if (!layouts.length) {
      console.log(`machine "${r.name}" has no emptyDiskImages; nothing to create`);
      return { success: true };
    }
    // Each disk is checked (in use? layout?) before it is created or kept.
    const disks = r.paths.emptyDisks.map((path, i) => ({
      image: join(context.root, path),
      label: `empty disk ${path}`,
      machine: r.name,
      layout: layouts[i],
    }));
    for (const disk of disks) {
      const outcome = await ensureStatefulDisk(disk);
      if (outcome.state === 'created')
        console.log(`created ${disk.label} (${disk.layout.sizeMiB} MiB)`);
      else {
        console.log(`${disk.label} exists; left as it is`);
        if (outcome.drift.length) console.warn(driftWarning(disk, outcome.drift));
      }
    }
    return { success: true };
  },
  { warnOnRefusedToken: false },
);
