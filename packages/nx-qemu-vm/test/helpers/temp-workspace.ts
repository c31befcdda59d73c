// A throwaway copy of this workspace for end-to-end tests: its own nx.json,
// workspace-vm.json, Nx cache and plugin copy, sharing node_modules by symlink.
// The plugin is copied rather than linked so that Nx sees its source inside
// the workspace, exactly as in this repository.
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

export const REPO_ROOT = join(__dirname, '../../../..');

/** Nx as the tests run it: no daemon, no cloud, plain output, the cache on. */
export const NX_TEST_ENV = {
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_TUI: 'false',
  CI: 'true',
  NX_SKIP_NX_CACHE: '',
};

export interface TempWorkspace {
  root: string;
  writeConfig(config: object): void;
  nx(args: string[], env?: Record<string, string>): { status: number | null; output: string };
  remove(): void;
}

export function createTempWorkspace(config: object, prefix = 'nx-qemu-vm-ws-'): TempWorkspace {
  const root = mkdtempSync(join(tmpdir(), prefix));
  for (const f of ['nx.json', 'package.json', 'tsconfig.base.json'])
    cpSync(join(REPO_ROOT, f), join(root, f));
  cpSync(join(REPO_ROOT, 'packages/nx-qemu-vm'), join(root, 'packages/nx-qemu-vm'), {
    recursive: true,
    // The plugin as it runs: its sources, without tests and fixtures, and not as
    // a project of the copy (its build target is this repository's business).
    filter: (src) =>
      !src.startsWith(join(REPO_ROOT, 'packages/nx-qemu-vm/test')) &&
      !src.endsWith('.spec.ts') &&
      src !== join(REPO_ROOT, 'packages/nx-qemu-vm/project.json'),
  });
  const modules = join(root, 'node_modules');
  mkdirSync(modules);
  for (const entry of readdirSync(join(REPO_ROOT, 'node_modules'))) {
    if (entry === 'nx-qemu-vm' || entry === '.package-lock.json') continue;
    symlinkSync(join(REPO_ROOT, 'node_modules', entry), join(modules, entry));
  }
  symlinkSync('../packages/nx-qemu-vm', join(modules, 'nx-qemu-vm'));
  const ws: TempWorkspace = {
    root,
    writeConfig: (c) =>
      writeFileSync(join(root, 'workspace-vm.json'), JSON.stringify(c, null, 2) + '\n'),
    nx(args, env = {}) {
      const res = spawnSync(
        process.execPath,
        [join(root, 'node_modules/nx/dist/bin/nx.js'), ...args],
        {
          cwd: root,
          encoding: 'utf8',
          timeout: 300_000,
          env: { ...process.env, ...NX_TEST_ENV, ...env },
        },
      );
      return { status: res.status, output: `${res.stdout}${res.stderr}` };
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
  ws.writeConfig(config);
  return ws;
}
