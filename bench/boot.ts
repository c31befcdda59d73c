// Boot benchmark: raw QEMU with a trivial initramfs vs. our exec
// script booting cold and starting warm (warmStart: the repository's vm has
// it) vs. `nx run vm:exec` vs. the test API's startMachines, cold and warm,
// same kernel, same accelerator, side by side in one run.
// Usage: npm run bench:boot [-- runs]   (default 5 runs each; prints medians and ratios)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCpio, gzipDeterministic } from '../packages/nx-qemu-vm/src/formats/cpio';
import { newestKernel } from '../packages/nx-qemu-vm/src/config/resolve';
import { readHostFacts } from '../packages/nx-qemu-vm/src/host/host-facts';
import { startMachines } from '../packages/nx-qemu-vm/src/test-driver';
import { runMain } from './run-main';

const runs = Number(process.argv[2] ?? 5);
const root = join(__dirname, '..');
const accel = process.env.VM_ACCEL ?? 'tcg';
const env = {
  ...process.env,
  VM_ACCEL: accel,
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_TUI: 'false',
};
function hostKernel(): string {
  const found = newestKernel(readHostFacts().kernels);
  if (!found) throw new Error('no kernel in /boot: apt-get install linux-image-amd64');
  return found;
}
const kernel = hostKernel();

function time(argv: string[], extraEnv: Record<string, string> = {}): number {
  const start = process.hrtime.bigint();
  const res = spawnSync(argv[0], argv.slice(1), {
    cwd: root,
    env: { ...env, ...extraEnv },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (res.status !== 0)
    throw new Error(`${argv.join(' ')} failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
  return seconds;
}

/** The test API as a test uses it: start the machine, run one command, stop it. */
async function timeStartMachines(warmStart: '0' | '1'): Promise<number> {
  process.env.VM_WARM_START = warmStart;
  const start = process.hrtime.bigint();
  const vms = await startMachines(['vm'], { workspaceRoot: root, build: false });
  await vms.machines.vm.succeed('true');
  await vms.shutdown();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-bench-'));
  try {
    // The baseline: the same kernel and console, an initramfs of busybox and a
    // three-line /init that prints and powers off. No disks, no shares, no modules.
    const busybox = readFileSync('/bin/busybox');
    const init =
      '#!/bin/busybox sh\n/bin/busybox mount -t devtmpfs devtmpfs /dev\necho hello > /dev/console\n/bin/busybox poweroff -f\n';
    const trivial = join(scratch, 'trivial.img');
    writeFileSync(
      trivial,
      gzipDeterministic(
        writeCpio([
          { path: 'bin/busybox', type: 'file', mode: 0o755, data: busybox },
          { path: 'init', type: 'file', mode: 0o755, data: Buffer.from(init) },
          { path: 'dev', type: 'dir' },
        ]),
      ),
    );
    const raw = [
      'qemu-system-x86_64',
      '-machine',
      'q35',
      '-accel',
      accel,
      '-cpu',
      'max',
      '-m',
      '384',
      '-nographic',
      '-no-reboot',
      '-serial',
      `file:${join(scratch, 'raw.log')}`,
      '-monitor',
      'none',
      '-kernel',
      kernel,
      '-initrd',
      trivial,
      '-append',
      'console=ttyS0,115200n8 panic=-1',
    ];

    // Make sure the scripts and initrd exist and are current (cache hits after the first time).
    execFileSync(
      process.execPath,
      [
        join(root, 'node_modules/nx/dist/bin/nx.js'),
        'run-many',
        '-t',
        'build',
        'initrd',
        'prepare',
        '-p',
        'vm',
      ],
      { cwd: root, env, stdio: 'ignore' },
    );
    const execScript = join(root, 'dist/vm/vm/bin/exec-vm-vm');
    // The same bare boot of the same kernel, unpacked by the initrd target and
    // entered through PVH as our run script does: the baseline without the
    // kernel's own decompression, for the ratios' sake.
    const pvhKernel = join(root, 'dist/vm/vm/initrd/vmlinux');
    const rawPvh = existsSync(pvhKernel)
      ? raw.map((a) => (a === kernel ? pvhKernel : a))
      : undefined;
    const nx = [
      process.execPath,
      join(root, 'node_modules/nx/dist/bin/nx.js'),
      'run',
      'vm:exec',
      '--command=true',
    ];

    // Nx with its daemon, as on a developer's machine (CI runs without it).
    execFileSync(
      process.execPath,
      [join(root, 'node_modules/nx/dist/bin/nx.js'), 'daemon', '--start'],
      { cwd: root, env: { ...env, NX_DAEMON: 'true' }, stdio: 'ignore' },
    );
    // Cold boots, as without warm starts; the Nx rows measure Nx's own cost over them.
    const cold = { VM_WARM_START: '0' };
    const results: Record<string, number[]> = {
      raw: [],
      rawPvh: [],
      script: [],
      warm: [],
      nxWarm: [],
      nx: [],
      nxNoIsolation: [],
      nxDaemon: [],
      apiCold: [],
      apiWarm: [],
    };
    time(execScript.split(' ').concat('true')); // first boot formats the root disk; not measured
    for (let i = 0; i < runs; i++) {
      // Interleaved, so drift in the machine's load hits all three alike.
      results.raw.push(time(raw));
      if (rawPvh) results.rawPvh.push(time(rawPvh));
      results.script.push(time([execScript, 'true'], cold));
      results.warm.push(time([execScript, 'true']));
      results.nx.push(time(nx, cold));
      // Nx's plugin isolation starts a worker process per plugin for the project graph.
      results.nxNoIsolation.push(time(nx, { ...cold, NX_ISOLATE_PLUGINS: 'false' }));
      results.nxDaemon.push(time(nx, { ...cold, NX_DAEMON: 'true' }));
      results.nxWarm.push(time(nx));
      results.apiCold.push(await timeStartMachines('0'));
      results.apiWarm.push(await timeStartMachines('1'));
    }
    execFileSync(
      process.execPath,
      [join(root, 'node_modules/nx/dist/bin/nx.js'), 'daemon', '--stop'],
      { cwd: root, env, stdio: 'ignore' },
    );
    const m = {
      raw: median(results.raw),
      rawPvh: rawPvh ? median(results.rawPvh) : NaN,
      script: median(results.script),
      warm: median(results.warm),
      nxWarm: median(results.nxWarm),
      nx: median(results.nx),
      nxNoIsolation: median(results.nxNoIsolation),
      nxDaemon: median(results.nxDaemon),
      apiCold: median(results.apiCold),
      apiWarm: median(results.apiWarm),
    };
    console.log(
      `boot benchmark: ${runs} runs each, accel=${accel}, kernel ${kernel}, ${cpus().length} x ${cpus()[0]?.model}`,
    );
    console.log(
      `  raw qemu, trivial initramfs   median ${m.raw.toFixed(2)} s   [${results.raw.map((x) => x.toFixed(2)).join(' ')}]`,
    );
    if (rawPvh)
      console.log(
        `  the same, unpacked kernel (PVH) median ${m.rawPvh.toFixed(2)} s   [${results.rawPvh.map((x) => x.toFixed(2)).join(' ')}]   ${(m.rawPvh / m.raw).toFixed(2)}x raw`,
      );
    const verdict = (met: boolean) => (met ? 'met' : 'missed');
    const row = (label: string, xs: number[], med: number) =>
      `  ${label.padEnd(36)} median ${med.toFixed(2)} s   [${xs.map((x) => x.toFixed(2)).join(' ')}]`;
    console.log(
      `${row("exec-vm-vm 'true', warm start", results.warm, m.warm)}   ${(m.warm / m.raw).toFixed(2)}x raw (goal <= 0.35x: ${verdict(m.warm <= 0.35 * m.raw)})`,
    );
    console.log(
      `${row('nx run vm:exec, warm start', results.nxWarm, m.nxWarm)}   ${(m.nxWarm / m.raw).toFixed(2)}x raw, warm script + ${(m.nxWarm - m.warm).toFixed(2)} s`,
    );
    console.log(
      `  exec-vm-vm 'true', cold boot  median ${m.script.toFixed(2)} s   [${results.script.map((x) => x.toFixed(2)).join(' ')}]   ${(m.script / m.raw).toFixed(2)}x raw (goal <= 1.10x: ${verdict(m.script <= 1.1 * m.raw)})${rawPvh ? `, ${(m.script / m.rawPvh).toFixed(2)}x raw PVH` : ''}`,
    );
    console.log(
      `  nx run vm:exec --command=true median ${m.nx.toFixed(2)} s   [${results.nx.map((x) => x.toFixed(2)).join(' ')}]   ${(m.nx / m.raw).toFixed(2)}x raw, script + ${(m.nx - m.script).toFixed(2)} s (goal <= script + 1.5 s: ${verdict(m.nx - m.script <= 1.5)})`,
    );
    console.log(
      `  the same, NX_ISOLATE_PLUGINS=false median ${m.nxNoIsolation.toFixed(2)} s   [${results.nxNoIsolation.map((x) => x.toFixed(2)).join(' ')}]   ${(m.nxNoIsolation / m.raw).toFixed(2)}x raw, script + ${(m.nxNoIsolation - m.script).toFixed(2)} s (${verdict(m.nxNoIsolation - m.script <= 1.5)})`,
    );
    console.log(
      `  the same with the Nx daemon    median ${m.nxDaemon.toFixed(2)} s   [${results.nxDaemon.map((x) => x.toFixed(2)).join(' ')}]   ${(m.nxDaemon / m.raw).toFixed(2)}x raw, script + ${(m.nxDaemon - m.script).toFixed(2)} s`,
    );
    console.log(
      `${row("startMachines + succeed('true'), warm", results.apiWarm, m.apiWarm)}   ${(m.apiWarm / m.raw).toFixed(2)}x raw, ${(m.apiWarm / m.apiCold).toFixed(2)}x cold (goal <= 0.35x raw: ${verdict(m.apiWarm <= 0.35 * m.raw)})`,
    );
    console.log(
      `${row("startMachines + succeed('true'), cold", results.apiCold, m.apiCold)}   ${(m.apiCold / m.raw).toFixed(2)}x raw`,
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

runMain(main);
