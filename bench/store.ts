// Store benchmark, side by side in one run, on the same tree: a Debian
// image's /usr, read in the guest from
//   - the 9p store at the seed's msize (16 KiB),
//   - the 9p store at a larger msize (512 KiB),
//   - the erofs image on a read-only virtio disk (system.from "debian");
// and the cold build of the image (nx run vm:image) against mmdebstrap alone.
// The 9p machines share the image's tree, unpacked with fsck.erofs, so all
// three read the same files. Each guest reading starts from a fresh boot
// (cold guest caches). Usage: npm run bench:store [-- runs]   (default 3)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMachines } from '../packages/nx-qemu-vm/src/test-driver';
import { createTempWorkspace } from '../packages/nx-qemu-vm/test/helpers/temp-workspace';
import { runMain } from './run-main';

const runs = Number(process.argv[2] ?? 3);
process.env.VM_ACCEL ??= 'tcg';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
const now = () => Number(process.hrtime.bigint()) / 1e9; // s

// In the guest: seconds taken by a command, from the guest's own clock.
const timed = (command: string) =>
  `s=$(date +%s.%N); ${command} >/dev/null; e=$(date +%s.%N); echo "$s $e" | awk '{ printf "%.3f", $2 - $1 }'`;
const READS = {
  'tar c /usr/share | wc -c': 'tar c /usr/share 2>/dev/null | wc -c',
  'find /usr | wc -l': 'find /usr | wc -l',
};

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-bench-store-'));
  const tree = join(scratch, 'usr');
  const common = { graphics: false, writableStore: false, memorySize: 1024 };
  const ws = createTempWorkspace(
    {
      machines: {
        image: { ...common, system: { from: 'debian', packages: ['hello'] } },
        ninep16k: { ...common, store: { source: tree, target: '/usr' } },
        ninep512k: { ...common, msize: 524288, store: { source: tree, target: '/usr' } },
      },
    },
    'nx-qemu-vm-bench-',
  );
  try {
    // Cold image build against mmdebstrap alone, same packages, interleaved.
    const builds = { nx: [] as number[], mmdebstrap: [] as number[] };
    for (let i = 0; i < runs; i++) {
      let start = now();
      const built = ws.nx(['run', 'image:image', '--skip-nx-cache']);
      if (built.status !== 0) throw new Error(built.output);
      builds.nx.push(now() - start);
      start = now();
      const mm = spawnSync(
        'mmdebstrap',
        [
          '--variant=essential',
          '--include=busybox-static,e2fsprogs,hello,linux-image-amd64',
          '--format=null',
          'bookworm',
          '/dev/null',
        ],
        { stdio: 'ignore', env: { ...process.env, INITRD: 'No' } },
      );
      if (mm.status !== 0) throw new Error(`mmdebstrap: status ${mm.status}`);
      builds.mmdebstrap.push(now() - start);
    }
    const unpack = spawnSync(
      'fsck.erofs',
      [`--extract=${tree}`, join(ws.root, 'dist/vm/image/image/store.erofs')],
      { encoding: 'utf8' },
    );
    if (unpack.status !== 0) throw new Error(unpack.stderr);
    const prepared = ws.nx(['run-many', '-t', 'prepare', '--projects', 'image,ninep16k,ninep512k']);
    if (prepared.status !== 0) throw new Error(prepared.output);

    const names = ['ninep16k', 'ninep512k', 'image'] as const;
    const times: Record<string, Record<string, number[]>> = {};
    for (const read of Object.keys(READS))
      times[read] = Object.fromEntries(names.map((n) => [n, [] as number[]]));
    for (let i = 0; i < runs; i++)
      for (const name of names) {
        const vms = await startMachines([name], { workspaceRoot: ws.root, build: false });
        try {
          for (const [read, command] of Object.entries(READS)) {
            // Drop the guest's caches so that each reading goes to the store.
            await vms.machines[name].succeed('sync; echo 3 > /proc/sys/vm/drop_caches');
            times[read][name].push(Number(await vms.machines[name].succeed(timed(command))));
          }
        } finally {
          await vms.shutdown();
        }
      }

    console.log(
      `store benchmark: accel=${process.env.VM_ACCEL}, ${cpus().length} x ${cpus()[0]?.model}`,
    );
    const m = median;
    console.log(`cold image build, ${runs} runs each (s):`);
    console.log(
      `  mmdebstrap alone                    median ${m(builds.mmdebstrap).toFixed(1)}   [${fmt(builds.mmdebstrap)}]   1.00x`,
    );
    console.log(
      `  nx run vm:image (+ hook, erofs)      median ${m(builds.nx).toFixed(1)}   [${fmt(builds.nx)}]   ${(m(builds.nx) / m(builds.mmdebstrap)).toFixed(2)}x`,
    );
    for (const [read, byName] of Object.entries(times)) {
      console.log(`${read} in the guest, ${runs} boots each (s):`);
      const base = m(byName.ninep16k);
      const label = {
        ninep16k: '9p, msize 16 KiB (the seed)',
        ninep512k: '9p, msize 512 KiB',
        image: 'erofs image, virtio-blk',
      };
      for (const name of names)
        console.log(
          `  ${label[name].padEnd(34)} median ${m(byName[name]).toFixed(2)}   [${fmt(byName[name])}]   ${(m(byName[name]) / base).toFixed(2)}x`,
        );
    }
  } finally {
    ws.remove();
    rmSync(scratch, { recursive: true, force: true });
  }
}

runMain(main);
