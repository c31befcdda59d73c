// Port of nixos/tests/wireguard/basic.nix: two machines on a vlan join a
// WireGuard tunnel, and one reaches the other through it over IPv4 and IPv6.
//
// What differs, and why: Debian's wireguard-tools with wg-quick, so each
// tunnel is wg-quick@wg0.service (NixOS: wireguard-wg0.service) reading
// /etc/wireguard/wg0.conf (files/wireguard/, what NixOS's
// networking.wireguard options say: the same addresses and port, peer1
// with `Table = off` for allowedIPsAsRoutes = false and its two routes as
// PostUp), started by a multi-user.target drop-in rather than enabled by a
// symlink, which `files` cannot write. The endpoint is peer0 by name on the
// vlan (the workspace's /etc/hosts) rather than a fixed 192.168.0.1. The
// kernel module is the Debian kernel's own. The machines are roles of the
// Debian image all the ports share (workspace-vm.json), with the image's
// packaged services masked.
import { after, before, test } from 'node:test';
import { startMachines } from '../../../src/test-driver';
import { sharedWorkspace, type SharedWorkspace } from '../../helpers/shared-workspace';

process.env.VM_ACCEL = 'tcg';
let ws: SharedWorkspace;
before(async () => (ws = await sharedWorkspace('nixos-ports', __dirname)));
after(() => ws?.release());

test('wireguard basic', { timeout: 1_200_000 }, async () => {
  await using vms = await startMachines(['peer0', 'peer1'], {
    workspaceRoot: ws.root,
    shell: 'bash',
  });
  const { peer0, peer1 } = vms.machines;

  await peer0.waitForUnit('wg-quick@wg0.service');
  await peer1.waitForUnit('wg-quick@wg0.service');

  await peer1.succeed('ping -c5 fc00::1');
  await peer1.succeed('ping -c5 10.23.42.1');
});
