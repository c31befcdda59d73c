// The store is the host's /usr, read-only at the QEMU level; the
// writable store is an overlay that never reaches the host.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';

describe('store', { timeout: 900_000 }, () => {
  let ws: VmWorkspace;
  const probe = `/usr/nx-qemu-vm-store-probe-${process.pid}`;
  before(() => {
    ws = createVmWorkspace({
      writable: { graphics: false },
      readonly: { graphics: false, writableStore: false },
    });
    ws.buildAll();
  });
  after(() => ws.remove());

  it('writes under /usr land in the overlay, never on the host', () => {
    const res = ws.exec(
      'writable',
      `echo overlay > ${probe} && cat ${probe}; ` +
        // Even root cannot make the 9p share writable: QEMU itself refuses writes.
        'mount -o remount,rw /.nx-store/ro 2>/dev/null; touch /.nx-store/ro/x 2>/dev/null && echo LOWER-WRITABLE || echo lower-read-only',
    );
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout.replace(/\r/g, ''), 'overlay\nlower-read-only\n');
    assert.ok(!existsSync(probe), 'host /usr is untouched');
  });

  it('refuses writes under /usr without writableStore', () => {
    const res = ws.exec('readonly', `echo nope > ${probe}`);
    assert.notEqual(res.status, 0);
    assert.match(res.stdout, /Read-only file system/);
    assert.ok(!existsSync(probe));
  });
});
