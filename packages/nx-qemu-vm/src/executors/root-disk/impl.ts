// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { existsSync } from 'node:fs';
import type { RootDiskExecutorSchema } from './schema';
import { machineExecutor, overridablePath } from '../machine-executor';
import { rootDiskLayout } from '../../disk/layout';
import { driftWarning, ensureStatefulDisk, inspectDisk } from '../../disk/stateful-disk';
import { refuseIfInUse } from '../../disk/in-use';
import { ROOT_DISK_ENV } from '../../disk/disk-rules';

// Stateful and never cached: the root disk is the user's data.
export default machineExecutor<RootDiskExecutorSchema>(
  async (_options, m, context) => {
    const r = m.machine;
    const { shown, path: image } = overridablePath(context.root, ROOT_DISK_ENV, r.paths.diskImage);
    const label = `root disk ${shown}`;
    const layout = rootDiskLayout(r);
    if (!layout) {
      // diskSize null: the user provides the image; we only check it is there and free.
      refuseIfInUse(image, label, r.name);
      if (!existsSync(image))
        throw new Error(
          `${label} does not exist, and machines.${r.name}.diskSize is null, so it is not created. Create it, or set diskSize.`,
        );
      await inspectDisk(image, label);
      console.log(`${label} is there (diskSize is null: provided by you)`);
      return { success: true };
    }
    const disk = { image, label, machine: r.name, layout };
    const outcome = await ensureStatefulDisk(disk);
    if (outcome.state === 'created')
      console.log(
        `created ${label} (${layout.sizeMiB} MiB qcow2; formatted by the guest on first boot)`,
      );
    else {
      console.log(`${label} exists; left as it is`);
      if (outcome.drift.length) console.warn(driftWarning(disk, outcome.drift));
    }
    return { success: true };
  },
  { warnOnRefusedToken: false },
);
