// The install target's plan, pure: which workspace directory each entry of
// `install` packs, checked against what Nx knows of the target that builds
// it, and the mkfs.erofs command that packs it.
import { posix } from 'node:path';
import { closest } from 'fastest-levenshtein';
import { type ConfigIssue, jsonPath } from '../config/errors';
import type { ResolvedInstall, ResolvedMachine } from '../config/resolve';

/** What the plan needs to know of the workspace's projects (from Nx's project graph). */
export interface WorkspaceTargets {
  /** The target's outputs, relative to the workspace root; undefined when there is no such target. */
  outputs(project: string, target: string): string[] | undefined;
  projects(): string[];
  targets(project: string): string[] | undefined;
}

export interface InstallStep {
  install: ResolvedInstall;
  /** The directory packed, relative to the workspace root. */
  source: string;
  /** mkfs.erofs arguments, given the image to write and the source's absolute path. */
  args: (image: string, sourcePath: string) => string[];
}

/** An output as a directory: a glob keeps only its leading plain segments. */
function outputDir(output: string): string {
  const plain: string[] = [];
  for (const part of output.replace(/^\.\//, '').split('/')) {
    if (/[*?[\]{}!]/.test(part)) break;
    plain.push(part);
  }
  return plain.join('/').replace(/\/+$/, '');
}

const inside = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

/** The source of each install, or the problems that stop the step (machine, JSON path, value, fix). */
export function planInstalls(
  r: ResolvedMachine,
  workspace: WorkspaceTargets,
  epoch: string,
): { steps: InstallStep[]; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const steps: InstallStep[] = [];
  r.installs.forEach((install, i) => {
    const issue = (field: string, value: unknown, message: string) =>
      issues.push({
        machine: r.name,
        path: jsonPath(['machines', r.name, 'install', i, field]),
        value,
        message,
      });
    const targets = workspace.targets(install.project);
    if (targets === undefined) {
      const known = workspace.projects();
      issue(
        'target',
        install.target,
        `no project named "${install.project}" in the workspace${known.length ? `; did you mean "${closest(install.project, known)}"?` : ''} Name a project's target as project:target, e.g. "api:build".`,
      );
      return;
    }
    const outputs = workspace.outputs(install.project, install.targetName);
    if (outputs === undefined) {
      issue(
        'target',
        install.target,
        `project "${install.project}" has no target "${install.targetName}"; its targets: ${targets.join(', ') || 'none'}.`,
      );
      return;
    }
    const dirs = outputs.map(outputDir).filter((d) => d !== '');
    let source = install.from;
    if (source === undefined) {
      if (dirs.length !== 1) {
        issue(
          'from',
          undefined,
          dirs.length === 0
            ? `${install.target} declares no outputs, so there is nothing to take by default. Add the directory it writes to its "outputs" (Nx then caches it and knows when it changes), or set "from".`
            : `${install.target} declares ${dirs.length} outputs (${dirs.join(', ')}); set "from" to the one to install.`,
        );
        return;
      }
      source = dirs[0];
    } else if (!dirs.some((d) => inside(posix.normalize(source as string), d))) {
      issue(
        'from',
        install.from,
        `is not inside an output of ${install.target} (${dirs.join(', ') || 'it declares none'}): Nx would neither build it first nor see it change. Add it to the target's "outputs", or name a directory inside one.`,
      );
      return;
    }
    const uuid = install.uuid;
    steps.push({
      install,
      source: posix.normalize(source),
      // Every file owned by root, at one fixed time, without the host's
      // extended attributes: the same files give the same image for any
      // account on any host (a remote cache shares it).
      args: (image, sourcePath) => [
        '--quiet',
        '-zlz4hc',
        `-T${epoch}`,
        `-U${uuid}`,
        '--all-root',
        '-x-1',
        image,
        sourcePath,
      ],
    });
  });
  return { steps, issues };
}
