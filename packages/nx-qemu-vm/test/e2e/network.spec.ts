// Port forwards in both directions, and the loopback-only default.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';
import { freePort } from '../helpers/free-port';

/** Connects until the guest answers: SLiRP accepts on the host before the guest listens. */
async function readFromForward(port: number, deadline: number): Promise<string> {
  while (Date.now() < deadline) {
    const data = await new Promise<string>((resolve) => {
      let got = '';
      const socket = connect(port, '127.0.0.1');
      socket.on('data', (d: Buffer) => (got += d.toString()));
      socket.on('error', () => resolve(''));
      socket.on('close', () => resolve(got));
      socket.setTimeout(3000, () => socket.destroy());
    });
    if (data) return data;
    await sleep(500);
  }
  return '';
}

describe('port forwards', { timeout: 900_000 }, () => {
  let ws: VmWorkspace;
  let hostPort: number;
  let hostServicePort: number;
  before(async () => {
    hostPort = await freePort();
    hostServicePort = await freePort();
    ws = createVmWorkspace({
      fwd: {
        graphics: false,
        forwardPorts: [
          { host: { port: hostPort }, guest: { port: 8000 } },
          {
            from: 'guest',
            guest: { address: '10.0.2.100', port: 8081 },
            host: { port: hostServicePort },
          },
        ],
      },
    });
    ws.buildAll();
  });
  after(() => ws.remove());

  it('forwards a host port to a guest listener, bound to 127.0.0.1 only', async () => {
    // A connection tried while the guest boots lingers in SLiRP and may be the
    // first one the guest accepts, so the guest keeps serving until the host
    // says (through xchg) that it got the answer.
    const scratch = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-fwd-'));
    const run = ws.execAsync(
      'fwd',
      '/run/nx-qemu-vm/busybox nc -ll -p 8000 -e /bin/echo hello-from-guest & while [ ! -e /tmp/xchg/done ]; do sleep 0.2; done',
      { TMPDIR: scratch, USE_TMPDIR: '1' },
    );
    try {
      const deadline = Date.now() + 240_000;
      let local: string[] = [];
      while (Date.now() < deadline && local.length === 0) {
        // ss -H: State Recv-Q Send-Q Local:Port Peer:Port; only the local address matters.
        const rows = spawnSync('ss', ['-Hltn', `sport = :${hostPort}`], {
          encoding: 'utf8',
        }).stdout.trim();
        local = rows ? rows.split('\n').map((row) => row.trim().split(/\s+/)[3]) : [];
        if (local.length === 0) await sleep(200);
      }
      assert.deepEqual(local, [`127.0.0.1:${hostPort}`], 'QEMU listens on loopback only');
      assert.equal((await readFromForward(hostPort, deadline)).trim(), 'hello-from-guest');
    } finally {
      mkdirSync(join(scratch, 'xchg'), { recursive: true });
      writeFileSync(join(scratch, 'xchg/done'), '');
      const result = await run;
      rmSync(scratch, { recursive: true, force: true });
      assert.equal(result.status, 0, result.stderr);
    }
  });

  it('lets the guest reach a host service through guestfwd', async () => {
    const server = createServer((socket) => socket.end('hello-from-host\n'));
    await new Promise<void>((resolve) => server.listen(hostServicePort, '127.0.0.1', resolve));
    try {
      const res = await ws.execAsync('fwd', 'sleep 5 | /run/nx-qemu-vm/busybox nc 10.0.2.100 8081');
      assert.equal(res.status, 0, res.stderr);
      assert.equal(res.stdout.replace(/\r/g, ''), 'hello-from-host\n');
    } finally {
      server.close();
    }
  });
});
