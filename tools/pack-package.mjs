#!/usr/bin/env node
// Packs the built package (dist/packages/nx-qemu-vm) into
// dist/pack/nx-qemu-vm-<version>.tgz, the only tarball there, and prints its path.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const built = join(root, 'dist/packages/nx-qemu-vm');
const dest = join(root, 'dist/pack');

rmSync(dest, { recursive: true, force: true });
mkdirSync(dest, { recursive: true });
// --ignore-scripts: the package has none, and a pack must not run code.
const [result] = JSON.parse(
  execFileSync('npm', ['pack', built, '--pack-destination', dest, '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
);
const tarballs = readdirSync(dest);
if (tarballs.length !== 1 || tarballs[0] !== result.filename) {
  console.error(
    `pack-package: expected only ${result.filename} in ${dest}, found ${tarballs.join(', ')}`,
  );
  process.exit(1);
}
console.log(`${result.entryCount} files, ${(result.size / 1024).toFixed(0)} KiB packed`);
console.log(relative(root, join(dest, result.filename)));
