// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { EfiVarsExecutorSchema } from './schema';
import { machineExecutor, overridablePath } from '../machine-executor';
import { publishNew, removeStaleTemporaries, temporaryName } from '../../host/atomic-write';
import { refuseIfInUse } from '../../disk/in-use';
import { EFI_VARS_ENV, efiVarsTemplate } from '../../disk/disk-rules';

// Stateful: the vars belong to the user once created. They are copied through
// a temporary name and published with a hard link, which never replaces a file.
export default machineExecutor<EfiVarsExecutorSchema>(
  (_options, m, context) => {
    const r = m.machine;
    const templateFile = efiVarsTemplate(r);
    if (templateFile === undefined) {
      console.log(`machine "${r.name}" does not boot with UEFI; no EFI variables to create`);
      return { success: true };
    }
    const { path: target } = overridablePath(context.root, EFI_VARS_ENV, r.paths.efiVars);
    if (existsSync(target)) {
      refuseIfInUse(target, `EFI variables ${r.paths.efiVars}`, r.name);
      if (!statSync(target).isFile())
        throw new Error(
          `the EFI variables ${r.paths.efiVars} are not a file. Move it away (new ones are made from the template) or point efiVars at a file.`,
        );
      console.log(`${r.paths.efiVars} exists; left as it is`);
      return { success: true };
    }
    const template = resolve(context.root, templateFile);
    if (!existsSync(template))
      throw new Error(
        r.boot.loader
          ? `${template} is missing; build it first: npx nx run ${r.name}:boot-disk`
          : `the firmware's variable template ${template} is missing; reinstall the firmware package`,
      );
    mkdirSync(dirname(target), { recursive: true });
    removeStaleTemporaries(target);
    const tmp = temporaryName(target);
    try {
      copyFileSync(template, tmp);
      chmodSync(tmp, 0o644);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    publishNew(tmp, target);
    console.log(`created ${r.paths.efiVars} from ${template}`);
    return { success: true };
  },
  { warnOnRefusedToken: false },
);
