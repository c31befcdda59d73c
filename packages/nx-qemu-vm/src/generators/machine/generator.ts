// Adds one machine to workspace-vm.json. The whole resulting file must pass
// validateConfig before anything is written: a file the plugin rejects would
// break the project graph for every Nx command, not just this machine's.
// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import {
  type GeneratorCallback,
  type Tree,
  formatFiles,
  getProjects,
  logger,
  readJson,
  writeJson,
} from '@nx/devkit';
import { CONFIG_FILE } from '../../config/load';
import { ConfigError, validateConfig } from '../../config/validate';
import { newConfig, registerPlugin } from '../init/setup';
import { machineEntry, withMachine } from './machine-entry';
import type { MachineGeneratorSchema } from './schema';

export async function machineGenerator(
  tree: Tree,
  options: MachineGeneratorSchema,
): Promise<GeneratorCallback> {
  const { name } = options;
  // Every check comes before the first change, so a refusal leaves the tree as it was.
  const current = tree.exists(CONFIG_FILE) ? readJson<object>(tree, CONFIG_FILE) : newConfig({});
  const next = withMachine(current, name, machineEntry(options), CONFIG_FILE);
  // A project of the same name from elsewhere (project.json, package.json) would
  // make Nx refuse the whole graph with a less helpful message.
  const clash = getProjects(tree).get(name);
  if (clash)
    throw new Error(
      `a project named "${name}" already exists (${clash.root || '.'}). Machine names become Nx project names; pick another.`,
    );
  try {
    validateConfig(next, CONFIG_FILE);
  } catch (err) {
    if (err instanceof ConfigError)
      throw new Error(`machine "${name}" was not added; nothing was written.\n${err.message}`, {
        cause: err,
      });
    throw err;
  }
  registerPlugin(tree);
  writeJson(tree, CONFIG_FILE, next);
  await formatFiles(tree);
  return () => logger.info(`Added machine "${name}". Boot it with: npx nx run ${name}:start`);
}

export default machineGenerator;
