// The serve target as Nx means continuous targets to be used: another
// project's task declares it needs the machine ready, Nx boots it, waits for
// our ready signal (its services listen), runs the task against a forwarded
// port, and stops it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createTempWorkspace, type TempWorkspace } from '../helpers/temp-workspace';
import { findImageUsers } from '../../src/disk/in-use';
import { freePort } from '../helpers/free-port';
import { addProbeProject } from '../helpers/probe-project';

describe('serve: the machine as a continuous dependency', () => {
  let ws: TempWorkspace;
  let port: number;
  before(async () => {
    port = await freePort();
    ws = createTempWorkspace(
      {
        machines: {
          web: {
            graphics: false,
            forwardPorts: [{ host: { port }, guest: { port: 8000 } }],
            // A declared service: serve is ready only once it listens.
            services: {
              hello: {
                command:
                  'exec /run/nx-qemu-vm/busybox nc -ll -p 8000 -e /bin/echo hello-from-guest',
                ready: { port: 8000 },
              },
            },
          },
        },
      },
      'nx-qemu-vm-serve-',
    );
    addProbeProject(ws.root, 'web', `nc -w 5 127.0.0.1 ${port} </dev/null`);
  });
  after(() => ws.remove());

  it('boots the machine, waits until it is ready, runs the dependent task, then stops it without writing its disk', () => {
    assert.equal(ws.nx(['run', 'web:root-disk']).status, 0);
    const rootDisk = join(ws.root, '.vm/web/web.qcow2');
    const blank = createHash('sha256').update(readFileSync(rootDisk)).digest('hex');
    const res = ws.nx(['run', 'client:probe', '--output-style=static'], {
      VM_ACCEL: 'tcg',
      HOME: ws.root,
    });
    assert.equal(res.status, 0, res.output);
    assert.match(res.output, /"web" is up; forwards: hostfwd=tcp:127\.0\.0\.1:\d+-:8000/);
    assert.match(res.output, /hello-from-guest/);
    assert.deepEqual(
      findImageUsers(join(ws.root, '.vm/web/web.qcow2')),
      [],
      'the machine was stopped afterwards',
    );
    const logs = readdirSync(join(ws.root, '.vm/web/logs')).filter((f) => f.startsWith('serve-'));
    assert.equal(logs.length, 1);
    const console = readFileSync(join(ws.root, '.vm/web/logs', logs[0]), 'utf8');
    assert.match(
      console,
      /formatting the blank root device/,
      'the guest wrote to its root disk...',
    );
    assert.match(console, /Root shell on web/);
    // ...through an overlay: Nx kills the task's process tree, so the user's disk must not be open for writing.
    assert.equal(createHash('sha256').update(readFileSync(rootDisk)).digest('hex'), blank);
  });
});
