// Port of nixos/tests/redis.nix (NixOS/nixpkgs): two Redis servers on one
// machine, the unnamed one on TCP port 6379 and both on a UNIX socket that
// members of the server's group may use.
//
// Differs, because Debian packages Redis otherwise:
// - The servers are Debian's units: `redis-server.service` for NixOS's
//   `redis` and the template instance `redis-server@test.service` for
//   `redis-test` (wanted by multi-user.target through a drop-in declared in
//   `files`). Their configs, with the sockets at NixOS's paths
//   (/run/redis/redis.sock, /run/redis-test/redis.sock), are declared files.
// - Debian runs both instances as the account `redis`, so there is no group
//   `redis-test`: both members join `redis`. The members are made here with
//   useradd, since workspace-vm.json declares no accounts (NixOS's
//   users.users).
// - redis-cli is Debian's /usr/bin/redis-cli, found on PATH.
// - The members' two pings name the socket (-s): the original's comment says
//   they check the socket, but its commands (without -s) use TCP.
import { test } from 'node:test';
import { startMachines } from '../../src/test-driver';

test('redis', { timeout: 900_000 }, async () => {
  await using vms = await startMachines(['redis'], {
    workspaceRoot: process.env.NXQV_NAMED_WORKSPACE,
    shell: 'bash',
  });
  const { redis: machine } = vms.machines;
  await machine.succeed('useradd --no-create-home --groups redis member');
  await machine.succeed('useradd --no-create-home --groups redis member-test');

  await machine.waitForUnit('redis-server');
  await machine.waitForUnit('redis-server@test');

  // The unnamed server listens on TCP, as NixOS's does for compatibility.
  await machine.waitForOpenPort(6379);

  await machine.waitForFile('/run/redis/redis.sock');
  await machine.waitForFile('/run/redis-test/redis.sock');

  // The sockets are open to the group.
  await machine.succeed('su member -c "redis-cli -s /run/redis/redis.sock ping | grep PONG"');
  await machine.succeed(
    'su member-test -c "redis-cli -s /run/redis-test/redis.sock ping | grep PONG"',
  );

  await machine.succeed('redis-cli ping | grep PONG');
  await machine.succeed('redis-cli -s /run/redis/redis.sock ping | grep PONG');
  await machine.succeed('redis-cli -s /run/redis-test/redis.sock ping | grep PONG');
});
