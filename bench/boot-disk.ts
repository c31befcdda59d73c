// Boot-disk benchmark: our cold boot-disk build (throwaway VM, and the
// host-only path) and a cache hit, against libguestfs creating the same GPT
// and FAT on a 60 MiB image, side by side in one run.
// Usage: npm run bench:boot-disk [-- runs]   (default 3 runs each; medians and ratios)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTempWorkspace } from '../packages/nx-qemu-vm/test/helpers/temp-workspace';

const runs = Number(process.argv[2] ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time(argv: string[], cwd: string, env: Record<string, string> = {}): number {
  const start = process.hrtime.bigint();
  const res = spawnSync(argv[0], argv.slice(1), {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 900_000,
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (res.status !== 0)
    throw new Error(`${argv.join(' ')} failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
  return seconds;
}

const ws = createTempWorkspace(
  {
    machines: {
      vm: { graphics: false, useBootLoader: true, useEFIBoot: true },
      host: { graphics: false, useBootLoader: true, useEFIBoot: true, bootDiskBuilder: 'host' },
    },
  },
  'nx-qemu-vm-bench-',
);
const scratch = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-bench-gf-'));
const nxEnv = {
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_TUI: 'false',
  VM_ACCEL: process.env.VM_ACCEL ?? 'tcg',
};
const nx = (...args: string[]) => [
  process.execPath,
  join(ws.root, 'node_modules/nx/dist/bin/nx.js'),
  ...args,
];
try {
  execFileSync(
    nx('run-many', '-t', 'initrd', '-p', 'vm,host')[0],
    nx('run-many', '-t', 'initrd', '-p', 'vm,host').slice(1),
    { cwd: ws.root, env: { ...process.env, ...nxEnv }, stdio: 'ignore' },
  );
  const gfImage = join(scratch, 'gf.img');
  // guestfish does only the partition table and the file system: no boot loader, no files.
  const guestfish = [
    'guestfish',
    '-N',
    `${gfImage}=disk:60M`,
    '--',
    'part-init',
    '/dev/sda',
    'gpt',
    ':',
    'part-add',
    '/dev/sda',
    'p',
    '34',
    '2047',
    ':',
    'part-add',
    '/dev/sda',
    'p',
    '2048',
    '-34',
    ':',
    'part-set-gpt-type',
    '/dev/sda',
    '2',
    'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
    ':',
    'mkfs',
    'vfat',
    '/dev/sda2',
    'label:boot',
  ];
  const gfEnv = { LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };
  time(guestfish, scratch, gfEnv); // the first run builds libguestfs's appliance; not measured
  const results: Record<string, number[]> = { guestfish: [], vm: [], vmAll: [], host: [], hit: [] };
  for (let i = 0; i < runs; i++) {
    rmSync(gfImage, { force: true });
    results.guestfish.push(time(guestfish, scratch, gfEnv));
    // The step itself: its dependencies (config, initrd) stay cached, as when
    // only the disk's own inputs change. Before warm starts they were rebuilt every run.
    const step = (machine: string) =>
      nx('run', `${machine}:boot-disk`, '--skip-nx-cache', '--exclude-task-dependencies');
    results.vm.push(time(step('vm'), ws.root, nxEnv));
    // As first measured: the config and initrd rebuilt too (the initrd now also unpacks the kernel).
    results.vmAll.push(time(nx('run', 'vm:boot-disk', '--skip-nx-cache'), ws.root, nxEnv));
    results.host.push(time(step('host'), ws.root, nxEnv));
    results.hit.push(time(nx('run', 'vm:boot-disk'), ws.root, nxEnv));
  }
  const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
  const row = (label: string, key: string, note = '') =>
    console.log(
      `  ${label.padEnd(44)} median ${m[key].toFixed(2)} s   [${results[key].map((x) => x.toFixed(2)).join(' ')}]   ${(m[key] / m.guestfish).toFixed(2)}x guestfish${note}`,
    );
  console.log(
    `boot-disk benchmark: ${runs} runs each, TCG, ${cpus().length} x ${cpus()[0]?.model}`,
  );
  row('guestfish: GPT + FAT only (direct, TCG)', 'guestfish');
  row(
    'nx boot-disk, cold, throwaway VM (EFI)',
    'vm',
    ` (goal <= 0.80x: ${m.vm <= 0.8 * m.guestfish ? 'met' : 'missed'})`,
  );
  row('the same, config and initrd rebuilt too', 'vmAll');
  row('nx boot-disk, cold, host-only path (EFI)', 'host');
  row('nx boot-disk, cache hit', 'hit');
} finally {
  ws.remove();
  rmSync(scratch, { recursive: true, force: true });
}
