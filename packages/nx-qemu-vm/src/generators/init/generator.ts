// `nx add nx-qemu-vm` runs this (Nx looks for a generator named `init`).
import { type Tree, formatFiles } from '@nx/devkit';
import type { InitGeneratorSchema } from './schema';
import { ignoreMachineState, registerPlugin, writeConfigIfMissing } from './setup';

// `start` puts the serial console in the terminal; a display window would take
// the console away from it on a desktop, so the first machine is headless.
export const DEFAULT_MACHINES = { vm: { graphics: false } };

export async function initGenerator(tree: Tree, options: InitGeneratorSchema = {}): Promise<void> {
  registerPlugin(tree);
  writeConfigIfMissing(tree, DEFAULT_MACHINES);
  ignoreMachineState(tree);
  // formatFiles only touches changed files, and does nothing in a workspace without a formatter.
  if (!options.skipFormat) await formatFiles(tree);
}

export default initGenerator;
