// Port of nixos/tests/simple.nix (NixOS/nixpkgs): one machine boots to
// multi-user.target and shuts down cleanly.
//
// Differs: the machine is a Debian image booted with systemd (the shared
// system of this folder's workspace-vm.json) instead of NixOS's minimal
// profile, and start_all() is startMachines, which already waits for the
// command channel.
import { test } from 'node:test';
import { startMachines } from '../../src/test-driver';

test('simple', { timeout: 900_000 }, async () => {
  await using vms = await startMachines(['simple'], {
    workspaceRoot: process.env.NXQV_NAMED_WORKSPACE,
  });
  const { simple: machine } = vms.machines;
  await machine.waitForUnit('multi-user.target');
  await machine.shutdown();
});
