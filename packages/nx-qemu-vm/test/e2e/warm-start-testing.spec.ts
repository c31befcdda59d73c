// Warm starts for the test API (warmStart): startMachines restores the
// state the warm target saved as the test API starts the machine. Proven
// against a cold start of the same machine: the same system, a console that
// reads as a cold boot's, a reboot, persistent disks, and a state that does
// not restore giving a cold boot with one line.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, truncateSync, copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startMachines, type MachineSet } from '../../src/test-driver';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';
import { waitForNoProcesses } from '../helpers/processes';
import { stderrOf } from '../helpers/stderr';

// TCG everywhere: our machines' KVM is broken, and the probe is tested elsewhere.
process.env.VM_ACCEL = 'tcg';
const RESUMED = 'stage 1: resumed from a warm state';
// What a test's command can see of its system; a warm start must show the same.
const PROBE = [
  'cat /proc/mounts',
  // Without the parameter, and without the space that no extra parameters leave.
  "sed 's/ nxvm.warm//; s/ $//' /proc/cmdline",
  'ip -4 -o addr show | sed "s/ valid_lft.*//"',
  'ip route',
  'ls /dev/virtio-ports /sys/class/block',
  'cut -d" " -f1 /proc/modules | sort',
  'env | grep -v "^_=" | sort',
  'ls /sys/bus/acpi/drivers/vmgenid | grep -c :',
].join('; echo ---; ');

/** Runs `work` with VM_WARM_START set as given, for the machines it starts. */
async function withWarmStart<T>(value: '0' | '1', work: () => Promise<T>): Promise<T> {
  const before = process.env.VM_WARM_START;
  process.env.VM_WARM_START = value;
  try {
    return await work();
  } finally {
    if (before === undefined) delete process.env.VM_WARM_START;
    else process.env.VM_WARM_START = before;
  }
}

describe('warm starts of the test API', { timeout: 900_000 }, () => {
  let ws: VmWorkspace;
  let testState: string;
  let vms: MachineSet<'vm'> | undefined;
  const start = (options: { persistent?: boolean; build?: boolean } = {}) =>
    startMachines(['vm'], { workspaceRoot: ws.root, ...options }).then((set) => (vms = set));

  before(() => {
    ws = createVmWorkspace({ vm: { graphics: false, memorySize: 512, warmStart: true } });
    testState = join(ws.root, 'dist/vm/vm/test-warm/test-state');
  });
  after(async () => {
    await vms?.shutdown();
    await waitForNoProcesses(ws.root, 30);
    ws.remove();
  });

  it('builds the state with prepare and restores it; the console reads as a cold boot', async () => {
    const { vm } = (await start()).machines;
    assert.ok(existsSync(testState), 'prepare saved the test API state');
    const log = readFileSync(vm.consoleLog, 'utf8');
    assert.match(log, new RegExp(RESUMED));
    // The saved boot's console comes first, as in a cold boot's log.
    assert.ok(log.indexOf('Linux version') < log.indexOf(RESUMED), log.slice(0, 2000));
    await vm.waitForConsoleText(/Linux version/, { timeout: 10 });
    assert.equal(await vm.succeed('echo warm-ok'), 'warm-ok\n');
    await vms!.shutdown();
  });

  it('gives the test the same system as a cold start, and reboots', async () => {
    const warm = (await start()).machines.vm;
    const seenWarm = await warm.succeed(PROBE);
    assert.match(readFileSync(warm.consoleLog, 'utf8'), new RegExp(RESUMED));
    await warm.reboot({ timeout: 300 });
    assert.equal(await warm.succeed('echo rebooted'), 'rebooted\n');
    assert.equal(await warm.succeed(PROBE), seenWarm, 'the same system after a reboot');
    await vms!.shutdown();
    const cold = (await withWarmStart('0', () => start({ build: false }))).machines.vm;
    assert.doesNotMatch(readFileSync(cold.consoleLog, 'utf8'), new RegExp(RESUMED));
    assert.equal(await cold.succeed(PROBE), seenWarm);
    assert.ok(seenWarm.endsWith('---\n1\n'), 'vmgenid is bound');
    await vms!.shutdown();
  });

  it('keeps what a persistent warm start writes, for exec and the next start', async () => {
    const first = (await start({ persistent: true, build: false })).machines.vm;
    assert.match(readFileSync(first.consoleLog, 'utf8'), new RegExp(RESUMED));
    await first.succeed('echo kept > /root/warm-file && sync');
    await vms!.shutdown();
    const res = ws.exec('vm', 'cat /root/warm-file');
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout.replace(/\r\n/g, '\n'), 'kept\n');
    const again = (await start({ persistent: true, build: false })).machines.vm;
    assert.equal(await again.succeed('cat /root/warm-file'), 'kept\n');
    await vms!.shutdown();
  });

  it('boots cold, with one line saying why, when the state does not restore', async () => {
    const saved = `${testState}.saved`;
    copyFileSync(testState, saved);
    try {
      truncateSync(testState, 4096);
      let machine: MachineSet<'vm'>['machines']['vm'] | undefined;
      const said = await stderrOf(async () => {
        machine = (await start({ build: false })).machines.vm;
      });
      const lines = said.split('\n').filter((line) => line.includes('nx-qemu-vm'));
      assert.equal(lines.length, 1, said);
      assert.match(lines[0], /the warm state .* did not restore \(.*\); booting cold\./);
      assert.equal(await machine!.succeed('echo cold-ok'), 'cold-ok\n');
      const log = readFileSync(machine!.consoleLog, 'utf8');
      assert.match(log, /did not restore/);
      assert.doesNotMatch(log.slice(log.indexOf('did not restore')), new RegExp(RESUMED));
      await vms!.shutdown();
    } finally {
      copyFileSync(saved, testState);
      rmSync(saved);
    }
  });
});
