// Nx integration benchmark, side by side in one run:
//  1. project graph creation for 100 machines, against the same workspace with none;
//  2. `nx run vm:boot-disk` built from scratch vs. served from the local cache;
//  3. a fresh clone served by the shared remote cache (nginx, tools/remote-cache) vs. building.
// Usage: npm run bench:nx [-- runs]   (default 5 runs of the quick measurements; prints medians and ratios)
import { cpus } from 'node:os';
import { createNodes } from '../packages/nx-qemu-vm/src/plugin/create-nodes';
import {
  createTempWorkspace,
  type TempWorkspace,
} from '../packages/nx-qemu-vm/test/helpers/temp-workspace';
import { startRemoteCacheServer } from '../packages/nx-qemu-vm/test/helpers/remote-cache-server';
import { runMain } from './run-main';

const runs = Number(process.argv[2] ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

function timeNx(ws: TempWorkspace, args: string[], env: Record<string, string> = {}): number {
  const t0 = process.hrtime.bigint();
  const res = ws.nx(args, env);
  const s = seconds(t0);
  if (res.status !== 0) throw new Error(`nx ${args.join(' ')} failed:\n${res.output}`);
  return s;
}

const machines = (n: number) =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [
      `m${i}`,
      { graphics: false, memorySize: 256 + i, useBootLoader: i % 2 === 0 },
    ]),
  );
const row = (label: string, value: number, unit: string, base?: number) =>
  console.log(
    `${label.padEnd(58)} ${value.toFixed(unit === 'ms' ? 1 : 2).padStart(8)} ${unit}${base ? `   ${(value / base).toFixed(2)}x` : ''}`,
  );

async function main() {
  console.log(
    `nx-qemu-vm Nx benchmark: ${new Date().toISOString()}, ${cpus().length} x ${cpus()[0]?.model}, medians of ${runs}\n`,
  );

  // 1. Graph creation. In process: our createNodes alone. Through Nx: `nx show projects`
  // with the project-graph cache off, so every run builds the graph.
  const hundred = createTempWorkspace({ machines: machines(100) }, 'nx-qemu-vm-bench-graph-');
  const empty = createTempWorkspace({ machines: {} }, 'nx-qemu-vm-bench-empty-');
  try {
    const [, build] = createNodes;
    const inProcess: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      const result = await build(['workspace-vm.json'], {}, {
        workspaceRoot: hundred.root,
        nxJsonConfiguration: {},
        configFiles: [],
      } as never);
      inProcess.push(seconds(t0) * 1000);
      const count = Object.keys(result[0]?.[1]?.projects ?? {}).length;
      if (count !== 100) throw new Error(`createNodes made ${count} projects, not 100`);
    }
    const noGraphCache = { NX_CACHE_PROJECT_GRAPH: 'false' };
    const withHundred: number[] = [];
    const withNone: number[] = [];
    for (let i = 0; i < runs; i++) {
      withNone.push(timeNx(empty, ['show', 'projects'], noGraphCache) * 1000);
      withHundred.push(timeNx(hundred, ['show', 'projects'], noGraphCache) * 1000);
    }
    const listed = hundred
      .nx(['show', 'projects'])
      .output.split('\n')
      .filter((l) => /^m\d+$/.test(l.trim())).length;
    if (listed !== 100) throw new Error(`nx show projects listed ${listed} machines, not 100`);
    console.log('1. project graph, 100 machines');
    row('createNodes for 100 machines, in process', median(inProcess), 'ms');
    row('nx show projects, no machines', median(withNone), 'ms');
    row('nx show projects, 100 machines', median(withHundred), 'ms', median(withNone));
    row('  cost of the 100 machines (goal < 200 ms)', median(withHundred) - median(withNone), 'ms');
  } finally {
    hundred.remove();
    empty.remove();
  }

  // 2 and 3. The default boot disk (built in a throwaway VM), from scratch, locally cached, and remotely cached.
  const config = { machines: { vm: { graphics: false, useBootLoader: true } } };
  const server = await startRemoteCacheServer();
  const a = createTempWorkspace(config, 'nx-qemu-vm-bench-a-');
  const b = createTempWorkspace(config, 'nx-qemu-vm-bench-b-');
  const env = { ...server.env(), VM_ACCEL: 'tcg' };
  try {
    const cold = timeNx(a, ['run', 'vm:boot-disk'], env);
    const local: number[] = [];
    for (let i = 0; i < runs; i++) local.push(timeNx(a, ['run', 'vm:boot-disk'], env));
    const remote = timeNx(b, ['run', 'vm:boot-disk'], env);
    const entries = server.entries().length;
    console.log('\n2. nx run vm:boot-disk (config, initrd, boot-disk; builder VM under TCG)');
    row('built from scratch (uploads to the remote cache)', cold, 's', cold);
    row('local cache hit', median(local), 's', cold);
    console.log('\n3. fresh clone, empty local cache');
    row(`remote cache hit (${entries} entries on the server; goal <= 3 s)`, remote, 's', cold);
  } finally {
    a.remove();
    b.remove();
    server.stop();
  }
}

runMain(main);
