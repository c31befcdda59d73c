// Port of nixos/tests/mosquitto.nix: a broker with users, ACLs and an
// anonymous listener, and two clients that publish and subscribe through it.
//
// What differs, and why: Debian's mosquitto package, its configuration files
// of this directory (files/mosquitto/, what NixOS's module writes from its
// `listeners` options). Every user's password is in one file, written in
// clear and hashed by mosquitto_passwd before the broker starts (a drop-in),
// so the original's four ways of giving a password (in clear or hashed, in
// the config or a file) are two users of that file here. The TLS listener
// and its subtest are left out: they need certificates made for the test.
// NixOS's journal reaches the console, where the original waits for a
// client's id; here the test reads the broker's journal, and waits for the
// subscription itself (the id with its topic), not the connection, so the
// publisher cannot come first. A subscriber waits 15 s for its message
// (the original: 5 s), since every step is slower under emulation.
// The machines are roles of the Debian image all the ports share
// (workspace-vm.json), with the image's other packaged services masked.
import { after, before, test } from 'node:test';
import { startMachines, subtest } from '../../../src/test-driver';
import { sharedWorkspace, type SharedWorkspace } from '../../helpers/shared-workspace';

process.env.VM_ACCEL = 'tcg';
let ws: SharedWorkspace;
before(async () => (ws = await sharedWorkspace('nixos-ports', __dirname)));
after(() => ws?.release());

const PORT = 1888;
const ANON_PORT = 1890;
const PASSWORD = 'VERY_secret';
const TOPIC = 'test/foo';
const SUBSCRIBER_WAIT = 15;

const mosquittoCmd = (binary: string, user: string, topic: string, port: number) =>
  `mosquitto_${binary} -V mqttv311 -h mqtt-server -p ${port} -u ${user} -P '${PASSWORD}' -t '${topic}'`;
const publish = (args: string, user: string, topic = TOPIC, port = PORT) =>
  `${mosquittoCmd('pub', user, topic, port)} ${args}`;
const subscribe = (args: string, user: string, topic = TOPIC, port = PORT) =>
  `${mosquittoCmd('sub', user, topic, port)} -W ${SUBSCRIBER_WAIT} -C 1 ${args}`;

test('mosquitto', { timeout: 1_200_000 }, async () => {
  await using vms = await startMachines(['mqtt-server', 'mqtt-client1', 'mqtt-client2'], {
    workspaceRoot: ws.root,
    shell: 'bash',
  });
  const { 'mqtt-server': server, 'mqtt-client1': client1, 'mqtt-client2': client2 } = vms.machines;
  /** Until the broker has logged the subscription of the client of this id. */
  const waitSubscribed = (id: string) =>
    server.waitUntilSucceeds(`journalctl -u mosquitto --no-pager | grep -qF '${id} 0 ${TOPIC}'`);
  /** A subscriber on client1 (it must get the message or not) and, once it listens, a publisher on client2. */
  const subscribeThenPublish = (
    expect: 'succeed' | 'fail',
    id: string,
    subscriber: string,
    publisher: string,
    port = PORT,
  ) =>
    Promise.all([
      client1[expect](subscribe(`-i ${id}`, subscriber, TOPIC, port)),
      waitSubscribed(id).then(() => client2.succeed(publish('-m test', publisher, TOPIC, port))),
    ]);

  await server.waitForUnit('mosquitto.service');

  await subtest('check passwords', async () => {
    await client1.succeed(publish('-m test', 'password_store'));
    await client1.succeed(publish('-m test', 'password_file'));
    // Beyond the original: a user the broker does not know is refused.
    await client1.fail(publish('-m test', 'no_such_user'));
  });

  await subtest('check acl', async () => {
    await client1.succeed(subscribe('', 'reader', '$SYS/#'));
    await client1.fail(subscribe('', 'writer', '$SYS/#'));

    await subscribeThenPublish(
      'succeed',
      '3688cdd7-aa07-42a4-be22-cb9352917e40',
      'reader',
      'writer',
    );
    await subscribeThenPublish('fail', '24ff16a2-ae33-4a51-9098-1b417153c712', 'reader', 'reader');
  });

  await subtest('check anonymous listener', async () => {
    await subscribeThenPublish(
      'succeed',
      'fd56032c-d9cb-4813-a3b4-6be0e04c8fc3',
      'anonReader',
      'anonWriter',
      ANON_PORT,
    );
  });
});
