// M2 tests a and c: exec's output and status, and the xchg and shared
// directories, each proven by a real boot.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createVmWorkspace, type VmWorkspace } from '../testing/vm-workspace';

describe('exec', { timeout: 900_000 }, () => {
  let ws: VmWorkspace;
  before(() => {
    ws = createVmWorkspace({ vm: { graphics: false } });
    ws.buildAll();
  });
  after(() => ws.remove());

  it('nx run vm:exec streams the output and fails with the guest status', () => {
    const res = ws.nx(['run', 'vm:exec', "--command=echo hello from $(hostname); exit 7"], { VM_ACCEL: 'tcg' });
    assert.equal(res.status, 1, res.output);
    assert.match(res.output, /hello from vm/);
    assert.match(res.output, /the command exited with status 7 in machine "vm"/);
  });

  it('exec-vm-vm exits with the exact status and prints only the command output', () => {
    const res = ws.exec('vm', 'echo out; echo err >&2; exit 7');
    assert.equal(res.status, 7, res.stderr);
    assert.equal(res.stdout.replace(/\r/g, ''), 'out\nerr\n', 'no console noise on stdout');
    assert.match(ws.consoleLog('vm'), /nx-qemu-vm: stage 2 reached/, 'the console went to the log');
  });

  it('exchanges files through xchg and SHARED_DIR in both directions', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-xchg-'));
    const shared = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-shared-'));
    try {
      mkdirSync(join(scratch, 'xchg'));
      writeFileSync(join(scratch, 'xchg/in.txt'), 'from host via xchg\n');
      writeFileSync(join(shared, 'in.txt'), 'from host via shared\n');
      const res = ws.exec(
        'vm',
        'cat /tmp/xchg/in.txt /tmp/shared/in.txt; echo guest-xchg > /tmp/xchg/out.txt; echo guest-shared > /tmp/shared/out.txt',
        { TMPDIR: scratch, USE_TMPDIR: '1', SHARED_DIR: shared },
      );
      assert.equal(res.status, 0, res.stderr);
      assert.equal(res.stdout.replace(/\r/g, ''), 'from host via xchg\nfrom host via shared\n');
      assert.equal(readFileSync(join(scratch, 'xchg/out.txt'), 'utf8'), 'guest-xchg\n');
      assert.equal(readFileSync(join(shared, 'out.txt'), 'utf8'), 'guest-shared\n');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      rmSync(shared, { recursive: true, force: true });
    }
  });
});
