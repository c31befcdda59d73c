// `nx add nx-qemu-vm` runs this (Nx looks for a generator named `init`).
// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { type GeneratorCallback, type Tree, formatFiles, logger, readNxJson } from '@nx/devkit';
import type { InitGeneratorSchema } from './schema';
import { CONFIG_FILE } from '../../config/load';
import { affectedLegacyWarning } from '../../plugin/affected-legacy';
import {
  ignoreMachineState,
  quietCloudAdvice,
  registerPlugin,
  writeConfigIfMissing,
} from './setup';

// `start` puts the serial console in the terminal; a display window would take
// the console away from it on a desktop, so the first machine is headless.
export const DEFAULT_MACHINES = { vm: { graphics: false } };

export async function initGenerator(
  tree: Tree,
  options: InitGeneratorSchema = {},
): Promise<GeneratorCallback> {
  registerPlugin(tree);
  const wrote = writeConfigIfMissing(tree, DEFAULT_MACHINES);
  ignoreMachineState(tree);
  const quieted = !options.keepCloudAdvice && quietCloudAdvice(tree);
  // formatFiles only touches changed files, and does nothing in a workspace without a formatter.
  if (!options.skipFormat) await formatFiles(tree);
  // Said, not fixed: nx.json's affected.legacy may be there on purpose.
  const legacy = affectedLegacyWarning(readNxJson(tree));
  return () => {
    if (legacy) logger.warn(legacy);
    if (!wrote) logger.info(`${CONFIG_FILE} exists; nothing in it was replaced.`);
    if (quieted)
      logger.info(
        'nx.json: set neverConnectToCloud, so Nx stops advertising its hosted cache after slow runs (remove it to undo).',
      );
    if (wrote)
      logger.info(
        `Next: npx nx run vm:exec --command='uname -a' (the host packages it needs are in the nx-qemu-vm README).`,
      );
  };
}

export default initGenerator;
