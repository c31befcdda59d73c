// Port of nixos/tests/openssh.nix (NixOS/nixpkgs), the parts Debian can
// express with the machines `server` and `client`: sshd runs, root logs in
// with a key the test makes (manual-authkey) and with a key the machine
// declares (configured-authkey), and PAM applies the memlock limit.
//
// Differs:
// - The machines are ssh-server and ssh-client (names unique in the shared
//   workspace-vm.json), so `ssh server` is `ssh ssh-server`.
// - sshd is Debian's ssh.service, waited for by its alias `sshd`. Its host
//   keys are made by our stage 1 on the first boot (the image has none).
// - NixOS's users.users.root.openssh.authorizedKeys is, as on NixOS, a file
//   outside root's home: /etc/ssh/authorized_keys.d/root, declared in
//   `files`, with an sshd_config.d drop-in naming it in AuthorizedKeysFile.
//   The key pair is this folder's own snake-oil key (in workspace-vm.json);
//   the client has the private half as the declared /root/privkey.snakeoil
//   (mode 0600) rather than catting it from the store.
// - The memlock limit is a declared /etc/security/limits.d file (NixOS's
//   security.pam.services.sshd.limits); Debian's sshd PAM stack reads it.
//   It names root as well as `*`: pam_limits never applies `*` to root, and
//   the first run of this port failed on `ulimit -l` for that reason.
// - Debian's root has no ~/.ssh, so the test makes it before writing in it.
// - Not ported, each needing a machine of its own configuration: the lazy
//   (socket-activated) servers, allowed-users, localhost-only, match rules,
//   no-openssl, the algorithm and PAM variants, sftp and keygen without sshd.
//   Of the last, only its check that sshd runs on `server` is kept.
import { test } from 'node:test';
import { startMachines, subtest } from '../../src/test-driver';

const ssh = 'ssh -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no';

test('openssh', { timeout: 900_000 }, async () => {
  await using vms = await startMachines(['ssh-server', 'ssh-client'], {
    workspaceRoot: process.env.NXQV_NAMED_WORKSPACE,
    shell: 'bash',
  });
  const { 'ssh-server': server, 'ssh-client': client } = vms.machines;

  await server.waitForUnit('sshd', { timeout: 60 });

  await subtest('manual-authkey', async () => {
    await client.succeed('mkdir -p -m 700 /root/.ssh');
    await client.succeed('ssh-keygen -t ed25519 -f /root/.ssh/id_ed25519 -N ""');
    const publicKey = (await client.succeed('ssh-keygen -y -f /root/.ssh/id_ed25519')).trim();
    await client.succeed('chmod 600 /root/.ssh/id_ed25519');

    await server.succeed('mkdir -p -m 700 /root/.ssh');
    await server.succeed(`echo '${publicKey}' > /root/.ssh/authorized_keys`);

    await client.waitForUnit('network.target');
    await client.succeed(`${ssh} ssh-server 'echo hello world' >&2`, { timeout: 30 });
    await client.succeed(`${ssh} ssh-server 'ulimit -l' | grep 1024`, { timeout: 30 });
  });

  await subtest('configured-authkey', async () => {
    await client.succeed('chmod 600 /root/privkey.snakeoil');
    await client.succeed(`${ssh} -i /root/privkey.snakeoil ssh-server true`, { timeout: 30 });
  });

  await subtest('sshd runs on server', async () => {
    await server.succeed('pgrep sshd');
  });
});
