// Ready states (warmStart "ready") against cold starts, side by side in one
// run, on the machine teams test with: Debian with systemd and nginx, the
// test waiting for its port.
//   cold:  startMachines(['cold']) until port 80 is open (warmStart false)
//   ready: startMachines(['ready']) until port 80 is open, from the ready state
//          (saved compressed, read back through zstd)
//   plain: the same from an uncompressed state (the bench decompresses a
//          third machine's in place: the restore reads either)
// The machines have the same system (one image). Rounds alternate.
// Usage: npm run bench:ready-states [-- rounds]   (default 5)
import { cpus } from 'node:os';
import { readdirSync, renameSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
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

type Name = 'cold' | 'ready' | 'plain';

async function untilPort80(root: string, name: Name): Promise<number> {
  const t0 = process.hrtime.bigint();
  const vms = await startMachines([name], { workspaceRoot: root, build: false });
  await vms.machines[name].waitForOpenPort(80);
  const took = seconds(t0);
  await vms.shutdown();
  return took;
}

async function main() {
  const ws = createTempWorkspace(
    {
      machines: {
        cold: machine,
        ready: { ...machine, warmStart: 'ready' },
        plain: { ...machine, warmStart: 'ready' },
      },
    },
    'nx-qemu-vm-bench-ready-',
  );
  try {
    console.log(`building the image and the ready state (once): ${ws.root}`);
    const built = await startMachines(['cold', 'ready', 'plain'], {
      workspaceRoot: ws.root,
      start: false,
    });
    await built.shutdown();
    const plainState = join(ws.root, 'dist/vm/plain/warm/ready-state');
    execFileSync('zstd', ['-q', '-d', plainState, '-o', `${plainState}.raw`]);
    renameSync(`${plainState}.raw`, plainState);
    const times: Record<Name, number[]> = { cold: [], ready: [], plain: [] };
    for (let i = 0; i < rounds; i++) {
      const order: Name[] = i % 2 ? ['plain', 'ready', 'cold'] : ['cold', 'ready', 'plain'];
      for (const name of order) times[name].push(await untilPort80(ws.root, name));
      console.log(
        `round ${i + 1}: ${(['cold', 'ready', 'plain'] as const).map((n) => `${n} ${times[n][i].toFixed(2)} s`).join(', ')}`,
      );
    }
    const { cold, ready, plain } = times;
    const c = median(cold);
    const r = median(ready);
    console.log(`\n${cpus().length} cores, ${process.env.VM_ACCEL}, ${rounds} rounds`);
    console.log(`cold start to port 80    median ${c.toFixed(2)} s   [${fmt(cold)}]`);
    console.log(
      `ready state to port 80   median ${r.toFixed(2)} s   [${fmt(ready)}]   ${(r / c).toFixed(3)}x cold`,
    );
    const p = median(plain);
    console.log(
      `uncompressed, to port 80 median ${p.toFixed(2)} s   [${fmt(plain)}]   ${(p / c).toFixed(3)}x cold, compressed/uncompressed ${(r / p).toFixed(2)}`,
    );
    for (const name of ['ready', 'plain']) {
      const dir = join(ws.root, `dist/vm/${name}/warm`);
      console.log(`\ndisk use of ${name}'s warm target:`);
      for (const f of readdirSync(dir).sort()) {
        const st = statSync(join(dir, f));
        console.log(
          `  ${f.padEnd(36)} ${(st.size / 2 ** 20).toFixed(1).padStart(8)} MiB apparent, ${((st.blocks * 512) / 2 ** 20).toFixed(1).padStart(8)} MiB on disk`,
        );
      }
    }
  } finally {
    if (process.env.BENCH_KEEP === '1') console.log(`kept ${ws.root}`);
    else ws.remove();
  }
}

runMain(main);
