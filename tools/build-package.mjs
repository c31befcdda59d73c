#!/usr/bin/env node
// Builds the publishable package into dist/packages/nx-qemu-vm. tsc compiles
// src/ (without specs) to CommonJS with declarations; then the files that Nx
// and users read at run time are copied beside it: package.json, the
// executor and generator manifests, their schemas, the shell programs, the
// options schema, the README and the CI recipe's scripts. The layout mirrors
// the source tree, so the manifests' "./src/executors/<name>/impl" paths
// resolve to the compiled .js.
// The package is assembled in a scratch directory and renamed into place, so
// an interrupted build never leaves a half-built package behind.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const source = join(root, 'packages/nx-qemu-vm');
const out = join(root, 'dist/packages/nx-qemu-vm');
const scratch = `${out}.tmp-${process.pid}`;
const require = createRequire(import.meta.url);

/** Files under src/ that are not compiled but read at run time. */
const isAsset = (name) =>
  (!name.endsWith('.ts') || name.endsWith('.d.ts')) && !name.includes('.spec.');
/** Files at the package root that users, npm or Nx read. */
const ROOT_FILES = [
  'package.json',
  'README.md',
  'executors.json',
  'generators.json',
  'workspace-vm.schema.json',
];

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

function fail(message) {
  rmSync(scratch, { recursive: true, force: true });
  console.error(`build-package: ${message}`);
  process.exit(1);
}

rmSync(scratch, { recursive: true, force: true });
mkdirSync(dirname(scratch), { recursive: true });
const tsc = spawnSync(
  process.execPath,
  [
    require.resolve('typescript/bin/tsc'),
    '-p',
    join(source, 'tsconfig.lib.json'),
    '--outDir',
    scratch,
  ],
  { cwd: root, stdio: 'inherit' },
);
if (tsc.status !== 0) fail(`tsc failed (status ${tsc.status})`);

for (const file of ROOT_FILES) cpSync(join(source, file), join(scratch, file));
// The options reference that the package's README links to.
cpSync(join(root, 'docs/options.md'), join(scratch, 'docs/options.md'));
// The CI recipe's steps, which the README's workflow runs from node_modules.
cpSync(join(source, 'ci'), join(scratch, 'ci'), { recursive: true });
for (const file of files(join(source, 'src')))
  if (isAsset(file)) cpSync(file, join(scratch, relative(source, file)));

// Every path the manifests and package.json name must exist in the package.
const pkg = JSON.parse(readFileSync(join(scratch, 'package.json'), 'utf8'));
const wanted = [pkg.main, pkg.types, ...Object.values(pkg.bin ?? {})];
for (const target of Object.values(pkg.exports ?? {}))
  wanted.push(...(typeof target === 'string' ? [target] : Object.values(target)));
for (const manifest of ['executors.json', 'generators.json']) {
  const entries = Object.values(
    JSON.parse(readFileSync(join(scratch, manifest), 'utf8'))[manifest.replace('.json', '')],
  );
  for (const e of entries) wanted.push(`${e.implementation ?? e.factory}.js`, e.schema);
}
const missing = wanted.filter((p) => !existsSync(join(scratch, p)));
if (missing.length) fail(`the package lacks files it names: ${missing.join(', ')}`);

rmSync(out, { recursive: true, force: true });
renameSync(scratch, out);
console.log(`built ${relative(root, out)} (${pkg.name}@${pkg.version})`);
