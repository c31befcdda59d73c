// Snapshots inside a test, proven on two Debian machines with systemd on one
// vlan (two roles of the image the NixOS ports share, built once a run): an
// expensive setup done once and restored before each test, with the state of
// the snapshot back (a file written after it is gone, a service stopped after
// it runs, a connection between the machines works, the guest's own clock
// goes on from it), the clock and random generator of now, the shares mounted; one machine alone; and each refusal.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startMachines, type MachineSet, type SetSnapshot } from '../../src/test-driver';
import { sharedWorkspace, type SharedWorkspace } from '../helpers/shared-workspace';
import { createTempWorkspace } from '../helpers/temp-workspace';
import { join } from 'node:path';

process.env.VM_ACCEL = 'tcg';
const FETCH = 'curl -sf --max-time 20 http://peer0:8000/before';
const NINE_P_MOUNTS = 'grep -c " 9p " /proc/mounts';

const uptime = async (m: { succeed(c: string): Promise<string> }) =>
  Number((await m.succeed('cut -d" " -f1 /proc/uptime')).trim());

describe('snapshots inside a test', { timeout: 1_500_000 }, () => {
  let ws: SharedWorkspace;
  let vms: MachineSet<'peer0' | 'peer1'>;
  let setUp: SetSnapshot;
  let shares: string;
  /** The guest's uptime, and the host's clock, when the snapshot was taken. */
  let uptimeAtSnapshot: number;
  let takenAtMs: number;

  before(async () => {
    ws = await sharedWorkspace('nixos-ports', join(__dirname, 'nixos-ports'));
    vms = await startMachines(['peer0', 'peer1'], { workspaceRoot: ws.root, shell: 'bash' });
    const { peer0 } = vms.machines;
    // The expensive setup, done once: data, and a service that serves it.
    await peer0.succeed(
      'echo hello > /root/before',
      'systemd-run --unit=web python3 -m http.server 8000 --directory /root',
    );
    await peer0.waitForOpenPort(8000);
    shares = await peer0.succeed(NINE_P_MOUNTS);
    uptimeAtSnapshot = await uptime(peer0);
    setUp = await vms.snapshot();
    takenAtMs = Date.now();
  });
  after(async () => {
    await vms?.shutdown();
    ws?.release();
  });

  it('saves both machines and reports what each state takes', async () => {
    for (const name of ['peer0', 'peer1'] as const) {
      const s = setUp.machines[name];
      assert.equal(s.machine, name);
      // Memory in use by a Debian system with systemd: tens of MiB at least, and less than all of it.
      assert.ok(s.bytes > 20 * 2 ** 20 && s.bytes < 512 * 2 ** 20, `${name}: ${s.bytes} bytes`);
    }
    assert.equal(setUp.bytes, setUp.machines.peer0.bytes + setUp.machines.peer1.bytes);
    // The shares were unmounted for the save and are back.
    assert.equal(await vms.machines.peer0.succeed(NINE_P_MOUNTS), shares);
    await vms.machines.peer0.succeed('echo through > /tmp/shared/probe', 'cat /tmp/shared/probe');
  });

  it('brings back the state of the snapshot after the machines changed', async () => {
    const { peer0, peer1 } = vms.machines;
    await peer0.succeed('echo later > /root/after', 'systemctl stop web');
    await peer1.fail(FETCH);
    await vms.restore(setUp);
    await peer0.succeed('test ! -e /root/after');
    assert.equal(await peer1.succeed(FETCH), 'hello\n');
    assert.equal(await peer0.succeed(NINE_P_MOUNTS), shares);
    await peer0.succeed('echo again > /tmp/shared/probe', 'grep -x again /tmp/shared/probe');
  });

  it("gives the guests the host's clock and fresh random bytes at each restore", async () => {
    const { peer0 } = vms.machines;
    // Long enough since the snapshot for a clock carried along to show it,
    // and past the guest kernel's soft-lockup threshold (20 s).
    const since = Date.now() - takenAtMs;
    if (since < 25_000) await new Promise((r) => setTimeout(r, 25_000 - since));
    const draws: string[] = [];
    for (let i = 0; i < 2; i++) {
      await vms.restore(setUp);
      const [guestSeconds, bytes] = (
        await peer0.succeed('date +%s.%N; head -c 16 /dev/urandom | od -An -tx1 | tr -d " \\n"')
      ).split('\n');
      assert.ok(
        Math.abs(Number(guestSeconds) - Date.now() / 1000) < 5,
        `guest clock ${guestSeconds}`,
      );
      draws.push(bytes);
      // The guest's own clock goes on from the snapshot: it did not run in between.
      const ran = (await uptime(peer0)) - uptimeAtSnapshot;
      assert.ok(ran >= 0 && ran < 10, `uptime moved ${ran} s across the restore`);
    }
    assert.equal(await peer0.succeed('dmesg | grep -c "soft lockup" || true'), '0\n');
    // The same saved generator would give the same bytes twice without the reseed.
    assert.notEqual(draws[0], draws[1]);
  });

  it('keeps several snapshots, and restores one machine alone', async () => {
    const { peer0, peer1 } = vms.machines;
    await peer1.succeed('echo second > /root/second');
    const second = await vms.snapshot();
    await vms.restore(setUp);
    await peer1.succeed('test ! -e /root/second');
    await vms.restore(second);
    await peer1.succeed('grep -x second /root/second');
    await vms.deleteSnapshot(second);
    await assert.rejects(vms.restore(second), /not one snapshot\(\) returned|does not exist/);

    // A snapshot QEMU no longer has (deleted behind the API's back): the
    // machine that cannot load it runs on as it was, its shares mounted, and
    // the restore says why; the other machine is restored.
    const third = await vms.snapshot();
    await peer1.succeed('echo after-third > /root/third');
    await peer0.sendMonitorCommand(`delvm ${third.machines.peer0.name}`);
    await assert.rejects(vms.restore(third), /loadvm nxvm-\d+: .*/);
    assert.equal(await peer0.succeed(NINE_P_MOUNTS), shares);
    await peer1.succeed('test ! -e /root/third');
    await peer0.succeed('echo still > /tmp/shared/probe');

    const alone = await peer1.snapshot();
    await peer0.succeed('echo kept > /root/kept');
    await peer1.succeed('echo gone > /root/gone');
    await peer1.restore(alone);
    await peer1.succeed('test ! -e /root/gone');
    await peer0.succeed('grep -x kept /root/kept');
    assert.equal(await peer1.succeed(FETCH), 'hello\n');
  });

  it('refuses a snapshot while a command runs, or while a share is in use', async () => {
    const { peer0 } = vms.machines;
    const running = peer0.succeed('touch /tmp/started; sleep 5');
    await peer0.waitForFile('/tmp/started');
    await assert.rejects(vms.snapshot(), /1 command\(s\) still run in it/);
    await running;
    await peer0.succeed('systemd-run --unit=holder --working-directory=/tmp/shared sleep 600');
    await assert.rejects(vms.snapshot(), /\/tmp\/shared could not be unmounted \(.*\(sleep\)/);
    // What it unmounted before it met the busy share is mounted again.
    assert.equal(await peer0.succeed(NINE_P_MOUNTS), shares);
    // A restore throws this state away, a share in use and what uses it.
    await vms.restore(setUp);
    await peer0.fail('systemctl is-active holder');
  });

  it('refuses a snapshot of a run that ended', async () => {
    const { peer1 } = vms.machines;
    const s = await peer1.snapshot();
    await peer1.shutdown();
    await peer1.start();
    await assert.rejects(peer1.restore(s), /taken before the machine last stopped/);
  });
});

describe('machines that cannot be saved', () => {
  it('says why for a system on the host /usr share and for persistent disks', async () => {
    const tmp = createTempWorkspace({ machines: { vm: { graphics: false } } });
    try {
      for (const persistent of [false, true]) {
        const set = await startMachines(['vm'], {
          workspaceRoot: tmp.root,
          build: false,
          start: false,
          persistent,
        });
        await assert.rejects(
          set.machines.vm.snapshot(),
          persistent ? /snapshots need throwaway disks/ : /host's \/usr on a 9p share/,
        );
        await set.shutdown();
      }
    } finally {
      tmp.remove();
    }
  });
});
