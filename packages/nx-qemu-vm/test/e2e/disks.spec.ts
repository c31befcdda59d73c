// The persistent root disk, extra disks, the SCSI
// interface, memory and cores, each seen from inside a real guest.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const out = (s: string) => s.replace(/\r/g, '');

describe('disks, memory and cores', { timeout: 1_200_000 }, () => {
  let ws: VmWorkspace;
  before(() => {
    ws = createVmWorkspace({
      vm: { graphics: false },
      disks: { graphics: false, emptyDiskImages: [64, 32], memorySize: 700, cores: 2 },
      scsi: { graphics: false, qemu: { diskInterface: 'scsi' } },
    });
    ws.buildAll();
  });
  after(() => ws.remove());

  it('formats a blank root disk on the first boot only, and keeps its files', () => {
    const first = ws.exec('vm', 'echo kept-across-boots > /root/marker; sync');
    assert.equal(first.status, 0, first.stderr);
    assert.match(ws.consoleLog('vm'), /formatting the blank root device \/dev\/vda/);
    const second = ws.exec('vm', 'cat /root/marker');
    assert.equal(second.status, 0, second.stderr);
    assert.equal(out(second.stdout), 'kept-across-boots\n');
    assert.doesNotMatch(
      ws.consoleLog('vm'),
      /formatting/,
      'an existing file system is never formatted again',
    );
  });

  it('never formats a disk that holds another file system, and leaves it as it was', () => {
    const image = join(ws.root, 'vfat.qcow2');
    const raw = join(ws.root, 'vfat.raw');
    for (const argv of [
      ['qemu-img', 'create', '-q', '-f', 'raw', raw, '64M'],
      ['mkfs.fat', '-F', '32', raw],
      ['qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, image],
    ])
      assert.equal(spawnSync(argv[0], argv.slice(1)).status, 0, argv.join(' '));
    const before = sha256(image);
    const res = ws.exec('vm', 'true', { VM_DISK_IMAGE: image });
    assert.equal(res.status, 125, 'the boot must fail: the root is not ext4');
    assert.match(res.stderr, /cannot mount \/dev\/vda \(ext4\)/, 'the console lines explain why');
    assert.doesNotMatch(ws.consoleLog('vm'), /formatting/);
    assert.equal(sha256(image), before, 'the disk is untouched');
  });

  it('attaches empty disks as /dev/vdb and /dev/vdc with their sizes', () => {
    const res = ws.exec(
      'disks',
      'echo $(( $(cat /sys/block/vdb/size) / 2048 )) $(( $(cat /sys/block/vdc/size) / 2048 ))',
    );
    assert.equal(res.status, 0, res.stderr);
    assert.equal(out(res.stdout), '64 32\n');
  });

  it('gives the guest the configured memory and cores', () => {
    const res = ws.exec('disks', "nproc; awk '/MemTotal/ { print $2 }' /proc/meminfo");
    assert.equal(res.status, 0, res.stderr);
    const [cores, memKiB] = out(res.stdout).trim().split('\n').map(Number);
    assert.equal(cores, 2);
    // The kernel keeps some memory for itself; what it reports is a little less than 700 MiB.
    assert.ok(
      memKiB > 600 * 1024 && memKiB <= 700 * 1024,
      `MemTotal ${memKiB} KiB for memorySize 700`,
    );
  });

  it('puts the root on /dev/sda with the SCSI interface', () => {
    const res = ws.exec('scsi', 'awk \'$2 == "/" { print $1 }\' /proc/mounts');
    assert.equal(res.status, 0, res.stderr);
    assert.equal(out(res.stdout), '/dev/sda\n');
  });
});
