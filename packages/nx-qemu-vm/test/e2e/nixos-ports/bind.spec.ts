// Port of nixos/tests/bind.nix: BIND serves the root zone and three zones
// of its own, and answers for their names, and not for others.
//
// What differs, and why: Debian's bind9 package instead of NixOS's module,
// so the unit is named.service (NixOS: bind.service) and the configuration
// is files of this directory (files/bind/: named.conf and the zone files the
// module would write from its `zones` options, serials and timers as there).
// The machine is one role of the Debian image all the ports share
// (workspace-vm.json): the image's other packaged services are masked on it.
import { after, before, test } from 'node:test';
import { startMachines } from '../../../src/test-driver';
import { sharedWorkspace, type SharedWorkspace } from '../../helpers/shared-workspace';

process.env.VM_ACCEL = 'tcg';
let ws: SharedWorkspace;
before(async () => (ws = await sharedWorkspace('nixos-ports', __dirname)));
after(() => ws?.release());

test('bind', { timeout: 1_200_000 }, async () => {
  await using vms = await startMachines(['bind'], { workspaceRoot: ws.root, shell: 'bash' });
  const machine = vms.machines.bind;

  await machine.waitForUnit('named.service');
  await machine.waitForOpenPort(53);
  await machine.succeed('host 192.168.0.1 127.0.0.1');

  await machine.succeed('host ns.example.org 127.0.0.1');
  await machine.fail('host notfound.example.org 127.0.0.1');

  await machine.succeed('host ns.common 127.0.0.1');
  await machine.succeed('host webserver.common 127.0.0.1');
  await machine.fail('host notfound.common 127.0.0.1');

  await machine.succeed('host ns.maxconf 127.0.0.1');

  await machine.succeed('host webserver.common 127.0.0.1');
});
