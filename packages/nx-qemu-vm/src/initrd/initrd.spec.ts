// The initrd is built from the real host files (busybox-static, e2fsprogs,
// the installed kernel's modules), so these tests show what a guest gets.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { validateConfig } from '../config/validate';
import { resolveMachine, type ResolvedMachine } from '../config/resolve';
import { readHostFacts } from '../host/host-facts';
import { buildInitrd, type InitrdResult } from './initrd';

const machine = (m: object): ResolvedMachine =>
  resolveMachine(
    'vm',
    1,
    validateConfig({ machines: { vm: { graphics: false, ...m } } }).machines.vm,
    readHostFacts(),
  );

describe('buildInitrd', () => {
  let first: InitrdResult;
  before(async () => {
    first = await buildInitrd(machine({}));
  });

  it('gives the same bytes for the same inputs', async () => {
    const second = await buildInitrd(machine({}));
    assert.ok(first.image.equals(second.image), 'two builds differ');
    const other = await buildInitrd(machine({ memorySize: 2048 }));
    assert.ok(first.image.equals(other.image), 'memorySize does not reach the initrd');
  });

  it('holds busybox, mke2fs and blkid with their libraries, the modules, both stages and the test agent', () => {
    const paths = first.manifest.split('\n').map((l) => l.split(' ')[0]);
    for (const p of [
      '/init',
      '/bin/busybox',
      '/sbin/mke2fs',
      '/sbin/blkid',
      '/nx-qemu-vm/stage-2-init',
      '/nx-qemu-vm/agent.pl',
      '/lib/modules/virtio_blk.ko',
      '/lib/modules/9pnet_virtio.ko',
      '/lib/modules/overlay.ko',
      '/lib/modules/ext4.ko',
    ])
      assert.ok(paths.includes(p), `${p} is missing`);
    assert.ok(paths.some((p) => /\/libext2fs\.so\.2$/.test(p)));
    assert.ok(paths.some((p) => /\/ld-linux-x86-64\.so\.2$/.test(p)));
    assert.ok(!paths.includes('/lib/modules/sym53c8xx.ko'), 'no SCSI driver for a virtio machine');
    assert.match(
      first.manifest,
      /^\/nx-qemu-vm\/etc-alternatives\/awk -> \/usr\/bin\/\w*awk$/m,
      "the host's alternatives come along",
    );
  });

  it('follows the config: SCSI driver for scsi, no overlay without a writable store', async () => {
    const scsi = (
      await buildInitrd(machine({ qemu: { diskInterface: 'scsi' }, writableStore: false }))
    ).manifest;
    assert.match(scsi, /^\/lib\/modules\/sym53c8xx\.ko /m);
    assert.doesNotMatch(scsi, /^\/lib\/modules\/overlay\.ko /m);
    assert.doesNotMatch(
      scsi,
      /^\/lib\/modules\/vfat\.ko /m,
      'FAT only when a vfat file system is mounted',
    );
    const fat = (
      await buildInitrd(
        machine({ fileSystems: { '/data': { device: '/dev/vdb', fsType: 'vfat' } } }),
      )
    ).manifest;
    assert.match(fat, /^\/lib\/modules\/vfat\.ko /m);
    assert.match(fat, /^\/lib\/modules\/nls_cp437\.ko /m);
  });

  it('is a gzip newc archive that cpio extracts, with an executable /init', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-initrd-'));
    try {
      const res = spawnSync('cpio', ['-idm', '--quiet'], {
        cwd: dir,
        input: gunzipSync(first.image),
      });
      assert.equal(res.status, 0, String(res.stderr));
      const init = spawnSync('sh', ['-c', 'test -x init && head -1 init'], {
        cwd: dir,
        encoding: 'utf8',
      });
      assert.equal(init.stdout, '#!/bin/busybox sh\n');
      assert.ok(readdirSync(join(dir, 'lib/modules')).length > 10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the Debian package when the kernel modules are missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-nomods-'));
    mkdirSync(join(empty, 'x'));
    try {
      await assert.rejects(
        buildInitrd(machine({}), { modulesRoot: empty }),
        /kernel modules for .* are missing .* apt-get install linux-image-/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
