// A declared image is shared (the remote cache, every machine of one system),
// so it carries no machine's secrets: each machine makes its own keys on its
// first boot and keeps them (that two builds with openssh-server give the same
// bytes is image.spec.ts's). Machines with the same system share one
// mmdebstrap run; the tree packages install beside /usr, /etc and /var
// (vsftpd's /srv/ftp) reaches the guest. A real build, real TCG boots.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';
import { BUILDING_IMAGE } from '../../src/executors/image/impl';

const MACHINES = ['ssh1', 'ssh2'];
const machine = {
  graphics: false,
  system: { from: 'debian', packages: ['openssh-server', 'ssl-cert', 'vsftpd'] },
};
// What makes a machine itself, and the tree vsftpd installs beside /usr.
const IDENTITY = [
  'cat /etc/ssh/ssh_host_ed25519_key.pub /etc/machine-id',
  'sha256sum </etc/ssl/private/ssl-cert-snakeoil.key',
  'stat -c "%U:%G %F" /srv/ftp',
  'ls /usr/share/nx-qemu-vm/factory/etc/ssh',
].join('; ');

describe('Declared images carry no machine secrets', () => {
  let ws: VmWorkspace;
  const storeHash = (m: string) =>
    createHash('sha256')
      .update(readFileSync(join(ws.root, 'dist/vm', m, 'image/store.erofs')))
      .digest('hex');
  const mmdebstrapRuns = (output: string) => output.split(BUILDING_IMAGE).length - 1;
  const identity = async (m: string) => {
    const run = await ws.execAsync(m, IDENTITY);
    assert.equal(run.status, 0, run.stderr + ws.consoleLog(m).slice(-3000));
    const [key, machineId, tlsKey, ftp, ...factorySsh] = run.stdout
      .replace(/\r/g, '')
      .trim()
      .split('\n');
    return { key, machineId, tlsKey, ftp, factorySsh };
  };

  before(() => {
    ws = createVmWorkspace(Object.fromEntries(MACHINES.map((m) => [m, machine])));
  });
  after(() => ws?.remove());

  it('builds one image for two machines of the same system: mmdebstrap runs once', () => {
    // Static output: every task's lines, which Nx otherwise hides when all succeed.
    const res = ws.nx([
      'run-many',
      '-t',
      'prepare',
      '--projects',
      MACHINES.join(','),
      '--output-style=static',
    ]);
    assert.equal(res.status, 0, res.output);
    assert.equal(storeHash('ssh2'), storeHash('ssh1'));
    assert.equal(mmdebstrapRuns(res.output), 1, res.output);
    assert.match(res.output, /the image of this system is built/);
  });

  it('gives each machine its own keys on its first boot, and keeps them across boots', async () => {
    const [one, two] = await Promise.all(MACHINES.map(identity));
    assert.match(one.key, /^ssh-ed25519 \S+ root@ssh1$/);
    assert.match(two.key, /^ssh-ed25519 \S+ root@ssh2$/);
    assert.notEqual(one.key, two.key);
    assert.match(one.machineId, /^[0-9a-f]{32}$/);
    assert.notEqual(one.machineId, two.machineId);
    assert.notEqual(one.tlsKey, two.tlsKey);
    assert.equal(one.ftp, 'root:ftp directory', "vsftpd's /srv/ftp, owned by its account");
    assert.ok(
      one.factorySsh.length > 0 && one.factorySsh.every((f) => !f.startsWith('ssh_host_')),
      `the image's /etc/ssh has no host key: ${one.factorySsh.join(' ')}`,
    );
    assert.deepEqual(await identity('ssh1'), one, "a second boot keeps the first one's keys");
  });
});
