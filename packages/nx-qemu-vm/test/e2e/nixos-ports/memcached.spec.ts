// Port of nixos/tests/memcached.nix: memcached starts, listens on its port,
// and a client stores a value and reads it back.
//
// What differs, and why: Debian's memcached package (its unit, listening on
// 127.0.0.1:11211 as NixOS's module does) and python3-memcache, Debian's
// build of the same client library, run with python3 instead of a script
// the Nix store builds. The machine is one role of the Debian image all the
// ports share (workspace-vm.json): the image's other packaged services are
// masked on it.
import { after, before, test } from 'node:test';
import { startMachines } from '../../../src/test-driver';
import { sharedWorkspace, type SharedWorkspace } from '../../helpers/shared-workspace';

process.env.VM_ACCEL = 'tcg';
let ws: SharedWorkspace;
before(async () => (ws = await sharedWorkspace('nixos-ports', __dirname)));
after(() => ws?.release());

/** The client: a value stored under a key comes back as it was. */
const CLIENT = `python3 - <<'PY'
import memcache
client = memcache.Client(['localhost:11211'])
client.set('greeting', 'hello')
assert client.get('greeting') == 'hello', client.get('greeting')
PY`;

test('memcached', { timeout: 1_200_000 }, async () => {
  await using vms = await startMachines(['memcached'], { workspaceRoot: ws.root, shell: 'bash' });
  const machine = vms.machines.memcached;

  await machine.waitForUnit('memcached.service');
  await machine.waitForOpenPort(11211);
  await machine.succeed(CLIENT);
});
