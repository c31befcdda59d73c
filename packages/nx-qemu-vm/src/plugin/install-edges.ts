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
import { readFileSync } from 'node:fs';
import { CONFIG_FILE } from '../config/load';

/** Machine -> installed project edges; a project that does not exist gets none (the install step says why). */
export function installEdges(
  machines: Record<string, unknown>,
  projects: ReadonlySet<string>,
): RawProjectGraphDependency[] {
  const edges: RawProjectGraphDependency[] = [];
  for (const [machine, m] of Object.entries(machines)) {
    const install = (m as { install?: unknown } | null)?.install;
    if (!projects.has(machine) || !Array.isArray(install)) continue;
    const seen = new Set<string>();
    for (const entry of install as unknown[]) {
      const target = (entry as { target?: unknown } | null)?.target;
      if (typeof target !== 'string') continue;
      const project = target.split(':')[0];
      if (project === machine || seen.has(project) || !projects.has(project)) continue;
      seen.add(project);
      edges.push({ source: machine, target: project, type: DependencyType.implicit });
    }
  }
  return edges;
}

export const createDependencies: CreateDependencies = (_options, context) => {
  // The file as written, not validated: a problem in one machine (which its
  // own targets report) must not take the other machines' edges away.
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(context.workspaceRoot, CONFIG_FILE), 'utf8'));
  } catch {
    return [];
  }
  const machines = (raw as { machines?: unknown } | null)?.machines;
  if (!machines || typeof machines !== 'object') return [];
  // Keyed by root in some Nx versions, by name in others: take both.
  const names = Object.entries(context.projects).flatMap(([key, p]) => [key, p.name ?? key]);
  return installEdges(machines as Record<string, unknown>, new Set(names));
};
