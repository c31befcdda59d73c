// Port of nixos/tests/nat.nix (NixOS/nixpkgs), the standalone variant
// (withFirewall = false, iptables' nat.service): a client on vlan 1 reaches
// a server on vlan 2 through a router that masquerades 192.168.1.0/24 out
// of eth1; turning the NAT off cuts the client off, and turning it on again
// restores it.
//
// Differs:
// - The machines are nat-client, nat-router and nat-server. nat.service is
//   a declared oneshot unit (wanted by network.target through a declared
//   drop-in) that turns on IP forwarding and loads an nftables table with
//   NixOS's rule (`-s 192.168.1.0/24 -o eth1 -j MASQUERADE`); stopping it
//   deletes the table. NixOS's defaultGateway on the client is a declared
//   unit, nat-gateway.service, that replaces the user-mode NIC's default
//   route by one through nat-router.
// - switch-to-configuration to the router without NAT and back is
//   `systemctl stop nat` and `systemctl start nat` (the original needed the
//   latter anyway, see its FIXME).
// - The client names the server by address (nat-server.address(2)): our
//   /etc/hosts names only the machines that share a vlan with the guest, and
//   the two share none, whereas NixOS's names every machine of the test.
// - httpd is Debian's apache2, vsftpd's anonymous root is Debian's /srv/ftp
//   (NixOS's /home/ftp), set in a declared /etc/vsftpd.conf.
import { test } from 'node:test';
import { startMachines } from '../../src/test-driver';

test('nat (standalone)', { timeout: 900_000 }, async () => {
  await using vms = await startMachines(['nat-client', 'nat-router', 'nat-server'], {
    workspaceRoot: process.env.NXQV_NAMED_WORKSPACE,
    shell: 'bash',
  });
  const { 'nat-client': client, 'nat-router': router, 'nat-server': server } = vms.machines;
  const serverAddress = server.address(2);

  // The router reaches the server.
  await server.waitForUnit('network.target');
  await server.waitForUnit('apache2');
  await router.waitForUnit('network.target');
  await router.succeed('curl -4 --fail http://nat-server/ >&2');

  // The client reaches it too, through the NAT router.
  await router.waitForUnit('nat');
  await client.waitForUnit('network.target');
  await client.succeed(`curl --fail http://${serverAddress}/ >&2`);
  await client.succeed(`ping -4 -c 1 ${serverAddress} >&2`);

  // Passive FTP works.
  await server.waitForUnit('vsftpd');
  await server.succeed('echo Hello World > /srv/ftp/foo.txt');
  await client.succeed(`curl -v ftp://${serverAddress}/foo.txt >&2`);

  // Active FTP does not (no conntrack helper).
  await client.fail(`curl -v -P - ftp://${serverAddress}/foo.txt >&2`);

  // ICMP.
  await client.succeed('ping -4 -c 1 nat-router >&2');
  await router.succeed('ping -4 -c 1 nat-client >&2');

  // Without NAT, the client does not reach the server.
  await router.succeed('systemctl stop nat.service 2>&1');
  await client.fail(`curl -4 --fail --connect-timeout 5 http://${serverAddress}/ >&2`);
  await client.fail(`ping -4 -c 1 ${serverAddress} >&2`);

  // And NAT started again restores it.
  await router.succeed('systemctl start nat.service 2>&1');
  await client.succeed(`curl -4 --fail http://${serverAddress}/ >&2`);
  await client.succeed(`ping -4 -c 1 ${serverAddress} >&2`);
});
