// A user's disks survive everything Nx can do to a workspace: cache resets,
// forced rebuilds, config changes, run-many, and a second start while the
// machine runs. Proven with data written by a real guest and read back by another boot.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';
import { findImageUsers } from '../../src/disk/in-use';

const BOOT_ENV = { VM_ACCEL: 'tcg', VM_EXEC_TIMEOUT: '240' };

describe('stateful disks are never lost', () => {
  let ws: VmWorkspace;
  let rootDisk: string;
  let dataDisk: string;
  const machine = (extra: object = {}) => ({
    vm: { graphics: false, memorySize: 512, emptyDiskImages: [16], ...extra },
  });
  const nx = (...args: string[]) => ws.nx(args, { ...BOOT_ENV, HOME: ws.root });
  const fingerprint = (file: string) =>
    `${statSync(file).ino}:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;

  before(() => {
    ws = createVmWorkspace(machine());
    rootDisk = join(ws.root, '.vm/vm/vm.qcow2');
    dataDisk = join(ws.root, '.vm/vm/empty0.qcow2');
  });
  after(() => ws.remove());

  it('nx run vm:exec creates the disks (the run script does), and the guest writes to them', () => {
    const res = nx(
      'run',
      'vm:exec',
      '--command=echo precious > /root/keep; printf data-on-vdb > /dev/vdb; sync',
    );
    assert.equal(res.status, 0, res.output);
    assert.match(res.output, /created root disk \.vm\/vm\/vm\.qcow2/);
    assert.match(res.output, /created empty disk \.vm\/vm\/empty0\.qcow2/);
  });

  it('survives nx reset, forced rebuilds, run-many and config changes, and warns about a layout change without touching the disk', () => {
    const before = [fingerprint(rootDisk), fingerprint(dataDisk)];
    assert.equal(nx('reset').status, 0);
    let res = nx(
      'run-many',
      '-t',
      'config',
      'build',
      'initrd',
      'root-disk',
      'empty-disks',
      '--skip-nx-cache',
      '--output-style=static',
    );
    assert.equal(res.status, 0, res.output);
    assert.match(res.output, /root disk \.vm\/vm\/vm\.qcow2 exists; left as it is/);
    ws.writeConfig({
      machines: machine({ memorySize: 600, diskSize: 2048, emptyDiskImages: [32] }),
    });
    res = nx(
      'run-many',
      '-t',
      'build',
      'initrd',
      'root-disk',
      'empty-disks',
      '--output-style=static',
    );
    assert.equal(res.status, 0, res.output);
    assert.match(
      res.output,
      /warning: root disk \.vm\/vm\/vm\.qcow2 predates a change to its layout; it is left as it is:\s+- size \(MiB\): the disk has 512, the config says 2048/,
    );
    assert.match(
      res.output,
      /warning: empty disk \.vm\/vm\/empty0\.qcow2 predates a change to its layout[^\n]*\n\s+- size \(MiB\): the disk has 16, the config says 32/,
    );
    assert.deepEqual([fingerprint(rootDisk), fingerprint(dataDisk)], before);
  });

  it('refuses a second start while the machine runs, both in Nx and at QEMU', async () => {
    const first = ws.execAsync('vm', 'sleep 25; cat /root/keep', { ...BOOT_ENV });
    let users = findImageUsers(rootDisk);
    for (let i = 0; i < 300 && users.length === 0; i++) {
      await sleep(100);
      users = findImageUsers(rootDisk);
    }
    assert.equal(users.length, 1, 'the first VM has the root disk open');
    const second = nx('run', 'vm:start');
    assert.notEqual(second.status, 0);
    assert.match(
      second.output,
      new RegExp(`root disk \\S+ is in use: .*pid ${users[0].pid} \\(qemu-system-x86_64`),
    );
    assert.match(second.output, /stop that machine first/);
    // Past Nx, the run script's own lock on the image refuses too, naming the holder.
    const direct = spawnSync(join(ws.root, 'dist/vm/vm/bin/run-vm-vm'), ['-display', 'none'], {
      encoding: 'utf8',
      env: { ...process.env, ...BOOT_ENV },
      timeout: 60_000,
    });
    assert.notEqual(direct.status, 0);
    assert.match(
      direct.stderr,
      new RegExp(`root disk \\S+vm\\.qcow2 is in use: .*pid ${users[0].pid} \\(qemu-system-x86_64`),
    );
    assert.deepEqual(
      findImageUsers(rootDisk).map((u) => u.pid),
      [users[0].pid],
      'no second VM is running',
    );
    const done = await first;
    assert.equal(done.status, 0, done.stderr);
    assert.match(done.stdout, /precious/);
  });

  it('gives the data back to a later boot', () => {
    const res = ws.exec('vm', 'cat /root/keep; head -c 11 /dev/vdb', BOOT_ENV);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /precious/);
    assert.match(res.stdout, /data-on-vdb/);
  });
});
