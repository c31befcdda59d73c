import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argvOpensImage, findImageUsers } from './in-use';

describe('finding the VM that has an image open', () => {
  const qemu = (...args: string[]) => ['/usr/bin/qemu-system-x86_64', '-name', 'vm', ...args];

  it('matches the file= value exactly, with commas doubled as QEMU wants', () => {
    assert.ok(
      argvOpensImage(qemu('-drive', 'id=d,file=/w/vm.qcow2,format=qcow2'), ['/w/vm.qcow2']),
    );
    assert.ok(argvOpensImage(qemu('-drive', 'if=pflash,unit=1,file=/w/vars.fd'), ['/w/vars.fd']));
    assert.ok(argvOpensImage(qemu('-drive', 'file=/w/a,,b.qcow2,format=qcow2'), ['/w/a,b.qcow2']));
    assert.ok(
      !argvOpensImage(qemu('-drive', 'file=/w/vm.qcow2.bak,format=qcow2'), ['/w/vm.qcow2']),
    );
    assert.ok(!argvOpensImage(qemu('-drive', 'file=/w/a,,b.qcow2'), ['/w/a']));
  });

  it('only counts QEMU processes', () => {
    assert.ok(!argvOpensImage(['/usr/bin/cp', 'file=/w/vm.qcow2'], ['/w/vm.qcow2']));
  });

  it('scans a proc tree and names the process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-proc-'));
    try {
      const image = join(dir, 'vm.qcow2');
      writeFileSync(image, '');
      const proc = join(dir, 'proc');
      for (const [pid, argv] of [
        ['41', qemu('-drive', `file=${image},format=qcow2`)],
        ['42', ['/bin/sh', image]],
        ['self', ['x']],
      ] as const) {
        mkdirSync(join(proc, pid), { recursive: true });
        writeFileSync(join(proc, pid, 'cmdline'), `${argv.join('\0')}\0`);
      }
      assert.deepEqual(findImageUsers(image, proc), [
        { pid: 41, command: '/usr/bin/qemu-system-x86_64 -name vm' },
      ]);
      assert.deepEqual(findImageUsers(join(dir, 'missing.qcow2'), proc), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
