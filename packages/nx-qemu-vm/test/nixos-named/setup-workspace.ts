// Makes a throwaway workspace for the NixOS ports: this folder's
// workspace-vm.json, the plugin as this checkout has it, and every machine's
// `prepare` built (one shared Debian image), then prints the workspace's root
// for NXQV_NAMED_WORKSPACE. See README.md in this folder.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NX_TEST_ENV, createTempWorkspace } from '../helpers/temp-workspace';

const config = JSON.parse(readFileSync(join(__dirname, 'workspace-vm.json'), 'utf8'));
// Editors in this repository find the schema relative to this folder; the
// workspace finds it in its node_modules.
config.$schema = './node_modules/nx-qemu-vm/workspace-vm.schema.json';
const ws = createTempWorkspace(config, 'nxqv-nixos-named-');
// Nx's output goes to stderr, the workspace's root alone to stdout. No time
// limit: the first image build alone takes minutes under load.
const nx = join(ws.root, 'node_modules/nx/dist/bin/nx.js');
const projects = Object.keys(config.machines).join(',');
const built = spawnSync(
  process.execPath,
  [nx, 'run-many', '-t', 'prepare', '--projects', projects],
  {
    cwd: ws.root,
    stdio: ['ignore', 2, 2],
    env: { ...process.env, ...NX_TEST_ENV, VM_ACCEL: 'tcg' },
  },
);
if (built.status !== 0) {
  process.stderr.write(`\nprepare failed; the workspace is kept at ${ws.root}\n`);
  process.exit(1);
}
process.stdout.write(`${ws.root}\n`);
