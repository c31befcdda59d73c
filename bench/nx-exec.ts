// What Nx adds to `nx run vm:exec --command=true` once everything is cached,
// interleaved in one run so that a busy host slows every contender alike:
//  - `nx run vm:config`, a cache hit with no dependency: Nx's own floor;
//  - the exec script alone (dist/vm/vm/bin/exec-vm-vm true), what exec runs;
//  - `nx run vm:exec --exclude-task-dependencies`: the floor plus our executor;
//  - `nx run vm:exec --command=true`: the above plus its cached dependencies.
// overhead = exec - floor - script, the share of Nx and of our targets; it is
// taken in each round (whose contenders ran back to back) and its median shown.
// With --baseline=<git ref>, a second workspace runs the plugin as it was at
// that commit, its rounds interleaved with this tree's: before and after.
// Usage: npm run bench:nx-exec [-- rounds] [--baseline=<git ref>]   (default 7 rounds)
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import {
  REPO_ROOT,
  type TempWorkspace,
  createTempWorkspace,
} from '../packages/nx-qemu-vm/test/helpers/temp-workspace';
import { runMain } from './run-main';

const args = process.argv.slice(2);
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 7);
const baseline = args.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length);
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
  const tar = execFileSync('git', [
    '-C',
    REPO_ROOT,
    'archive',
    ref,
    ...files.map((f) => `packages/nx-qemu-vm/${f}`),
  ]);
  execFileSync('tar', ['-x', '-C', ws.root], { input: tar });
  const removeSpecs = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) removeSpecs(path);
      else if (entry.endsWith('.spec.ts')) rmSync(path);
    }
  };
  removeSpecs(join(pkg, 'src'));
}

interface Contender {
  label: string;
  ws: TempWorkspace;
  rows: Record<'floor' | 'script' | 'bare' | 'exec' | 'overhead', number[]>;
}

function nx(ws: TempWorkspace, argv: string[]): { s: number; output: string } {
  const t0 = process.hrtime.bigint();
  const res = ws.nx(argv, env);
  const s = seconds(t0);
  if (res.status !== 0) throw new Error(`nx ${argv.join(' ')} failed:\n${res.output}`);
  return { s, output: res.output };
}

function script(ws: TempWorkspace): number {
  const t0 = process.hrtime.bigint();
  const res = spawnSync(join(ws.root, 'dist/vm/vm/bin/exec-vm-vm'), ['true'], {
    cwd: ws.root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  const s = seconds(t0);
  if (res.status !== 0) throw new Error(`exec-vm-vm true failed:\n${res.stdout}${res.stderr}`);
  return s;
}

function round(c: Contender): void {
  const floor = nx(c.ws, ['run', 'vm:config']).s;
  const alone = script(c.ws);
  c.rows.bare.push(nx(c.ws, ['run', 'vm:exec', '--command=true', '--exclude-task-dependencies']).s);
  const exec = nx(c.ws, ['run', 'vm:exec', '--command=true']);
  const hits = /for (\d+) out of (\d+) tasks/.exec(exec.output);
  if (!hits || Number(hits[1]) !== Number(hits[2]) - 1)
    throw new Error(`${c.label}: exec's dependencies were not all cache hits:\n${exec.output}`);
  c.rows.floor.push(floor);
  c.rows.script.push(alone);
  c.rows.exec.push(exec.s);
  c.rows.overhead.push(exec.s - floor - alone);
}

function report(c: Contender, base?: Contender): void {
  const m = (c2: Contender) =>
    Object.fromEntries(Object.entries(c2.rows).map(([k, xs]) => [k, median(xs)]));
  const mine = m(c);
  const theirs = base && m(base);
  const row = (label: string, key: keyof Contender['rows'] | 'executor' | 'deps') => {
    const value = (x: Record<string, number>) =>
      key === 'executor' ? x.bare - x.floor - x.script : key === 'deps' ? x.exec - x.bare : x[key];
    const v = value(mine);
    const ratio = theirs ? `   ${(v / value(theirs)).toFixed(2)}x ${base!.label}` : '';
    console.log(`${label.padEnd(64)} ${v.toFixed(2).padStart(6)} s${ratio}`);
  };
  console.log(`${c.label}:`);
  row('nx run vm:config (cache hit: the floor)', 'floor');
  row('dist/vm/vm/bin/exec-vm-vm true (the script alone)', 'script');
  row('nx run vm:exec --command=true --exclude-task-dependencies', 'bare');
  row('nx run vm:exec --command=true', 'exec');
  row('  our executor: exec alone - floor - script', 'executor');
  row('  the cached dependencies: exec - exec alone', 'deps');
  row('  overhead: exec - floor - script, per round (goal <= 0.5 s)', 'overhead');
  for (const [k, xs] of Object.entries(c.rows))
    console.log(`    ${k.padEnd(9)} ${xs.map((x) => x.toFixed(2)).join(' ')}`);
  console.log('');
}

async function main() {
  console.log(
    `nx-qemu-vm exec overhead: ${new Date().toISOString()}, ${cpus().length} x ${cpus()[0]?.model}, medians of ${rounds} interleaved rounds\n`,
  );
  const contenders: Contender[] = [];
  const add = (label: string, ref?: string) => {
    const ws = createTempWorkspace(config, 'nx-qemu-vm-bench-exec-');
    if (ref) checkOut(ws, ref);
    contenders.push({
      label,
      ws,
      rows: { floor: [], script: [], bare: [], exec: [], overhead: [] },
    });
  };
  try {
    if (baseline) add(`baseline ${baseline}`, baseline);
    add('this tree');
    for (const c of contenders) {
      const cold = nx(c.ws, ['run', 'vm:exec', '--command=true']).s;
      console.log(
        `${c.label}: built from scratch (config, initrd, build, warm) and ran once in ${cold.toFixed(1)} s`,
      );
    }
    console.log('');
    for (let i = 0; i < rounds; i++) for (const c of contenders) round(c);
    const [first, second] = contenders;
    if (second) report(first);
    report(second ?? first, second ? first : undefined);
  } finally {
    for (const c of contenders) c.ws.remove();
  }
}

runMain(main);
