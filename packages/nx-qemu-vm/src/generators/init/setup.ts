// The two things a workspace needs before nx-qemu-vm can infer anything: the
// plugin in nx.json and a workspace-vm.json. Shared by `init` and `machine`,
// so adding a machine to a fresh workspace sets it up too.
import {
  type NxJsonConfiguration,
  type Tree,
  readNxJson,
  updateNxJson,
  writeJson,
} from '@nx/devkit';
import { CONFIG_FILE } from '../../config/load';

export const PLUGIN_NAME = 'nx-qemu-vm';

// Relative to workspace-vm.json at the workspace root. The schema sits at the
// package's root, so this resolves both after an npm install and in this
// repository, where node_modules/nx-qemu-vm links to packages/nx-qemu-vm.
export const SCHEMA_REF = `./node_modules/${PLUGIN_NAME}/workspace-vm.schema.json`;

export interface WorkspaceVmJson {
  $schema?: string;
  machines: Record<string, unknown>;
  [key: string]: unknown;
}

type PluginEntry = NonNullable<NxJsonConfiguration['plugins']>[number];

export function isPluginEntry(entry: PluginEntry): boolean {
  return (typeof entry === 'string' ? entry : entry?.plugin) === PLUGIN_NAME;
}

/**
 * The plugins list with ours appended, or undefined when it is there already.
 * An existing entry is left alone whatever its form: its options, include or
 * exclude are the user's choice.
 */
export function withPlugin(plugins: readonly PluginEntry[] = []): PluginEntry[] | undefined {
  return plugins.some(isPluginEntry) ? undefined : [...plugins, PLUGIN_NAME];
}

export function registerPlugin(tree: Tree): void {
  const nxJson = readNxJson(tree) ?? {};
  const plugins = withPlugin(nxJson.plugins);
  // Writing only on change keeps a second run a no-op: Nx then lists no changed files.
  if (!plugins) return;
  // updateNxJson only edits an existing file; Nx runs without one, but then loads no plugins.
  if (tree.exists('nx.json')) updateNxJson(tree, { ...nxJson, plugins });
  else writeJson(tree, 'nx.json', { plugins });
}

export function newConfig(machines: Record<string, unknown>): WorkspaceVmJson {
  return { $schema: SCHEMA_REF, machines };
}

/**
 * Writes workspace-vm.json with these machines unless the file exists: its
 * machines are the user's. Returns whether it wrote the file.
 */
export function writeConfigIfMissing(tree: Tree, machines: Record<string, unknown>): boolean {
  if (tree.exists(CONFIG_FILE)) return false;
  writeJson(tree, CONFIG_FILE, newConfig(machines));
  return true;
}

/** nx.json keys by which a workspace has already decided about Nx Cloud. */
const CLOUD_KEYS = ['nxCloudId', 'nxCloudAccessToken', 'nxCloudUrl', 'neverConnectToCloud'];

/**
 * After a run of more than 30 s, Nx 24 prints recommendations that advertise
 * its hosted cache (a first boot takes that long). Its one switch for them is
 * `neverConnectToCloud`, which this sets, unless the workspace has already
 * decided about Nx Cloud either way. Returns whether it changed nx.json.
 */
export function quietCloudAdvice(tree: Tree): boolean {
  const nxJson = readNxJson(tree) ?? {};
  if (CLOUD_KEYS.some((key) => key in nxJson)) return false;
  if (tree.exists('nx.json')) updateNxJson(tree, { ...nxJson, neverConnectToCloud: true });
  else writeJson(tree, 'nx.json', { ...nxJson, neverConnectToCloud: true });
  return true;
}

// Machine state (multi-GB disk images) and build outputs stay out of git, and
// so out of Nx's file hashing, which follows .gitignore.
export const IGNORED = ['.vm/', 'dist/vm/'];

/** Appends the entries .gitignore lacks; a second run changes nothing. */
export function ignoreMachineState(tree: Tree): void {
  const current = tree.exists('.gitignore') ? (tree.read('.gitignore', 'utf-8') ?? '') : '';
  const lines = new Set(current.split('\n').map((l) => l.trim()));
  const missing = IGNORED.filter(
    (entry) => !lines.has(entry) && !lines.has(entry.replace(/\/$/, '')),
  );
  if (!missing.length) return;
  const sep = current === '' || current.endsWith('\n') ? '' : '\n';
  tree.write(
    '.gitignore',
    `${current}${sep}# nx-qemu-vm: machine disks and build outputs\n${missing.join('\n')}\n`,
  );
}
