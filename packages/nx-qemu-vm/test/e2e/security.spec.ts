// Security defaults, tried from both sides. The run's control sockets and
// FIFOs are private to their user; a guest cannot leave a readOnly share by
// symlinks or "..", nor write to it. (Forwards listening on 127.0.0.1 only are
// checked with ss in network.spec.ts; writes through the store in store.spec.ts.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';

describe('security defaults', { timeout: 20 * 60_000 }, () => {
  let ws: VmWorkspace;
  before(() => {
    ws = createVmWorkspace({
      vm: {
        graphics: false,
        sharedDirectories: { ro: { source: 'ro-share', target: '/mnt/ro', readOnly: true } },
      },
    });
    mkdirSync(join(ws.root, 'ro-share'));
    ws.buildAll();
  });
  after(() => ws.remove());

  it('creates control sockets and FIFOs mode 0600, in a directory only their user can enter', async () => {
    const scratch = join(ws.root, 'scratch');
    mkdirSync(scratch);
    const run = ws.execAsync('vm', 'while [ ! -e /tmp/xchg/done ]; do sleep 0.2; done', {
      TMPDIR: scratch,
      USE_TMPDIR: '1',
    });
    const control = join(scratch, 'control');
    for (let i = 0; i < 600 && !readdirSync(scratch).includes('control'); i++) await sleep(100);
    for (let i = 0; i < 100 && readdirSync(control).length < 4; i++) await sleep(100);
    const modes = Object.fromEntries(
      readdirSync(control).map((f) => [f, (statSync(join(control, f)).mode & 0o777).toString(8)]),
    );
    const dirMode = (statSync(control).mode & 0o777).toString(8);
    writeFileSync(join(scratch, 'xchg/done'), '');
    const result = await run;
    assert.equal(result.status, 0, result.stderr);
    assert.equal(dirMode, '700');
    assert.deepEqual(modes, {
      'control.in': '600',
      'control.out': '600',
      'qga.sock': '600',
      // The sentinel's FIFO (see run-vm-main.sh).
      running: '600',
    });
  });

  it('keeps a guest inside a readOnly share: no writes, and symlinks and ".." resolve in the guest', () => {
    const share = join(ws.root, 'ro-share');
    writeFileSync(join(ws.root, 'host-secret.txt'), 'HOST-SECRET\n');
    writeFileSync(join(share, 'readme.txt'), 'shared\n');
    // Links that would lead out of the share if they were followed on the host.
    symlinkSync('/etc', join(share, 'etc-link'));
    symlinkSync('..', join(share, 'up'));
    symlinkSync(join(ws.root, 'host-secret.txt'), join(share, 'secret-link'));
    const res = ws.exec(
      'vm',
      [
        'cat /mnt/ro/readme.txt',
        'cat /mnt/ro/etc-link/hostname',
        'ls /mnt/ro/up/',
        'cat /mnt/ro/secret-link 2>&1',
        'cat /mnt/ro/../../host-secret.txt 2>&1',
        'for t in "echo x > /mnt/ro/new" "ln -s /tmp /mnt/ro/x" "rm /mnt/ro/readme.txt" "mkdir /mnt/ro/d"; do sh -c "$t" 2>/dev/null && echo "WROTE: $t"; done',
        'echo end',
      ].join('; '),
    );
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /^shared$/m);
    assert.match(res.stdout, /^vm$/m, "/etc-link is the guest's /etc, not the host's");
    assert.doesNotMatch(res.stdout, /HOST-SECRET/);
    assert.doesNotMatch(res.stdout, /WROTE/);
    assert.match(res.stdout, /end/);
    assert.deepEqual(readdirSync(share).sort(), ['etc-link', 'readme.txt', 'secret-link', 'up']);
  });
});
