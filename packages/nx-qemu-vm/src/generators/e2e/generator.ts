// `nx g nx-qemu-vm:e2e`: wires a test project to machines of workspace-vm.json.
// Every check comes before the first change, so a refusal leaves the tree as it
// was; every write happens only on a difference, so a second run changes nothing.
// First: refuses a Node.js that cannot load our dependencies, with a clear message.
import '../../require-node';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  type GeneratorCallback,
  type TargetConfiguration,
  type Tree,
  OverwriteStrategy,
  addDependenciesToPackageJson,
  addProjectConfiguration,
  formatFiles,
  generateFiles,
  getProjects,
  getWorkspaceLayout,
  joinPathFragments,
  logger,
  readJson,
  readNxJson,
  updateJson,
} from '@nx/devkit';
import { CONFIG_FILE } from '../../config/load';
import { isPluginEntry, registerPlugin } from '../init/setup';
import { RUNNERS, RUNNER_NAMES, type Runner, e2eTarget, templateData } from './e2e-target';
import type { E2EGeneratorSchema } from './schema';

/** Nx accepts more, but a name that is also a folder name and a shell word avoids surprises. */
const PROJECT_NAME = /^(@[a-z0-9._-]+\/)?[a-z0-9][a-z0-9._-]*$/i;

interface Plan {
  project: string;
  root: string;
  /** The file that holds the project's configuration, when the project exists. */
  configFile?: 'project.json' | 'package.json';
  target: string;
  runner: Runner;
  machines: Array<{ name: string; services: string[] }>;
  /** The machines' `prepare` target, with the plugin's targetPrefix. */
  prepareTarget: string;
}

/** The machines of workspace-vm.json as written: the plugin validates them, we only need names. */
function readMachines(tree: Tree): Record<string, unknown> {
  if (!tree.exists(CONFIG_FILE))
    throw new Error(
      `there is no ${CONFIG_FILE}: add the machines first (nx g nx-qemu-vm:machine <name>).`,
    );
  const machines = readJson<{ machines?: unknown }>(tree, CONFIG_FILE).machines;
  if (!machines || typeof machines !== 'object' || Array.isArray(machines))
    throw new Error(`${CONFIG_FILE} has no "machines" object.`);
  return machines as Record<string, unknown>;
}

/** Target names follow the plugin's `targetPrefix` option in nx.json (see README). */
export function targetPrefix(tree: Tree): string {
  const entry = readNxJson(tree)?.plugins?.find(isPluginEntry);
  const prefix =
    typeof entry === 'object' ? (entry.options as { targetPrefix?: unknown })?.targetPrefix : '';
  return typeof prefix === 'string' ? prefix : '';
}

function servicesOf(machine: unknown): string[] {
  const services = (machine as { services?: unknown } | null)?.services;
  return services && typeof services === 'object' && !Array.isArray(services)
    ? Object.keys(services)
    : [];
}

/** Reads and checks everything the generator needs; throws, having written nothing, on any problem. */
function plan(tree: Tree, options: E2EGeneratorSchema): Plan {
  const { project } = options;
  const runner = options.runner ?? 'node';
  const target = options.target ?? 'e2e';
  if (!PROJECT_NAME.test(project ?? ''))
    throw new Error(
      `--project "${project}" is not a usable project name (letters, digits, . _ -).`,
    );
  if (!RUNNER_NAMES.includes(runner))
    throw new Error(`--runner "${runner}" is not one of ${RUNNER_NAMES.join(', ')}.`);
  if (!/^[^\s:]+$/.test(target))
    throw new Error(`--target "${target}" is not a target name (no spaces or ':').`);

  const known = readMachines(tree);
  // The Nx CLI splits `--machines=a,b` into an array; a programmatic caller may pass the string.
  const raw = options.machines as string[] | string | undefined;
  const wanted = [...new Set([raw ?? []].flat().flatMap((m) => m.split(',')))]
    .map((m) => m.trim())
    .filter(Boolean);
  const names = Object.keys(known);
  if (!wanted.length)
    throw new Error(`--machines is empty; ${CONFIG_FILE} has: ${names.join(', ')}.`);
  const unknown = wanted.filter((m) => !Object.hasOwn(known, m));
  if (unknown.length)
    throw new Error(
      `${unknown.map((m) => `"${m}"`).join(', ')} ${unknown.length > 1 ? 'are not machines' : 'is not a machine'} of ${CONFIG_FILE}; it has: ${names.join(', ') || '(none)'}.`,
    );
  if (Object.hasOwn(known, project))
    throw new Error(
      `"${project}" is a machine: its project is inferred from ${CONFIG_FILE}. Name the test project otherwise, e.g. ${project}-e2e.`,
    );

  const existing = getProjects(tree).get(project);
  let root: string;
  let configFile: Plan['configFile'];
  if (existing) {
    root = existing.root;
    if (options.directory !== undefined && joinPathFragments(options.directory) !== root)
      throw new Error(
        `project "${project}" exists at ${root || '.'}; --directory ${options.directory} does not match it.`,
      );
    configFile = tree.exists(joinPathFragments(root, 'project.json'))
      ? 'project.json'
      : 'package.json';
  } else {
    const base = project.replace(/^@[^/]+\//, '');
    root = joinPathFragments(options.directory ?? join(getWorkspaceLayout(tree).appsDir, base));
    if (root.startsWith('..') || options.directory?.startsWith('/'))
      throw new Error(`--directory ${options.directory} is outside the workspace.`);
    if (tree.exists(joinPathFragments(root, 'project.json')))
      throw new Error(`${root}/project.json exists and is not project "${project}".`);
  }
  return {
    project,
    root,
    configFile,
    target,
    runner,
    machines: wanted.map((name) => ({ name, services: servicesOf(known[name]) })),
    prepareTarget: `${targetPrefix(tree)}prepare`,
  };
}

/** Sets one target in the file that holds the project, touching nothing else, and only on a difference. */
function writeTarget(tree: Tree, p: Plan, next: TargetConfiguration): void {
  const machines = p.machines.map((m) => m.name);
  if (!p.configFile) {
    addProjectConfiguration(tree, p.project, {
      root: p.root,
      projectType: 'application',
      sourceRoot: joinPathFragments(p.root, 'src'),
      tags: [],
      // Project-level `nx affected` (without -t, or with affected.legacy)
      // follows graph edges only: these make a change that reaches a machine
      // (the software it installs) reach this project too.
      implicitDependencies: machines,
      targets: { [p.target]: next },
    });
    return;
  }
  const file = joinPathFragments(p.root, p.configFile);
  // A package.json project keeps its Nx configuration under "nx".
  type Holder = { targets?: Record<string, unknown>; implicitDependencies?: string[] };
  const holder = (json: Holder & { nx?: Holder }): Holder =>
    p.configFile === 'package.json' ? (json.nx ??= {}) : json;
  const currentHolder = holder(readJson(tree, file));
  const current = currentHolder.targets?.[p.target];
  const implicit = currentHolder.implicitDependencies ?? [];
  const missing = machines.filter((m) => !implicit.includes(m));
  if (isDeepStrictEqual(current, next) && missing.length === 0) return;
  updateJson(tree, file, (json: Holder & { nx?: Holder }) => {
    const h = holder(json);
    h.targets = { ...h.targets, [p.target]: next };
    if (missing.length) h.implicitDependencies = [...(h.implicitDependencies ?? []), ...missing];
    return json;
  });
}

export async function e2eGenerator(
  tree: Tree,
  options: E2EGeneratorSchema,
): Promise<GeneratorCallback> {
  const p = plan(tree, options);
  // Without the plugin in nx.json there are no machine projects to depend on.
  registerPlugin(tree);
  const names = p.machines.map((m) => m.name);
  writeTarget(tree, p, e2eTarget(p.runner, names, p.prepareTarget));
  // Test files and runner configs are the user's once written: never overwritten.
  generateFiles(
    tree,
    join(__dirname, 'files', p.runner),
    p.root,
    templateData(p.project, p.target, p.machines),
    { overwriteStrategy: OverwriteStrategy.KeepExisting },
  );
  const devDependencies = RUNNERS[p.runner].devDependencies;
  const install =
    !options.skipPackageJson && tree.exists('package.json') && Object.keys(devDependencies).length
      ? // keepExistingVersions: a runner the workspace has already stays at its version.
        addDependenciesToPackageJson(tree, {}, devDependencies, 'package.json', true)
      : () => {};
  if (!options.skipFormat) await formatFiles(tree);
  return async () => {
    await install();
    logger.info(
      `${p.project}:${p.target} boots ${names.join(', ')} (${p.runner}). Run it with: npx nx run ${p.project}:${p.target}`,
    );
  };
}

export default e2eGenerator;
