// Faults of the host. A full disk under the guest, a broken root disk, a
// kernel that cannot be read, a missing EFI vars template, a QEMU that stops
// at once: each a clear error naming the file and what to do, with nothing
// started, and nothing else lost.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';
import { processesMentioning } from '../helpers/processes';

const ENV = { VM_ACCEL: 'tcg' };

describe('host faults', { timeout: 30 * 60_000 }, () => {
  let ws: VmWorkspace;
  let small: string;
  const nx = (...args: string[]) => ws.nx(args, { ...ENV, HOME: ws.root });
  const noQemu = () =>
    assert.deepEqual(
      processesMentioning(ws.root).filter((p) => p.command.startsWith('qemu-system')),
      [],
      'nothing was started',
    );

  before(() => {
    ws = createVmWorkspace({
      vm: { graphics: false },
      // Its disks live on a small file system that the test fills up.
      full: { graphics: false, diskImage: 'small/full.qcow2', diskSize: 256 },
      efi: { graphics: false, useBootLoader: true, useEFIBoot: true, bootDiskBuilder: 'host' },
      broken: { graphics: false, qemu: { options: ['-device no-such-device'] } },
    });
    small = join(ws.root, 'small');
    mkdirSync(small);
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', small], {
      encoding: 'utf8',
    });
    assert.equal(mount.status, 0, `this test mounts a tmpfs (as root): ${mount.stderr}`);
    ws.buildAll();
  });
  after(() => {
    spawnSync('umount', [small]);
    ws.remove();
  });

  it('a full disk: the guest sees I/O errors, the host says so, and after space is freed the machine boots and checks clean', () => {
    // Format the root disk first, then fill what is left of the file system beneath it.
    assert.equal(ws.exec('full', 'true').status, 0);
    const filler = join(small, 'filler');
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M', 'count=100'], { encoding: 'utf8' });
    const res = ws.exec(
      'full',
      'dd if=/dev/urandom of=/root/big bs=1M count=64 conv=fsync && echo wrote',
    );
    assert.notEqual(res.status, 0, res.stdout);
    assert.match(res.stderr, /the file system holding .*full\.qcow2 is full/);
    assert.match(ws.consoleLog('full'), /I\/O error/);
    rmSync(filler);
    const again = ws.exec('full', 'rm -f /root/big; echo booted', {
      QEMU_KERNEL_PARAMS: 'nxvm.fsck=check',
    });
    assert.equal(again.status, 0, again.stderr);
    // The first boot after the failure repairs the root (e2fsck -p in stage 1); this one finds it clean.
    const clean = ws.exec('full', 'true', { QEMU_KERNEL_PARAMS: 'nxvm.fsck=check' });
    assert.equal(clean.status, 0, clean.stderr);
    assert.match(ws.consoleLog('full'), /stage 1: e2fsck -fn .*: clean/);
    const check = spawnSync('qemu-img', ['check', join(small, 'full.qcow2')], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });

  it('a corrupt or truncated root disk: exec names it and says what to do, and starts nothing', () => {
    const disk = join(ws.root, '.vm/vm/vm.qcow2');
    assert.equal(nx('run', 'vm:root-disk').status, 0);
    // A qcow2 whose data lies past its end.
    assert.equal(ws.exec('vm', 'dd if=/dev/urandom of=/root/data bs=1M count=8; sync').status, 0);
    truncateSync(disk, Math.floor(statSync(disk).size / 2));
    const res = nx('run', 'vm:exec', '--command=true');
    assert.notEqual(res.status, 0);
    assert.match(res.output, /root disk \.vm\/vm\/vm\.qcow2 is damaged/);
    assert.match(res.output, /qemu-img check -r all/);
    noQemu();
    // Not a qcow2 at all.
    writeFileSync(disk, 'this is not a disk image');
    const garbage = nx('run', 'vm:exec', '--command=true');
    assert.match(garbage.output, /root disk \.vm\/vm\/vm\.qcow2 is not a qcow2 image/);
    noQemu();
  });

  it('a root disk that is a directory', () => {
    const disk = join(ws.root, '.vm/vm/vm.qcow2');
    rmSync(disk, { force: true });
    mkdirSync(disk);
    const res = nx('run', 'vm:exec', '--command=true');
    assert.notEqual(res.status, 0);
    assert.match(res.output, /root disk \.vm\/vm\/vm\.qcow2 is not a file/);
    noQemu();
    const script = ws.exec('vm', 'true');
    assert.notEqual(script.status, 0);
    assert.match(script.stderr, /root disk .*vm\.qcow2 is not a file/);
    rmSync(disk, { recursive: true });
  });

  it('a kernel that cannot be read', () => {
    const config = readFileSync(join(ws.root, 'workspace-vm.json'), 'utf8');
    mkdirSync(join(ws.root, 'kernels'), { recursive: true });
    try {
      ws.writeConfig({ machines: { vm: { graphics: false, kernel: join(ws.root, 'kernels') } } });
      const res = nx('run', 'vm:exec', '--command=true');
      assert.notEqual(res.status, 0);
      assert.match(res.output, /machines\.vm\.kernel = ".*kernels": is not a file/);
      noQemu();
    } finally {
      writeFileSync(join(ws.root, 'workspace-vm.json'), config);
    }
  });

  it('a missing EFI vars template', () => {
    const built = nx('run', 'efi:boot-disk');
    assert.equal(built.status, 0, built.output);
    rmSync(join(ws.root, 'dist/vm/efi/boot-disk/efi-vars.fd'));
    const res = nx('run', 'efi:efi-vars', '--skip-nx-cache', '--exclude-task-dependencies');
    assert.notEqual(res.status, 0);
    assert.match(res.output, /efi-vars\.fd is missing; build it first: npx nx run efi:boot-disk/);
    noQemu();
  });

  it('QEMU that exits at once: its own message and the console tail, not a timeout', () => {
    const started = Date.now();
    const res = ws.exec('broken', 'true', { VM_EXEC_TIMEOUT: '300' });
    assert.equal(res.status, 125, res.stderr);
    assert.match(res.stderr, /'no-such-device' is not a valid device model name/);
    assert.match(
      res.stderr,
      /the guest stopped before the command finished \(QEMU exit status 1\)/,
    );
    assert.ok(Date.now() - started < 60_000, 'no wait for the timeout');
  });
});
