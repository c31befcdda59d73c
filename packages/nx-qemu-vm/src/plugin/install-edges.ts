// createDependencies: an edge from each machine to every project it installs
// (install: [{ target: "api:build" }]), so that Nx's project graph, `nx graph`
// and project-level `nx affected` (without -t, or with affected.legacy) see
// that a change to the project reaches the machine and the tests that boot it.
import { join } from 'node:path';
import {
  type CreateDependencies,
  DependencyType,
  type RawProjectGraphDependency,
} from '@nx/devkit';
import { CONFIG_FILE, loadConfig } from '../config/load';

/** Machine -> installed project edges; a project that does not exist gets none (the install step says why). */
export function installEdges(
  machines: Record<string, { install?: readonly { target: string }[] }>,
  projects: ReadonlySet<string>,
): RawProjectGraphDependency[] {
  const edges: RawProjectGraphDependency[] = [];
  for (const [machine, m] of Object.entries(machines)) {
    if (!projects.has(machine)) continue;
    const seen = new Set<string>();
    for (const { target } of m.install ?? []) {
      const project = target.split(':')[0];
      if (project === machine || seen.has(project) || !projects.has(project)) continue;
      seen.add(project);
      edges.push({ source: machine, target: project, type: DependencyType.implicit });
    }
  }
  return edges;
}

export const createDependencies: CreateDependencies = (_options, context) => {
  let machines;
  try {
    machines = loadConfig(join(context.workspaceRoot, CONFIG_FILE)).machines;
  } catch {
    // A broken or missing file: the machines' own targets report it.
    return [];
  }
  // Keyed by root in some Nx versions, by name in others: take both.
  const names = Object.entries(context.projects).flatMap(([key, p]) => [key, p.name ?? key]);
  return installEdges(machines, new Set(names));
};
