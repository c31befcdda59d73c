#!/usr/bin/env node
// Runs every *.spec.ts under packages/ and tools/ with Node's test runner.
// Node 20 cannot glob test files itself, so we find them here.
// Usage: npm test [-- <path filter>...]   e.g. npm test -- golden
//        npm run test:unit [-- <path filter>...]   (--unit: the fast lane)
// The fast lane runs the specs beside the code and the tools' specs, but not
// those that boot a machine (named *.vm.spec.ts) nor the repository checks
// (type check, lint, format, which editors and `npm test` run): pure code, in
// well under a minute, for every change.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const unit = process.argv[2] === '--unit';
const filters = process.argv.slice(unit ? 3 : 2);
const UNIT_ROOTS = ['packages/nx-qemu-vm/src', 'tools'];
const inUnitLane = (file) =>
  UNIT_ROOTS.some((r) => file.startsWith(`${r}/`)) &&
  !file.endsWith('.vm.spec.ts') &&
  !file.endsWith('tools/repo-checks.spec.ts');

// The longest suites start first, the rest in path order: with two at a
// time, a long suite started last would run alone at the end with one core
// idle (package.spec.ts alone takes about a third of the whole run).
const START_FIRST = [
  'test/e2e/package.spec.ts',
  'test/e2e/remote-cache.spec.ts',
  'test/e2e/unprivileged.spec.ts',
  'test/e2e/image-systemd.spec.ts',
  'test/e2e/boot-disk.spec.ts',
  'test/e2e/running-machines.spec.ts',
];
const startRank = (file) => {
  const i = START_FIRST.findIndex((suffix) => file.endsWith(suffix));
  return i === -1 ? START_FIRST.length : i;
};

function* specs(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* specs(path);
    else if (entry.name.endsWith('.spec.ts')) yield relative(root, path);
  }
}

const files = ['packages', 'tools']
  .flatMap((d) => [...specs(join(root, d))])
  .filter((f) => !unit || inUnitLane(f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort((a, b) => startRank(a) - startRank(b) || a.localeCompare(b));
if (files.length === 0) {
  console.error(`no spec files match ${filters.join(' ')}`);
  process.exit(1);
}
// Two spec files at a time: most of the time goes to guests that use one core
// each. Unit specs use every core: each is a Node process compiling TypeScript.
const concurrency = unit ? availableParallelism() : 2;
const reporter = ['--test-reporter=spec', `--test-concurrency=${concurrency}`];
// A directory the spec files of this run share (test/helpers/shared-workspace.ts:
// one workspace for the NixOS ports, its image built once), gone after a run that passed.
const scratch = mkdtempSync(join(tmpdir(), 'nxqv-run-'));
const result = spawnSync(
  process.execPath,
  ['--require', '@swc-node/register', '--test', ...reporter, ...files],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      NX_DAEMON: 'false',
      NX_NO_CLOUD: 'true',
      NX_TUI: 'false',
      NXQV_RUN_SCRATCH: scratch,
    },
  },
);
// Kept after a failure: a failed test's artifacts (failure pages, console logs) are there.
if (result.status === 0) rmSync(scratch, { recursive: true, force: true });
else console.error(`kept for the failures' artifacts: ${scratch}`);
process.exit(result.status ?? 1);
