// Port of nixos/tests/rsyncd.nix: an rsync daemon, run as a service on one
// machine and started by its socket on the other, lists its module to the
// other machine.
//
// What differs, and why: Debian's rsync package. On rsyncd-a its own
// rsync.service runs the daemon (Debian leaves it disabled: a
// multi-user.target drop-in wants it, as `files` writes no symlinks);
// Debian ships no socket unit, so rsyncd-b declares one (files/rsyncd/: a
// socket with Accept=yes and its service template, NixOS's socketActivated)
// pulled in by a sockets.target drop-in, with rsync.service masked. The
// module shares /usr/share/doc/rsync (NixOS: /nix/store, which a Debian
// guest does not have). The machines are roles of the Debian image all the
// ports share (workspace-vm.json), with its other packaged services masked.
// Beyond the original, the test checks that the listing names the module.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMachines } from '../../../src/test-driver';
import { sharedWorkspace, type SharedWorkspace } from '../../helpers/shared-workspace';

process.env.VM_ACCEL = 'tcg';
let ws: SharedWorkspace;
before(async () => (ws = await sharedWorkspace('nixos-ports', __dirname)));
after(() => ws?.release());

test('rsyncd', { timeout: 1_200_000 }, async () => {
  await using vms = await startMachines(['rsyncd-a', 'rsyncd-b'], {
    workspaceRoot: ws.root,
    shell: 'bash',
  });
  const { 'rsyncd-a': a, 'rsyncd-b': b } = vms.machines;

  await a.waitForUnit('rsync');
  await b.waitForUnit('sockets.target');
  assert.match(await b.succeed('rsync rsyncd-a::'), /^tmp\s+test module$/m);
  assert.match(await a.succeed('rsync rsyncd-b::'), /^tmp\s+test module$/m);
});
