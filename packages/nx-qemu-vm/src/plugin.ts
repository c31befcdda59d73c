// createNodes: workspace-vm.json -> one Nx project per machine.
import { dirname, join, relative } from 'node:path';
import type { CreateNodes, CreateNodesResult, TargetConfiguration } from '@nx/devkit';
import { CONFIG_FILE, loadConfig } from './config/load';
import { distDir, stateDir } from './config/defaults';

export interface NxQemuVmPluginOptions {
  /** Prefix for the inferred target names, e.g. `vm-` gives `vm-build`. */
  targetPrefix?: string;
}

const PLUGIN_ROOT = join(__dirname, '..');

/** Our own code changes what the targets produce, and Nx does not hash executor code. */
function pluginSourceInputs(workspaceRoot: string): TargetConfiguration['inputs'] {
  const rel = relative(workspaceRoot, PLUGIN_ROOT);
  if (!rel.startsWith('..') && !rel.includes('node_modules'))
    return [{ fileset: `{workspaceRoot}/${rel}/src/**/*` }, { fileset: `{workspaceRoot}/${rel}/package.json` }];
  return [{ externalDependencies: ['nx-qemu-vm'] }];
}

// The run script names the kernel and firmware files it boots, so installing a
// newer kernel or firmware must invalidate it.
const HOST_BOOT_FILES = 'ls -1d /boot/vmlinuz-* /usr/share/qemu/firmware/*.json /etc/qemu/firmware/*.json 2>/dev/null || true';

function machineTargets(name: string, workspaceRoot: string, prefix: string): Record<string, TargetConfiguration> {
  const machineInput = { json: `{workspaceRoot}/${CONFIG_FILE}`, fields: [`machines.${name}`] };
  return {
    [`${prefix}build`]: {
      executor: 'nx-qemu-vm:build',
      cache: true,
      inputs: [machineInput, ...(pluginSourceInputs(workspaceRoot) ?? []), { runtime: HOST_BOOT_FILES }],
      outputs: [`{workspaceRoot}/${distDir(name)}/bin`],
      options: { machine: name },
      metadata: {
        description: `Write ${distDir(name)}/bin/run-${name}-vm, the standalone script that boots this machine.`,
        technologies: ['qemu'],
      },
    },
  };
}

export const createNodes: CreateNodes<NxQemuVmPluginOptions> = [
  CONFIG_FILE,
  (configFiles, options, context) =>
    configFiles.map((file) => {
      const config = loadConfig(join(context.workspaceRoot, file));
      const base = dirname(file) === '.' ? '' : `${dirname(file)}/`;
      const projects: CreateNodesResult['projects'] = {};
      for (const name of Object.keys(config.machines)) {
        projects[`${base}${stateDir(name)}`] = {
          name,
          projectType: 'application',
          tags: ['qemu-vm'],
          targets: machineTargets(name, context.workspaceRoot, options?.targetPrefix ?? ''),
          metadata: { description: `QEMU virtual machine "${name}" from ${file}` },
        };
      }
      return [file, { projects }] as const;
    }),
];
