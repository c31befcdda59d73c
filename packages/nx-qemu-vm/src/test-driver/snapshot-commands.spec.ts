// The guest's side of a snapshot, without a VM: the system calls' shapes,
// and the shell's slow way run for real on the host.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_SYSCALLS } from '../contract/host-guest';
import { clockAndSeedCalls, inUseCommand, mountCalls, unmountCalls } from './snapshot-commands';

const shares = [
  { tag: 'xchg', mountPoint: '/tmp/xchg', options: ['trans=virtio', 'msize=16384'] },
  { tag: 'data', mountPoint: '/srv/my data', options: ['trans=virtio', 'ro'] },
];

describe('snapshot system calls', () => {
  it('unmounts the last mounted share first, and mounts them in their order', () => {
    const nr = GUEST_SYSCALLS['x86_64-linux'];
    assert.deepEqual(unmountCalls('x86_64-linux', shares), [
      { call: nr.umount2, args: [Buffer.from('/srv/my data'), 0] },
      { call: nr.umount2, args: [Buffer.from('/tmp/xchg'), 0] },
    ]);
    const mounts = mountCalls('aarch64-linux', shares);
    assert.deepEqual(mounts[1], {
      call: GUEST_SYSCALLS['aarch64-linux'].mount,
      // "ro" is mount(2)'s MS_RDONLY flag, not an option of the file system.
      args: [
        Buffer.from('data'),
        Buffer.from('/srv/my data'),
        Buffer.from('9p'),
        1,
        Buffer.from('trans=virtio'),
      ],
    });
    assert.equal(mounts[0].args[3], 0);
  });

  it('refuses a NUL byte in a path', () => {
    assert.throws(
      () => unmountCalls('x86_64-linux', [{ ...shares[0], mountPoint: '/a\0b' }]),
      /NUL/,
    );
  });

  it("passes the host's time as the guest's struct timeval, then the seed", () => {
    const seed = Buffer.alloc(32, 1);
    const [clock, reseed] = clockAndSeedCalls('x86_64-linux', 1_796_380_736_073, seed);
    const timeval = clock.args[0] as Buffer;
    assert.equal(timeval.length, 16);
    assert.equal(timeval.readBigInt64LE(0), 1_796_380_736n);
    assert.equal(timeval.readBigInt64LE(8), 73_000n);
    assert.deepEqual(reseed, { call: 'reseed', args: [seed] });
    const small = clockAndSeedCalls('i686-linux', 1_000_500, seed)[0];
    assert.equal(small.call, GUEST_SYSCALLS['i686-linux'].settimeofday);
    assert.deepEqual(
      [(small.args[0] as Buffer).readInt32LE(0), (small.args[0] as Buffer).readInt32LE(4)],
      [1000, 500_000],
    );
    assert.throws(() => clockAndSeedCalls('x86_64-linux', -1, seed), /not a time/);
  });
});

describe("the shell's way for a share in use", () => {
  it('names the processes that use a directory, its name quoted', async () => {
    const dir = mkdtempSync(join(tmpdir(), "nxvm-snap '$(touch x)"));
    const holder = spawn('sleep', ['30'], { cwd: dir, stdio: 'ignore' });
    try {
      await new Promise((r) => holder.once('spawn', r));
      const r = spawnSync('sh', ['-c', inUseCommand([dir])], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`is in use by: .*${holder.pid} \\(sleep\\)`));
    } finally {
      holder.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is valid sh', () => {
    const r = spawnSync('sh', ['-n', '-c', inUseCommand(['/tmp/a b', "/c'd"])], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
  });
});
