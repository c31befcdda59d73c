// What Nx adds to `nx run vm:exec --command=true` once everything is cached,
// interleaved in one run so that a busy host slows every contender alike:
//  - `nx run vm:config`, a cache hit with no dependency: Nx's own floor;
//  - the exec script alone (dist/vm/vm/bin/exec-vm-vm true), what exec runs;
//  - `nx run vm:exec --exclude-task-dependencies`: the floor plus our executor;
//  - `nx run vm:exec --command=true`: the above plus its cached dependencies.
// overhead = exec - floor - script, the share of Nx and of our targets; it is
// taken in each round (whose contenders ran back to back) and its median shown.
// Each is timed twice over: wall clock, and CPU seconds (user + system of the
// command and every process it waited for, from /usr/bin/time, Debian package
// `time`), which a busy shared host disturbs far less.
// With --baseline=<git ref>, a second workspace runs the plugin as it was at
// that commit, its rounds interleaved with this tree's: before and after.
// With --installed, a second workspace runs the plugin as a team has it: the
// package built (tools/build-package.mjs) and laid out in node_modules with
// its dependencies, JavaScript that Nx loads without its TypeScript
// transpiler, its rounds interleaved with the sources' (the tests' workspace).
// Usage: npm run bench:nx-exec [-- rounds] [--baseline=<git ref> | --installed]   (default 7 rounds)
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import {
  NX_TEST_ENV,
  REPO_ROOT,
  type TempWorkspace,
  createTempWorkspace,
} from '../packages/nx-qemu-vm/test/helpers/temp-workspace';
import { runMain } from './run-main';

const args = process.argv.slice(2);
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 7);
const baseline = args.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length);
const installed = args.includes('--installed');
if (baseline && installed) throw new Error('--baseline and --installed: one or the other');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const env = { VM_ACCEL: process.env.VM_ACCEL ?? 'tcg' };
// The repository's own default machine (workspace-vm.json at the root).
const config = { machines: { vm: { graphics: false, memorySize: 512, warmStart: true } } };

/** Replaces the workspace's plugin with the package's files at `ref`, specs left out. */
function checkOut(ws: TempWorkspace, ref: string): void {
  const pkg = join(ws.root, 'packages/nx-qemu-vm');
  rmSync(join(pkg, 'src'), { recursive: true, force: true });
  const files = ['src', 'package.json', 'executors.json', 'generators.json'];
  const tar = join(ws.root, 'baseline.tar');
  execFileSync('git', [
    '-C',
    REPO_ROOT,
    'archive',
    '-o',
    tar,
    ref,
    ...files.map((f) => `packages/nx-qemu-vm/${f}`),
  ]);
  execFileSync('tar', ['-x', '-f', tar, '-C', ws.root]);
  rmSync(tar);
  const removeSpecs = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) removeSpecs(path);
      else if (entry.endsWith('.spec.ts')) rmSync(path);
    }
  };
  removeSpecs(join(pkg, 'src'));
}

/**
 * Replaces the workspace's plugin sources with the built package in
 * node_modules, as `npm install` leaves it: no project of the workspace, and
 * its own dependencies beside it.
 */
function install(ws: TempWorkspace): void {
  const built = join(REPO_ROOT, 'dist/packages/nx-qemu-vm');
  execFileSync(process.execPath, [join(REPO_ROOT, 'tools/build-package.mjs')], { stdio: 'ignore' });
  rmSync(join(ws.root, 'packages/nx-qemu-vm'), { recursive: true });
  const target = join(ws.root, 'node_modules/nx-qemu-vm');
  unlinkSync(target);
  cpSync(built, target, { recursive: true });
  cpSync(join(REPO_ROOT, 'packages/nx-qemu-vm/node_modules'), join(target, 'node_modules'), {
    recursive: true,
  });
}

type Row = 'floor' | 'script' | 'bare' | 'exec' | 'overhead';

interface Contender {
  label: string;
  ws: TempWorkspace;
  /** Wall-clock seconds, and CPU seconds (user + system, the program and all it waited for). */
  wall: Record<Row, number[]>;
  cpu: Record<Row, number[]>;
}

interface Timed {
  wall: number;
  cpu: number;
  output: string;
}

/** Runs a program under /usr/bin/time, which also counts the CPU of every process it waited for. */
function timed(ws: TempWorkspace, argv: string[], extraEnv: Record<string, string>): Timed {
  const times = join(ws.root, '.bench-times');
  const t0 = process.hrtime.bigint();
  const res = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', times, ...argv], {
    cwd: ws.root,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, ...extraEnv, ...env },
  });
  const wall = seconds(t0);
  const output = `${res.stdout}${res.stderr}`;
  if (res.status !== 0) throw new Error(`${argv.join(' ')} failed:\n${output}`);
  const [user, system] = readFileSync(times, 'utf8')
    .trim()
    .split('\n')
    .pop()!
    .split(' ')
    .map(Number);
  return { wall, cpu: user + system, output };
}

const nx = (ws: TempWorkspace, argv: string[]) =>
  timed(
    ws,
    [process.execPath, join(ws.root, 'node_modules/nx/dist/bin/nx.js'), ...argv],
    NX_TEST_ENV,
  );
const script = (ws: TempWorkspace) =>
  timed(ws, [join(ws.root, 'dist/vm/vm/bin/exec-vm-vm'), 'true'], {});

function round(c: Contender): void {
  const floor = nx(c.ws, ['run', 'vm:config']);
  const alone = script(c.ws);
  const bare = nx(c.ws, ['run', 'vm:exec', '--command=true', '--exclude-task-dependencies']);
  const exec = nx(c.ws, ['run', 'vm:exec', '--command=true']);
  const hits = /for (\d+) out of (\d+) tasks/.exec(exec.output);
  if (!hits || Number(hits[1]) !== Number(hits[2]) - 1)
    throw new Error(`${c.label}: exec's dependencies were not all cache hits:\n${exec.output}`);
  for (const kind of ['wall', 'cpu'] as const) {
    const rows = c[kind];
    rows.floor.push(floor[kind]);
    rows.script.push(alone[kind]);
    rows.bare.push(bare[kind]);
    rows.exec.push(exec[kind]);
    rows.overhead.push(exec[kind] - floor[kind] - alone[kind]);
  }
}

const emptyRows = (): Record<Row, number[]> => ({
  floor: [],
  script: [],
  bare: [],
  exec: [],
  overhead: [],
});

function report(c: Contender, base?: Contender): void {
  const medians = (rows: Record<Row, number[]>) =>
    Object.fromEntries(Object.entries(rows).map(([k, xs]) => [k, median(xs)]));
  const lines: [string, Row | 'executor' | 'deps'][] = [
    ['nx run vm:config (cache hit: the floor)', 'floor'],
    ['dist/vm/vm/bin/exec-vm-vm true (the script alone)', 'script'],
    ['nx run vm:exec --command=true --exclude-task-dependencies', 'bare'],
    ['nx run vm:exec --command=true', 'exec'],
    ['  our executor: exec alone - floor - script', 'executor'],
    ['  the cached dependencies: exec - exec alone', 'deps'],
    ['  overhead: exec - floor - script, per round (goal <= 0.5 s)', 'overhead'],
  ];
  const value = (x: Record<string, number>, key: Row | 'executor' | 'deps') =>
    key === 'executor' ? x.bare - x.floor - x.script : key === 'deps' ? x.exec - x.bare : x[key];
  console.log(`${c.label}${base ? ` (ratios against ${base.label})` : ''}:`);
  console.log(`${''.padEnd(62)} ${'wall'.padStart(7)}         ${'CPU'.padStart(7)}`);
  const [wall, cpu] = [medians(c.wall), medians(c.cpu)];
  const [baseWall, baseCpu] = base ? [medians(base.wall), medians(base.cpu)] : [];
  for (const [label, key] of lines) {
    const cell = (x: Record<string, number>, b?: Record<string, number>) =>
      `${value(x, key).toFixed(2).padStart(6)} s${b ? ` ${(value(x, key) / value(b, key)).toFixed(2).padStart(5)}x` : '       '}`;
    console.log(`${label.padEnd(62)} ${cell(wall, baseWall)}  ${cell(cpu, baseCpu)}`);
  }
  for (const [k, xs] of Object.entries(c.wall))
    console.log(`    wall ${k.padEnd(9)} ${xs.map((x) => x.toFixed(2)).join(' ')}`);
  console.log('');
}

/**
 * The baseline's time minus this tree's, round by round: the two ran back to
 * back, so a busy host shifts both alike, and the median of the differences
 * holds up where the medians above wander.
 */
function paired(base: Contender, c: Contender): void {
  console.log(`saved per round (${base.label} - ${c.label}), median [all rounds]:`);
  for (const kind of ['wall', 'cpu'] as const)
    for (const key of ['bare', 'exec', 'overhead'] as const) {
      const diffs = c[kind][key].map((x, i) => base[kind][key][i] - x);
      console.log(
        `  ${kind.padEnd(4)} ${key.padEnd(9)} ${median(diffs).toFixed(2).padStart(6)} s   [${diffs.map((d) => d.toFixed(2)).join(' ')}]`,
      );
    }
}

function main(): void {
  console.log(
    `nx-qemu-vm exec overhead: ${new Date().toISOString()}, ${cpus().length} x ${cpus()[0]?.model}, medians of ${rounds} interleaved rounds\n`,
  );
  const contenders: Contender[] = [];
  const add = (label: string, ref?: string) => {
    const ws = createTempWorkspace(config, 'nx-qemu-vm-bench-exec-');
    if (ref === 'installed') install(ws);
    else if (ref) checkOut(ws, ref);
    contenders.push({ label, ws, wall: emptyRows(), cpu: emptyRows() });
  };
  try {
    if (baseline) add(`baseline ${baseline}`, baseline);
    add(installed ? 'this tree, from its sources' : 'this tree');
    if (installed) add('this tree, installed (built package)', 'installed');
    for (const c of contenders) {
      const cold = nx(c.ws, ['run', 'vm:exec', '--command=true']).wall;
      console.log(
        `${c.label}: built from scratch (config, initrd, build, warm) and ran once in ${cold.toFixed(1)} s`,
      );
    }
    console.log('');
    for (let i = 0; i < rounds; i++) for (const c of contenders) round(c);
    const [first, second] = contenders;
    if (second) report(first);
    report(second ?? first, second ? first : undefined);
    if (second) paired(first, second);
  } finally {
    for (const c of contenders) c.ws.remove();
  }
}

runMain(() => Promise.resolve().then(main));
