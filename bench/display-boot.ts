// Display boot benchmark: what a display (graphics: true) costs a boot. Two
// machines alike but for graphics, side by side in one run, interleaved:
//   exec-<m>-vm true, cold:  graphics: false (PVH)  vs  graphics: true (PVH: the
//     exec script shows no screen)  vs  graphics: true booted through the BIOS
//     (the unpacked kernel moved away: how every display machine booted before)
//   startMachines + succeed('true'), cold: graphics: false (PVH)  vs  graphics:
//     true (the BIOS: a test may read the screen)
// Usage: npm run bench:display-boot [-- runs]   (default 5 runs each; prints medians and ratios)
import { spawnSync } from 'node:child_process';
import { renameSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { startMachines } from '../packages/nx-qemu-vm/src/test-driver';
import { createTempWorkspace } from '../packages/nx-qemu-vm/test/helpers/temp-workspace';
import { runMain } from './run-main';

const runs = Number(process.argv[2] ?? 5);
process.env.VM_ACCEL ??= 'tcg';
// Cold boots only: a warm start restores a state whatever the boot was.
process.env.VM_WARM_START = '0';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

function timeExec(script: string): number {
  const start = process.hrtime.bigint();
  const res = spawnSync(script, ['true'], { encoding: 'utf8', timeout: 300_000 });
  const s = seconds(start);
  if (res.status !== 0)
    throw new Error(`${script} true failed (${res.status}, ${res.error}):\n${res.stderr}`);
  return s;
}

async function timeApi(root: string, name: string): Promise<number> {
  const start = process.hrtime.bigint();
  const vms = await startMachines([name], { workspaceRoot: root, build: false });
  await vms.machines[name].succeed('true');
  await vms.shutdown();
  return seconds(start);
}

async function main() {
  const machine = { memorySize: 512 };
  const ws = createTempWorkspace(
    {
      machines: { text: { ...machine, graphics: false }, display: { ...machine, graphics: true } },
    },
    'nx-qemu-vm-bench-display-',
  );
  try {
    const build = ws.nx(['run-many', '-t', 'build', 'initrd', 'prepare', '-p', 'text', 'display']);
    if (build.status !== 0) throw new Error(`prepare failed:\n${build.output}`);
    const exec = (m: string) => join(ws.root, `dist/vm/${m}/bin/exec-${m}-vm`);
    const vmlinux = join(ws.root, 'dist/vm/display/initrd/vmlinux');
    /** The display machine as it booted before: no unpacked kernel, so the run script boots the image. */
    const throughBios = <T>(f: () => T): T => {
      renameSync(vmlinux, `${vmlinux}.away`);
      try {
        return f();
      } finally {
        renameSync(`${vmlinux}.away`, vmlinux);
      }
    };
    const results: Record<string, number[]> = {
      text: [],
      display: [],
      displayBios: [],
      apiText: [],
      apiDisplay: [],
    };
    // The first boots format the root disks; not measured.
    timeExec(exec('text'));
    timeExec(exec('display'));
    for (let i = 0; i < runs; i++) {
      // Interleaved, so drift in the machine's load hits all alike.
      results.text.push(timeExec(exec('text')));
      results.display.push(timeExec(exec('display')));
      results.displayBios.push(throughBios(() => timeExec(exec('display'))));
      results.apiText.push(await timeApi(ws.root, 'text'));
      results.apiDisplay.push(await timeApi(ws.root, 'display'));
    }
    const m = Object.fromEntries(Object.entries(results).map(([k, xs]) => [k, median(xs)]));
    const row = (label: string, key: string, vs?: string) =>
      `  ${label.padEnd(48)} median ${m[key].toFixed(2)} s   [${fmt(results[key])}]${vs ? `   ${(m[key] / m[vs]).toFixed(2)}x graphics: false` : ''}`;
    console.log(
      `display boot benchmark: ${runs} runs each, cold, accel=${process.env.VM_ACCEL}, ${cpus().length} x ${cpus()[0]?.model}`,
    );
    console.log(row("exec 'true', graphics: false (PVH)", 'text'));
    console.log(row("exec 'true', graphics: true (PVH, no screen)", 'display', 'text'));
    console.log(row("exec 'true', graphics: true, through the BIOS", 'displayBios', 'text'));
    console.log(row("startMachines + succeed('true'), graphics: false", 'apiText'));
    console.log(row("startMachines + succeed('true'), graphics: true", 'apiDisplay', 'apiText'));
  } finally {
    ws.remove();
  }
}

runMain(main);
