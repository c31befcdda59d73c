// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type ProjectGraph, getOutputsForTargetAndConfiguration } from '@nx/devkit';
import type { InstallExecutorSchema } from './schema';
import { machineExecutor } from '../machine-executor';
import { publishDirectory } from '../../host/atomic-write';
import { runTool } from '../../host/run-tool';
import { ConfigError } from '../../config/errors';
import { type WorkspaceTargets, planInstalls } from '../../image/install-plan';

/** The project graph as the plan sees it: projects, their targets and those targets' outputs. */
export function graphTargets(graph: ProjectGraph): WorkspaceTargets {
  return {
    projects: () => Object.keys(graph.nodes),
    targets: (project) => {
      const node = graph.nodes[project];
      return node ? Object.keys(node.data.targets ?? {}) : undefined;
    },
    outputs: (project, target) => {
      const node = graph.nodes[project];
      if (!node?.data.targets?.[target]) return undefined;
      return getOutputsForTargetAndConfiguration({ project, target }, {}, node);
    },
  };
}

export default machineExecutor<InstallExecutorSchema>(
  async (_options, m, context) => {
    const r = m.machine;
    const { steps, issues } = planInstalls(
      r,
      graphTargets(context.projectGraph),
      process.env.SOURCE_DATE_EPOCH ?? '0',
    );
    if (issues.length) throw new ConfigError('workspace-vm.json', issues);
    await publishDirectory(join(m.dist, 'install'), async (scratch) => {
      for (const step of steps) {
        const source = join(context.root, step.source);
        let kind: string;
        try {
          kind = statSync(source).isDirectory() ? 'directory' : 'not a directory';
        } catch {
          kind = 'missing';
        }
        if (kind !== 'directory')
          throw new Error(
            `${step.source} (install of ${step.install.target} for machine "${r.name}") is ${kind === 'missing' ? 'missing' : 'not a directory'} after ${step.install.target} ran; check that the target writes it, or fix "from".`,
          );
        const image = join(
          scratch,
          relative(join(m.dist, 'install'), join(context.root, step.install.image)),
        );
        await runTool('mkfs.erofs', step.args(image, source), { debianPackage: 'erofs-utils' });
        console.log(
          `packed ${step.source} (${step.install.target}) for ${step.install.to}: ${step.install.image} (${(statSync(image).size / 1024).toFixed(0)} KiB)`,
        );
      }
    });
    return { success: true };
  },
  { warnOnRefusedToken: true },
);
