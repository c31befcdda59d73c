// createNodes: workspace-vm.json -> one Nx project per machine, rooted at its
// state directory (.vm/<name>). The targets are in plugin/machine-targets.ts.
// Nothing in here throws for a user's mistake: that would break the project
// graph, and so every Nx command of the workspace (plugin/machine-entries.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CreateNodes,
  type CreateNodesContext,
  type CreateNodesResult,
  createNodesFromFiles,
} from '@nx/devkit';
import { ConfigError } from '../config/errors';
import { CONFIG_FILE, parseConfigText } from '../config/load';
import { stateDir } from '../config/defaults';
import { warnIfAffectedLegacy } from './affected-legacy';
import { brokenMachineProject } from './broken-machine';
import { type MachineEntries, machineEntries } from './machine-entries';
import { machineProject } from './machine-targets';
import { warnOnce } from './warn-once';
import { workspaceHosts } from '../config/network';

export { createDependencies } from './install-edges';

export interface NxQemuVmPluginOptions {
  /** Prefix for the inferred target names, e.g. `vm-` gives `vm-build`. */
  targetPrefix?: string;
}

function readEntries(workspaceRoot: string, file: string): MachineEntries {
  let text: string;
  try {
    text = readFileSync(join(workspaceRoot, file), 'utf8');
  } catch (err) {
    return { entries: [], warning: `nx-qemu-vm: cannot read ${file}: ${(err as Error).message}` };
  }
  try {
    return machineEntries(parseConfigText(text, file), file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return {
      entries: [],
      warning: `nx-qemu-vm: ${err.message}\nNo machine becomes a project until that is fixed.`,
    };
  }
}

/** The projects of one config file: one per machine, broken machines included. */
function machineNodes(
  file: string,
  options: NxQemuVmPluginOptions | undefined,
  context: CreateNodesContext,
): CreateNodesResult {
  const naming = { prefix: options?.targetPrefix ?? '' };
  const { entries, warning } = readEntries(context.workspaceRoot, file);
  if (warning) warnOnce(warning);
  const projects: CreateNodesResult['projects'] = {};
  // Each machine's /etc/hosts names the machines it shares a vlan with.
  const vlans = Object.fromEntries(
    entries.map((e) => [e.name, { vlans: 'machine' in e ? e.machine.vlans : [] }]),
  );
  for (const entry of entries) {
    // The pattern matches the workspace root's file only, so projects are rooted at .vm/<name>.
    projects[stateDir(entry.name)] = {
      root: stateDir(entry.name),
      ...('error' in entry
        ? brokenMachineProject(entry.name, entry.raw, entry.error, naming)
        : machineProject(
            entry.name,
            entry.position,
            entry.machine,
            context.workspaceRoot,
            naming,
            workspaceHosts(vlans, entry.name),
          )),
    };
  }
  return { projects };
}

// No cache of the nodes (as Nx's own plugins keep in the workspace data
// directory): building them takes milliseconds, the daemon already keeps the
// graph between commands, and a cached result would skip the config warnings.
export const createNodes: CreateNodes<NxQemuVmPluginOptions> = [
  CONFIG_FILE,
  (configFiles, options, context) => {
    warnIfAffectedLegacy(context.workspaceRoot, context.nxJsonConfiguration);
    return createNodesFromFiles<NxQemuVmPluginOptions | undefined>(
      machineNodes,
      configFiles,
      options,
      context,
    );
  },
];
