// Port of nixos/tests/haproxy.nix: HAProxy forwards HTTP to its back end,
// serves its Prometheus metrics itself, and keeps serving across a reload.
//
// What differs, and why: Debian's haproxy package, its configuration a file
// of this directory (files/haproxy/haproxy.cfg, NixOS's `config` option).
// The back ends are declared services (busybox's httpd on [::1]) instead of
// Apache through NixOS's httpd module, and there are two of them, balanced
// round robin, so the test also sees each of them answer through the proxy.
// The machine is one role of the Debian image all the ports share
// (workspace-vm.json): the image's other packaged services are masked on it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMachines, subtest } from '../../../src/test-driver';
import { sharedWorkspace, type SharedWorkspace } from '../../helpers/shared-workspace';

process.env.VM_ACCEL = 'tcg';
let ws: SharedWorkspace;
before(async () => (ws = await sharedWorkspace('nixos-ports', __dirname)));
after(() => ws?.release());

test('haproxy', { timeout: 1_200_000 }, async () => {
  await using vms = await startMachines(['haproxy'], { workspaceRoot: ws.root, shell: 'bash' });
  const machine = vms.machines.haproxy;

  await machine.waitForUnit('multi-user.target');
  await machine.waitForUnit('haproxy.service');
  await machine.waitForUnit('httpd-a.service');
  await machine.waitForUnit('httpd-b.service');
  const first = await machine.succeed('curl -fk http://localhost:80/index.txt');
  assert.match(first, /We are all good!/);
  const second = await machine.succeed('curl -fk http://localhost:80/index.txt');
  assert.deepEqual(
    [first, second].map((page) => page.match(/\((a|b)\)/)?.[1]).sort(),
    ['a', 'b'],
    'round robin: each back end answers one of two requests',
  );
  assert.match(
    await machine.succeed('curl -fk http://localhost:80/metrics'),
    /haproxy_process_pool_allocated_bytes/,
  );

  await subtest('reload', async () => {
    await machine.succeed('systemctl reload haproxy');
    // Time for the new worker to take over, so the request below reaches it.
    await machine.sleep(5);
    assert.match(
      await machine.succeed('curl -fk http://localhost:80/index.txt'),
      /We are all good!/,
    );
  });
});
