// exec's output and status, and the xchg and shared
// directories, each proven by a real boot.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';

describe('exec', { timeout: 900_000 }, () => {
  let ws: VmWorkspace;
  before(() => {
    ws = createVmWorkspace({ vm: { graphics: false } });
    ws.buildAll();
  });
  after(() => ws.remove());

  it('nx run vm:exec streams the output and fails with the guest status', () => {
    const res = ws.nx(['run', 'vm:exec', '--command=echo hello from $(hostname); exit 7'], {
      VM_ACCEL: 'tcg',
    });
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

describe('exec limits and the guest agent', { timeout: 900_000 }, () => {
  let ws: VmWorkspace;
  before(() => {
    ws = createVmWorkspace({ vm: { graphics: false } });
    ws.buildAll();
  });
  after(() => ws.remove());

  it('stops a command that outlives VM_EXEC_TIMEOUT, with exit 124 and the console tail', () => {
    const res = ws.exec('vm', 'sleep 600', { VM_EXEC_TIMEOUT: '30' });
    assert.equal(res.status, 124, res.stderr);
    assert.match(res.stderr, /no result after 30 s \(VM_EXEC_TIMEOUT\)/);
    assert.match(res.stderr, /Last console lines/);
  });

  it('starts qemu-ga in the guest, reachable on $TMPDIR/control/qga.sock', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'nxqv-qga-'));
    try {
      const run = ws.execAsync('vm', 'while [ ! -e /tmp/xchg/done ]; do sleep 0.2; done', {
        TMPDIR: scratch,
        USE_TMPDIR: '1',
      });
      const reply = await guestAgentPing(join(scratch, 'control/qga.sock'), Date.now() + 240_000);
      writeFileSync(join(scratch, 'xchg/done'), '');
      const result = await run;
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(reply, { return: {} });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

/** Sends guest-ping until the agent in the guest answers (it starts with stage 2). */
async function guestAgentPing(socketPath: string, deadline: number): Promise<unknown> {
  while (Date.now() < deadline) {
    const answer = await new Promise<string>((resolve) => {
      let got = '';
      const socket = connect(socketPath);
      socket.on('connect', () => socket.write('{"execute":"guest-ping"}\n'));
      socket.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes('\n')) socket.destroy();
      });
      socket.on('error', () => resolve(''));
      socket.on('close', () => resolve(got));
      socket.setTimeout(2000, () => socket.destroy());
    });
    if (answer.trim()) return JSON.parse(answer.trim().split('\n')[0]);
    await sleep(500);
  }
  throw new Error(`no answer from the guest agent on ${socketPath}`);
}
