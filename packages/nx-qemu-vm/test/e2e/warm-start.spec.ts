// Warm starts (warmStart): exec restores a state saved once at the end of
// stage 1's driver loading. Proven against cold boots of the same machine: the
// command sees the same system, the root disk persists across both modes, the
// clock is the host's, each run's random numbers are its own, and a state that
// does not match or does not restore gives a cold boot with one line.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';

const RESUMED = 'stage 1: resumed from a warm state';

/** stderr without the run script's one line about its accelerator, which every run has. */
function besidesAccelerator(stderr: string): string {
  const lines = stderr.split('\n');
  const accel = lines.filter((l) => l.startsWith('run-vm-vm: accelerator: '));
  assert.equal(accel.length, 1, `one accelerator line in:\n${stderr}`);
  return lines.filter((l) => !accel.includes(l)).join('\n');
}
// What a command can see of its system; the warm run must see the same.
const PROBE = [
  'cat /proc/mounts',
  "sed 's/ nxvm.warm//' /proc/cmdline",
  'hostname',
  'id',
  'ip -4 -o addr show | sed "s/ valid_lft.*//"',
  'ip route',
  'ls /dev/virtio-ports /sys/class/block',
  'cat /sys/class/block/vda/size /sys/class/block/vdb/size',
  'lsmod 2>/dev/null | cut -d" " -f1 | sort || cut -d" " -f1 /proc/modules | sort',
  'cat /etc/hostname /etc/hosts /etc/resolv.conf',
  'env | grep -v "^_=" | sort',
  // Last: the driver that reseeds the random generator after a restore, bound to QEMU's device.
  'ls /sys/bus/acpi/drivers/vmgenid | grep -c :',
].join('; echo ---; ');

describe('warm starts', { timeout: 900_000 }, () => {
  let ws: VmWorkspace;
  let state: string;
  const cold = { VM_WARM_START: '0' };
  // The command's console is a terminal in the guest: its lines end in CR LF.
  const run = (command: string, env: Record<string, string> = {}) => {
    const res = ws.exec('vm', command, env);
    return { ...res, stdout: res.stdout.replace(/\r\n/g, '\n') };
  };

  before(() => {
    ws = createVmWorkspace({
      vm: { graphics: false, memorySize: 512, emptyDiskImages: [16], warmStart: true },
    });
    state = join(ws.root, 'dist/vm/vm/warm/state');
  });
  after(() => ws.remove());

  it('nx run vm:exec saves the state once (a cached step), then restores it', () => {
    let res = ws.nx(['run', 'vm:exec', '--command=echo warm-ok'], { VM_ACCEL: 'tcg' });
    assert.equal(res.status, 0, res.output);
    assert.match(res.output, /wrote dist\/vm\/vm\/warm\/state \([\d.]+ MiB\)/);
    assert.match(res.output, /warm-ok/);
    // The save used scratch disks: the user's are made by the run that needs them.
    assert.match(res.output, /created root disk \.vm\/vm\/vm\.qcow2/);
    assert.match(res.output, /created empty disk \.vm\/vm\/empty0\.qcow2/);
    assert.match(ws.consoleLog('vm'), new RegExp(RESUMED));
    res = ws.nx(['run', 'vm:exec', '--command=echo again'], { VM_ACCEL: 'tcg' });
    assert.equal(res.status, 0, res.output);
    const plain = res.output.replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(
      plain,
      /nx run vm:warm +\[(local cache|existing outputs match the cache, left as is)\]/,
    );
    assert.match(res.output, /again/);
    assert.match(ws.consoleLog('vm'), new RegExp(RESUMED));
  });

  it('gives the command the same system as a cold boot', () => {
    const warm = run(PROBE);
    assert.equal(warm.status, 0, warm.stderr);
    assert.match(ws.consoleLog('vm'), new RegExp(RESUMED));
    const coldRun = run(PROBE, cold);
    assert.equal(coldRun.status, 0, coldRun.stderr);
    assert.doesNotMatch(ws.consoleLog('vm'), new RegExp(RESUMED));
    assert.equal(warm.stdout, coldRun.stdout);
    assert.equal(besidesAccelerator(warm.stderr), '');
    assert.match(warm.stdout, / \/tmp\/xchg 9p /, 'the shares are mounted');
    assert.ok(warm.stdout.endsWith('---\n1\n'), 'vmgenid is bound');
  });

  it('keeps the root disk across warm and cold runs, and formats a new one when warm', () => {
    let res = run('echo kept-$((6 * 7)) > /root/keep && sync');
    assert.equal(res.status, 0, res.stderr);
    res = run('cat /root/keep', cold);
    assert.equal(res.stdout, 'kept-42\n', res.stderr);
    res = run('cat /root/keep; echo more >> /root/keep');
    assert.equal(res.stdout, 'kept-42\n', res.stderr);
    res = run('cat /root/keep');
    assert.equal(res.stdout, 'kept-42\nmore\n', res.stderr);
    rmSync(join(ws.root, '.vm/vm/vm.qcow2'));
    res = run('test -e /root/keep && echo old || echo new; findmnt -n -o FSTYPE /');
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, 'new\next4\n');
    assert.match(res.stderr, /created root disk/);
  });

  it("sets the guest's clock from the host and gives every run its own random numbers", () => {
    const runs = [0, 1].map(() => {
      const before = Math.floor(Date.now() / 1000);
      const res = run(
        'date +%s; cat /proc/sys/kernel/random/uuid; head -c 16 /dev/urandom | od -An -tx1',
      );
      const after = Math.ceil(Date.now() / 1000);
      assert.equal(res.status, 0, res.stderr);
      const [clock, uuid, bytes] = res.stdout.trim().split('\n');
      assert.ok(
        Number(clock) >= before - 2 && Number(clock) <= after + 2,
        `guest clock ${clock} outside [${before}, ${after}]`,
      );
      return { uuid, bytes };
    });
    assert.notEqual(runs[0].uuid, runs[1].uuid);
    assert.notEqual(runs[0].bytes, runs[1].bytes);
  });

  it('boots cold, saying why, when the state does not match the run', () => {
    const res = run('cat /proc/cmdline', { QEMU_KERNEL_PARAMS: 'nxvm.test=1' });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /nxvm\.test=1/);
    assert.doesNotMatch(res.stdout, /nxvm\.warm/);
    assert.match(
      res.stderr,
      /cold boot: the warm state was saved for another .*QEMU_KERNEL_PARAMS/,
    );
    assert.equal(besidesAccelerator(res.stderr).trim().split('\n').length, 1, res.stderr);
  });

  it('restores for a caller that keeps the run directory, and starts the guest agent there', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'nxqv-warm-'));
    try {
      const res = run(
        'for i in $(seq 100); do pidof qemu-ga >/dev/null && break; sleep 0.2; done; pidof qemu-ga >/dev/null && echo agent-up',
        { TMPDIR: scratch, USE_TMPDIR: '1' },
      );
      assert.equal(res.status, 0, res.stderr);
      assert.equal(besidesAccelerator(res.stderr), '', 'no cold boot');
      assert.match(ws.consoleLog('vm'), new RegExp(RESUMED));
      assert.equal(res.stdout, 'agent-up\n');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('starts QEMU once when the cold boot of a stale state fails', () => {
    const res = run('true', { QEMU_OPTS: '-device no-such-device' });
    assert.equal(res.status, 125, res.stderr);
    assert.match(res.stderr, /cold boot: the warm state was saved for another/);
    assert.doesNotMatch(res.stderr, /did not restore/);
    assert.equal(res.stderr.match(/'no-such-device' is not a valid device model name/g)?.length, 1);
  });

  it('boots cold, saying why, when the state does not restore', () => {
    const saved = `${state}.saved`;
    copyFileSync(state, saved);
    try {
      writeFileSync(state, readFileSync(saved).subarray(0, 4096));
      const res = run('echo ran-once >> /root/count; cat /root/count | wc -l');
      assert.equal(res.status, 0, res.stderr);
      assert.match(
        res.stderr,
        /the warm state .* did not restore \(QEMU exit status \d+\); booting cold/,
      );
      assert.equal(res.stdout, '1\n', 'the command ran once');
    } finally {
      copyFileSync(saved, state);
      rmSync(saved);
    }
  });
});
