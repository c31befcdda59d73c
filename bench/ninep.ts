// 9p sweep, side by side in one guest: the same tree read over
// 9p at each msize and cache mode, and from an erofs image of it on a
// read-only virtio disk (the store of declared systems). The tree is a
// copy of the host's man pages, time zones and perl5 modules (about 25,000
// entries) plus one 64 MiB file. For each
// reading the share is mounted afresh with those options and the guest's
// caches are dropped, so every reading goes to the host; the guest's clock
// times it. Usage: npm run bench:ninep [-- runs]   (default 3)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMachines } from '../packages/nx-qemu-vm/src/test-driver';
import { createTempWorkspace } from '../packages/nx-qemu-vm/test/helpers/temp-workspace';
import { runMain } from './run-main';

const runs = Number(process.argv[2] ?? 3);
process.env.VM_ACCEL ??= 'tcg';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');

const READS = {
  'cat big.bin (64 MiB, sequential)': 'cat /mnt/t/big.bin',
  'find over the tree': 'find /mnt/t',
  'tar of zoneinfo and perl5 (small files)':
    'tar c /mnt/t/share/zoneinfo /mnt/t/share/perl5 2>/dev/null | wc -c',
};
// The seed's 16 KiB and Linux's default of 512 KiB; cache=none is the default,
// loose what the host store uses (read-only), mmap a middle way. (fscache
// needs cachefilesd in the guest.)
const MOUNTS = [
  ...[16384, 131072, 524288].flatMap((msize) =>
    ['none', 'mmap', 'loose'].map((cache) => ({
      label: `9p msize ${msize / 1024} KiB, cache=${cache}`,
      mount: `mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=${msize},cache=${cache} tree /mnt/t`,
    })),
  ),
  { label: 'erofs image, virtio-blk', mount: 'mount -t erofs -o ro /dev/vdb /mnt/t' },
];
// In the guest: seconds taken by a command, by the guest's own clock.
const timed = (command: string) =>
  `s=$(date +%s.%N); ${command} >/dev/null; e=$(date +%s.%N); echo "$s $e" | awk '{ printf "%.3f", $2 - $1 }'`;

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-bench-9p-'));
  const tree = join(scratch, 'tree');
  mkdirSync(join(tree, 'share'), { recursive: true });
  for (const dir of ['man', 'perl5', 'zoneinfo'])
    execFileSync('cp', ['-a', `/usr/share/${dir}`, join(tree, 'share')]);
  execFileSync('dd', ['if=/dev/urandom', `of=${join(tree, 'big.bin')}`, 'bs=1M', 'count=64'], {
    stdio: 'ignore',
  });
  const image = join(scratch, 'tree.erofs');
  execFileSync('mkfs.erofs', ['-zlz4hc', '--quiet', image, tree], { stdio: 'ignore' });
  const files = execFileSync('sh', ['-c', `find ${tree} | wc -l; du -sm ${tree} | cut -f1`], {
    encoding: 'utf8',
  }).split('\n');

  const ws = createTempWorkspace(
    {
      machines: {
        vm: {
          graphics: false,
          memorySize: 1024,
          // Mounted by the bench with each option set; the tag is what counts.
          sharedDirectories: { tree: { source: tree, target: '/mnt/boot-tree', readOnly: true } },
          qemu: { drives: [{ file: image, format: 'raw', driveExtraOpts: { readonly: 'on' } }] },
        },
      },
    },
    'nx-qemu-vm-bench-',
  );
  try {
    const times = Object.fromEntries(
      Object.keys(READS).map((r) => [r, MOUNTS.map(() => [] as number[])]),
    );
    const vms = await startMachines(['vm'], { workspaceRoot: ws.root });
    const vm = vms.machines.vm;
    try {
      await vm.succeed('umount /mnt/boot-tree; mkdir -p /mnt/t');
      for (let i = 0; i < runs; i++)
        for (const [m, { mount }] of MOUNTS.entries())
          for (const [read, command] of Object.entries(READS)) {
            await vm.succeed(`${mount} && sync && echo 3 > /proc/sys/vm/drop_caches`);
            times[read][m].push(Number(await vm.succeed(timed(command), { timeout: 600 })));
            await vm.succeed('umount /mnt/t');
          }
    } finally {
      await vms.shutdown();
    }
    console.log(
      `9p sweep: ${runs} runs each, accel=${process.env.VM_ACCEL}, ${cpus().length} x ${cpus()[0]?.model}; tree of ${files[0]} entries, ${files[1]} MiB`,
    );
    for (const [read, byMount] of Object.entries(times)) {
      console.log(`${read} (s, ratio to 9p 16 KiB cache=none, the seed's default):`);
      const base = median(byMount[0]);
      MOUNTS.forEach(({ label }, m) =>
        console.log(
          `  ${label.padEnd(34)} median ${median(byMount[m]).toFixed(2)}   [${fmt(byMount[m])}]   ${(median(byMount[m]) / base).toFixed(2)}x`,
        ),
      );
    }
  } finally {
    ws.remove();
    rmSync(scratch, { recursive: true, force: true });
  }
}

runMain(main);
