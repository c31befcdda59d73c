// A digest of the plugin's own files. Nx hashes a task's options but not the
// code of its executor, so the cached targets carry this digest among their
// options: a new version of the plugin, or any edit to it, misses the cache,
// and the same files on another machine hit the same remote entries. It
// covers the code that really runs: the compiled package once installed, the
// TypeScript sources in the plugin's own repository.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The package's root: src/plugin/../.. in the sources and in the build alike. */
export const PLUGIN_ROOT = join(__dirname, '..', '..');

/** Files at the package root that change what the plugin does. */
const ROOT_FILES = [
  'package.json',
  'executors.json',
  'generators.json',
  'workspace-vm.schema.json',
];

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (!entry.name.includes('.spec.')) yield path;
  }
}

/** sha256 over the relative path and bytes of every file, in a fixed order. */
export function digestOf(root: string): string {
  const files = [...ROOT_FILES.map((f) => join(root, f)), ...sourceFiles(join(root, 'src'))]
    .map((path) => relative(root, path))
    .sort();
  const hash = createHash('sha256');
  for (const file of files)
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(root, file)))
      .update('\0');
  return hash.digest('hex').slice(0, 32);
}

let memo: string | undefined;
/** Computed once per process: the files do not change under a running Nx. */
export function pluginDigest(): string {
  return (memo ??= digestOf(PLUGIN_ROOT));
}
