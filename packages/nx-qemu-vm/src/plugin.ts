// createNodes: workspace-vm.json -> one Nx project per machine, rooted at its
// state directory (.vm/<name>). The targets are in plugin/machine-targets.ts.
import { join } from 'node:path';
import type { CreateNodes, CreateNodesResult } from '@nx/devkit';
import { CONFIG_FILE, loadConfig } from './config/load';
import { stateDir } from './config/defaults';
import { machineProject } from './plugin/machine-targets';

export interface NxQemuVmPluginOptions {
  /** Prefix for the inferred target names, e.g. `vm-` gives `vm-build`. */
  targetPrefix?: string;
}

export const createNodes: CreateNodes<NxQemuVmPluginOptions> = [
  CONFIG_FILE,
  (configFiles, options, context) =>
    configFiles.map((file) => {
      const config = loadConfig(join(context.workspaceRoot, file));
      const projects: CreateNodesResult['projects'] = {};
      Object.entries(config.machines).forEach(([name, machine], i) => {
        // The pattern matches the workspace root's file only, so projects are rooted at .vm/<name>.
        projects[stateDir(name)] = {
          root: stateDir(name),
          ...machineProject(name, i + 1, machine, context.workspaceRoot, {
            prefix: options?.targetPrefix ?? '',
          }),
        };
      });
      return [file, { projects }] as const;
    }),
];
