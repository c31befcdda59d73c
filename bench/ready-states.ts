// Ready states (warmStart "ready") against cold starts, side by side in one
// run, on the machine teams test with: Debian with systemd and nginx, the
// test waiting for its port.
//   cold:  startMachines(['cold']) until port 80 is open (warmStart false)
//   ready: startMachines(['ready']) until port 80 is open, from the ready state
// Both machines have the same system (one image). Rounds alternate.
// Usage: npm run bench:ready-states [-- rounds]   (default 5)
import { cpus } from 'node:os';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startMachines } from '../packages/nx-qemu-vm/src/test-driver';
import { createTempWorkspace } from '../packages/nx-qemu-vm/test/helpers/temp-workspace';
import { runMain } from './run-main';

const rounds = Number(process.argv[2] ?? 5);
process.env.VM_ACCEL ??= 'tcg';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const machine = {
  init: 'systemd',
  graphics: false,
  memorySize: 512,
  system: { from: 'debian', packages: ['systemd', 'nginx'] },
};

async function untilPort80(root: string, name: 'cold' | 'ready'): Promise<number> {
  const t0 = process.hrtime.bigint();
  const vms = await startMachines([name], { workspaceRoot: root, build: false });
  await vms.machines[name].waitForOpenPort(80);
  const took = seconds(t0);
  await vms.shutdown();
  return took;
}

async function main() {
  const ws = createTempWorkspace(
    { machines: { cold: machine, ready: { ...machine, warmStart: 'ready' } } },
    'nx-qemu-vm-bench-ready-',
  );
  try {
    console.log(`building the image and the ready state (once): ${ws.root}`);
    const built = await startMachines(['cold', 'ready'], { workspaceRoot: ws.root, start: false });
    await built.shutdown();
    const cold: number[] = [];
    const ready: number[] = [];
    for (let i = 0; i < rounds; i++) {
      cold.push(await untilPort80(ws.root, 'cold'));
      ready.push(await untilPort80(ws.root, 'ready'));
      console.log(`round ${i + 1}: cold ${cold[i].toFixed(2)} s, ready ${ready[i].toFixed(2)} s`);
    }
    const c = median(cold);
    const r = median(ready);
    console.log(`\n${cpus().length} cores, ${process.env.VM_ACCEL}, ${rounds} rounds`);
    console.log(`cold start to port 80    median ${c.toFixed(2)} s   [${fmt(cold)}]`);
    console.log(
      `ready state to port 80   median ${r.toFixed(2)} s   [${fmt(ready)}]   ${(r / c).toFixed(3)}x cold`,
    );
    const dir = join(ws.root, 'dist/vm/ready/test-warm');
    console.log('\ndisk use of the warm target:');
    for (const f of readdirSync(dir).sort()) {
      const st = statSync(join(dir, f));
      console.log(
        `  ${f.padEnd(28)} ${(st.size / 2 ** 20).toFixed(1).padStart(8)} MiB apparent, ${((st.blocks * 512) / 2 ** 20).toFixed(1).padStart(8)} MiB on disk`,
      );
    }
  } finally {
    if (process.env.BENCH_KEEP === '1') console.log(`kept ${ws.root}`);
    else ws.remove();
  }
}

runMain(main);
