// Boot disks built in a throwaway VM and on the host, booted for real by
// SeaBIOS and by OVMF through GRUB; the alternative BIOS; reproducibility.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';
import { readVariables } from '../../src/disk/efi-vars';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const out = (s: string) => s.replace(/\r/g, '');
// An EFI variable the guest writes in one boot and reads in the next.
// A vendor GUID of our own: the EFI global namespace only takes variables the spec defines.
const VAR = '/sys/firmware/efi/efivars/NxQemuVmTest-4f1e1a5a-3c8d-4d0a-9a8b-6e5a2c7d9b10';

describe('boot disk', { timeout: 1_800_000 }, () => {
  let ws: VmWorkspace;
  const machines = {
    bios: { graphics: false, useBootLoader: true },
    efi: { graphics: false, useBootLoader: true, useEFIBoot: true },
    hostbios: { graphics: false, useBootLoader: true, bootDiskBuilder: 'host' },
    hostefi: { graphics: false, useBootLoader: true, useEFIBoot: true, bootDiskBuilder: 'host' },
    qboot: { graphics: false, bios: '/usr/share/qemu/qboot.rom' },
  };
  before(() => {
    ws = createVmWorkspace(machines);
    const res = ws.nx([
      'run-many',
      '-t',
      'build',
      'initrd',
      'boot-disk',
      '--projects',
      Object.keys(machines).join(','),
    ]);
    assert.equal(res.status, 0, res.output);
  });
  after(() => ws.remove());

  const bootedThroughGrub = (machine: string, firmware: RegExp) => {
    const res = ws.exec(
      machine,
      'cat /proc/cmdline; awk \'$2 == "/boot" { print $1, $3 }\' /proc/mounts; ls -1 /boot/kernels',
    );
    assert.equal(res.status, 0, res.stderr);
    const [cmdline, boot, ...kernels] = out(res.stdout).trim().split('\n');
    assert.match(cmdline, /^BOOT_IMAGE=\/kernels\/bzImage /, 'GRUB loaded the kernel');
    assert.match(cmdline, /init=\/run\/nx-qemu-vm\/init/);
    assert.equal(boot, '/dev/vdb2 vfat', "/boot is the boot disk's FAT partition");
    assert.deepEqual(kernels, ['bzImage', 'initrd']);
    assert.match(ws.consoleLog(machine), firmware);
  };

  it('boots SeaBIOS, GRUB and the kernel from a disk built in a VM', () =>
    bootedThroughGrub('bios', /SeaBIOS/));
  it('boots the same way from a disk built on the host', () =>
    bootedThroughGrub('hostbios', /SeaBIOS/));

  it('boots OVMF, GRUB and the kernel, and keeps the EFI vars between boots', () => {
    bootedThroughGrub('efi', /BdsDxe|UEFI|EFI stub/);
    const vars = join(ws.root, '.vm/efi/efi-efi-vars.fd');
    assert.ok(existsSync(vars), 'the run script created the writable vars');
    const write = ws.exec(
      'efi',
      `mount -t efivarfs none /sys/firmware/efi/efivars 2>/dev/null; printf '\\007\\000\\000\\000kept' > /tmp/var && dd if=/tmp/var of=${VAR} bs=64 2>/dev/null && echo written`,
    );
    assert.equal(out(write.stdout), 'written\n', write.stderr);
    const read = ws.exec(
      'efi',
      `mount -t efivarfs none /sys/firmware/efi/efivars 2>/dev/null; tail -c 4 ${VAR}; echo; efibootmgr | grep -c nx-qemu-vm`,
    );
    assert.equal(read.status, 0, read.stderr);
    assert.equal(
      out(read.stdout),
      'kept\n1\n',
      'the variable survived the reboot, and the builder registered the boot entry',
    );
  });

  it('creates the EFI vars once with the efi-vars target, then boots OVMF from a host-built disk', () => {
    const vars = join(ws.root, '.vm/hostefi/hostefi-efi-vars.fd');
    const first = ws.nx(['run', 'hostefi:efi-vars']);
    assert.equal(first.status, 0, first.output);
    assert.equal(
      sha256(vars),
      sha256(join(ws.root, 'dist/vm/hostefi/boot-disk/efi-vars.fd')),
      'copied from the boot disk',
    );
    writeFileSync(vars, readFileSync(vars)); // same bytes, new mtime: a later run must not touch the file
    const stamp = statSync(vars).mtimeMs;
    const again = ws.nx(['run', 'hostefi:efi-vars']);
    assert.equal(again.status, 0, again.output);
    assert.match(again.output, /exists; left as it is/);
    assert.equal(statSync(vars).mtimeMs, stamp);
    // The boot entry is written on the host whichever way the disk was built.
    const [entry] = readVariables(readFileSync(vars)).variables;
    assert.equal(entry.name, 'Boot0000');
    assert.match(entry.data.toString('utf16le'), /nx-qemu-vm/);
    assert.equal(
      sha256(vars),
      sha256(join(ws.root, 'dist/vm/efi/boot-disk/efi-vars.fd')),
      'the same vars as the disk built in a VM',
    );
    bootedThroughGrub('hostefi', /BdsDxe|UEFI|EFI stub/);
  });

  it('boots with an alternative BIOS (qboot)', () => {
    const res = ws.exec('qboot', 'echo up');
    assert.equal(out(res.stdout), 'up\n', res.stderr);
    assert.doesNotMatch(ws.consoleLog('qboot'), /SeaBIOS/);
  });

  it('rebuilds byte-identical disks and vars, in a VM and on the host', () => {
    for (const machine of ['efi', 'hostefi']) {
      const dir = join(ws.root, 'dist/vm', machine, 'boot-disk');
      const before = [sha256(join(dir, 'disk.img')), sha256(join(dir, 'efi-vars.fd'))];
      const res = ws.nx(['run', `${machine}:boot-disk`, '--skip-nx-cache']);
      assert.equal(res.status, 0, res.output);
      assert.deepEqual(
        [sha256(join(dir, 'disk.img')), sha256(join(dir, 'efi-vars.fd'))],
        before,
        `${machine}: a rebuild gave other bytes`,
      );
      assert.ok(
        statSync(join(dir, 'disk.img')).size < 30 * 1024 * 1024,
        'the cached disk is a compact qcow2',
      );
    }
  });

  it('publishes nothing and leaves no scratch files when the builder VM fails', () => {
    const disk = join(ws.root, 'dist/vm/bios/boot-disk/disk.img');
    const before = sha256(disk);
    const res = ws.nx(['run', 'bios:boot-disk', '--skip-nx-cache', '--timeout=5']);
    assert.notEqual(res.status, 0);
    assert.match(res.output, /did not finish within 5 s/);
    assert.equal(sha256(disk), before, 'the last good disk is not replaced by a partial one');
    assert.deepEqual(
      readdirSync(join(ws.root, 'dist/vm/bios')).filter((f) => f.startsWith('.boot-disk')),
      [],
      'no scratch files',
    );
  });
});
