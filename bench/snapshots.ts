// Snapshots inside a test, side by side in one run, on a set of two Debian
// machines with systemd on one vlan (the machines the test API's users test
// with):
//   cold:     startMachines(['a', 'b']) until multi-user.target in both, as a test's setup waits
//   restore:  vms.restore(snapshot) of the same set, alone and with one command in each machine after it
//   snapshot: vms.snapshot() of the set, and the bytes each machine's state takes
// Rounds alternate: a cold start of a second set, then a restore and a snapshot of the first.
// Usage: npm run bench:snapshots [-- rounds]   (default 5)
import { cpus } from 'node:os';
import { startMachines, type MachineSet } from '../packages/nx-qemu-vm/src/test-driver';
import { createTempWorkspace } from '../packages/nx-qemu-vm/test/helpers/temp-workspace';
import { runMain } from './run-main';

const rounds = Number(process.argv[2] ?? 5);
process.env.VM_ACCEL ??= 'tcg';
const MIB = 1024 * 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const NAMES = ['a', 'b'] as const;
const machine = {
  init: 'systemd',
  graphics: false,
  memorySize: 512,
  vlans: [1],
  system: { from: 'debian', packages: ['systemd', 'curl', 'python3'] },
};

async function ready(vms: MachineSet<'a' | 'b'>): Promise<void> {
  await Promise.all(NAMES.map((n) => vms.machines[n].waitForUnit('multi-user.target')));
}

async function main() {
  const ws = createTempWorkspace(
    { machines: { a: machine, b: machine } },
    'nx-qemu-vm-bench-snap-',
  );
  try {
    console.log(`building the image (once): ${ws.root}`);
    const kept = await startMachines(NAMES, { workspaceRoot: ws.root });
    await ready(kept);
    const snapshot = await kept.snapshot();
    const cold: number[] = [];
    const restore: number[] = [];
    const restoreCall: number[] = [];
    const save: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let t0 = process.hrtime.bigint();
      const set = await startMachines(NAMES, { workspaceRoot: ws.root, build: false });
      await ready(set);
      cold.push(seconds(t0));
      await set.shutdown();

      // The restored machines answer a command: they run, agent and all.
      await kept.machines.a.succeed('echo changed > /root/changed');
      t0 = process.hrtime.bigint();
      await kept.restore(snapshot);
      restoreCall.push(seconds(t0));
      await Promise.all(NAMES.map((n) => kept.machines[n].succeed('test ! -e /root/changed')));
      restore.push(seconds(t0));

      t0 = process.hrtime.bigint();
      const extra = await kept.snapshot();
      save.push(seconds(t0));
      await kept.deleteSnapshot(extra);
      console.log(
        `round ${i + 1}: cold ${cold[i].toFixed(2)} s, restore ${restoreCall[i].toFixed(2)} s (${restore[i].toFixed(2)} s with a command), snapshot ${save[i].toFixed(2)} s`,
      );
    }
    await kept.shutdown();
    const c = median(cold);
    const r = median(restore);
    console.log(
      `\n${cpus().length} cores, ${process.env.VM_ACCEL}, ${rounds} rounds, two machines a set`,
    );
    console.log(`cold start to multi-user.target   median ${c.toFixed(2)} s   [${fmt(cold)}]`);
    const rc = median(restoreCall);
    console.log(
      `restore()                          median ${rc.toFixed(2)} s   [${fmt(restoreCall)}]   ${(rc / c).toFixed(3)}x cold, ${(rc / NAMES.length).toFixed(2)} s a machine`,
    );
    console.log(
      `restore + a command in each        median ${r.toFixed(2)} s   [${fmt(restore)}]   ${(r / c).toFixed(3)}x cold, ${(r / NAMES.length).toFixed(2)} s a machine`,
    );
    console.log(
      `snapshot                          median ${median(save).toFixed(2)} s   [${fmt(save)}]`,
    );
    for (const n of NAMES)
      console.log(`state of ${n}: ${(snapshot.machines[n].bytes / MIB).toFixed(1)} MiB`);
  } finally {
    ws.remove();
  }
}

runMain(main);
