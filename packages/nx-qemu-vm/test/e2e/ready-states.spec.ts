// Ready states (warmStart "ready"), proven on a Debian machine with systemd
// and a declared service serving an installed project (the image the NixOS
// ports share, built once a run): prepare saves the machine once it is
// ready, startMachines restores it with its service already up, each start
// from the same saved moment with its own clock, random numbers and
// throwaway disks; a change to the project is swapped in after the restore,
// not saved again; and a state that does not restore (a damaged file, other
// inputs, another QEMU) boots cold with one line.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { startMachines, type MachineSet } from '../../src/test-driver';
import { sharedWorkspace, type SharedWorkspace } from '../helpers/shared-workspace';
import { stderrOf } from '../helpers/stderr';
import { fakeQemu } from '../helpers/fake-qemu';

process.env.VM_ACCEL = 'tcg';
const BOOT_ID = 'cat /proc/sys/kernel/random/boot_id';
const NINE_P_MOUNTS = 'grep -c " 9p " /proc/mounts';

describe('ready states (warmStart "ready")', { timeout: 1_500_000 }, () => {
  let ws: SharedWorkspace;
  let warm: string;
  let savedBootId: string;
  const start = (build = false) =>
    startMachines(['ready'], { workspaceRoot: ws.root, shell: 'bash', build });

  /** A start that must boot cold: the one line it said, and a check that the machine works. */
  async function coldInstead(): Promise<string> {
    let vms: MachineSet<'ready'> | undefined;
    try {
      const said = await stderrOf(async () => {
        vms = await start();
      });
      const lines = said.split('\n').filter((line) => line.includes('nx-qemu-vm: machine'));
      assert.equal(lines.length, 1, said);
      assert.match(lines[0], /the ready state .* did not restore \(.*\); booting cold\./);
      const { ready } = vms!.machines;
      // A boot of its own, up to its service.
      assert.notEqual((await ready.succeed(BOOT_ID)).trim(), savedBootId);
      await ready.waitForOpenPort(8000);
      return lines[0];
    } finally {
      await vms?.shutdown();
    }
  }

  /** Runs `work` with `file` of the ready state changed by `damage`, then puts it back. */
  async function withDamaged(file: string, damage: () => void, work: () => Promise<void>) {
    const kept = `${file}.kept`;
    copyFileSync(file, kept);
    try {
      damage();
      await work();
    } finally {
      copyFileSync(kept, file);
      rmSync(kept);
    }
  }

  before(async () => {
    ws = await sharedWorkspace('nixos-ports', join(__dirname, 'nixos-ports'));
    warm = join(ws.root, 'dist/vm/ready/test-warm');
  });
  after(() => ws?.release());

  it('is saved by prepare with its disks, and restored with the service up and the shares mounted', async () => {
    const vms = await start(true);
    try {
      const { ready } = vms.machines;
      const files = readdirSync(warm).sort();
      for (const f of ['ready-state', 'ready-state.key', 'ready-state.root.qcow2'])
        assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
      assert.ok(!files.includes('test-state'), 'no stage-1 state for the test API');
      // prepare builds the test API's state only: exec's is its own target.
      assert.ok(!existsSync(join(ws.root, 'dist/vm/ready/warm')), "no exec's state");
      // Up at once: the service was ready when the machine was saved.
      await ready.waitForOpenPort(8000, { timeout: 5 });
      assert.equal(
        await ready.succeed('curl -sf http://127.0.0.1:8000/index.html'),
        'served from the ready state\n',
      );
      savedBootId = (await ready.succeed(BOOT_ID)).trim();
      const log = readFileSync(ready.consoleLog, 'utf8');
      assert.match(log, /Reached target .*Multi-User System/, 'the saved boot, in the console');
      // The shares were unmounted for the save and are mounted again.
      assert.ok(Number(await ready.succeed(NINE_P_MOUNTS)) > 0);
      await ready.succeed('echo through > /tmp/shared/probe', 'grep -x through /tmp/shared/probe');
      assert.match(await ready.succeed('ip -4 -o addr show'), /inet 192\.168\.1\.\d+/);
      await ready.succeed('echo later > /root/written-after');
    } finally {
      await vms.shutdown();
    }
  });

  it("starts again from the saved moment, with the host's clock and its own random bytes", async () => {
    const draws: string[] = [];
    for (let i = 0; i < 2; i++) {
      const vms = await start();
      try {
        const { ready } = vms.machines;
        // The same boot, resumed: what the last start wrote is gone.
        assert.equal((await ready.succeed(BOOT_ID)).trim(), savedBootId);
        await ready.succeed('test ! -e /root/written-after');
        const [guestSeconds, bytes] = (
          await ready.succeed('date +%s.%N; head -c 16 /dev/urandom | od -An -tx1 | tr -d " \\n"')
        ).split('\n');
        assert.ok(Math.abs(Number(guestSeconds) - Date.now() / 1000) < 5, guestSeconds);
        draws.push(bytes);
        await ready.waitForOpenPort(8000, { timeout: 5 });
      } finally {
        await vms.shutdown();
      }
    }
    assert.notEqual(draws[0], draws[1], 'two restores drew the same random bytes');
  });

  it('takes a changed installed project after the restore, without saving the state again', async () => {
    const page = join(ws.root, 'nixos-ports/ready-site/src/index.html');
    const before = readFileSync(page, 'utf8');
    writeFileSync(page, 'changed after the save\n');
    const logged: string[] = [];
    const vms = await startMachines(['ready'], {
      workspaceRoot: ws.root,
      shell: 'bash',
      log: (line) => void logged.push(line),
    });
    try {
      const { ready } = vms.machines;
      // The same saved boot: the state was not saved again for the change.
      assert.equal((await ready.succeed(BOOT_ID)).trim(), savedBootId);
      assert.match(
        stripVTControlCharacters(logged.join('')),
        /nx run ready:install\s*\n/,
        'the change was packed',
      );
      await ready.waitForOpenPort(8000, { timeout: 5 });
      assert.equal(
        await ready.succeed('curl -sf http://127.0.0.1:8000/index.html'),
        'changed after the save\n',
      );
      // The service was restarted on the new files, after the restore.
      assert.match(
        await ready.succeed('systemctl show -p NRestarts,ActiveState web'),
        /ActiveState=active/,
      );
    } finally {
      await vms.shutdown();
      writeFileSync(page, before);
    }
  });

  it('reports what the state takes on disk: the memory, and only the blocks the guest wrote', () => {
    const size = (f: string) => statSync(join(warm, f)).blocks * 512;
    const memory = size('ready-state');
    const disk = size('ready-state.root.qcow2');
    // 512 MiB of guest memory: what a Debian system with systemd uses of it, not all.
    assert.ok(memory > 20 * 2 ** 20 && memory < 512 * 2 ** 20, `state: ${memory} bytes`);
    assert.ok(disk < 256 * 2 ** 20, `root disk: ${disk} bytes`);
  });

  it('boots cold, with one line, when the state file is damaged', async () => {
    const state = join(warm, 'ready-state');
    await withDamaged(
      state,
      () => truncateSync(state, 4096),
      async () => {
        await coldInstead();
      },
    );
  });

  it('boots cold, with one line, when the state was saved for other inputs', async () => {
    const key = join(warm, 'ready-state.key');
    await withDamaged(
      key,
      () => writeFileSync(key, '1 2\n'),
      async () => {
        assert.match(await coldInstead(), /saved for another kernel, initrd, image/);
      },
    );
  });

  it('boots cold, with one line, under another QEMU', async () => {
    // The same QEMU under another version string: what an upgrade changes first.
    const bin = fakeQemu(
      join(ws.root, 'other-qemu'),
      'if [ "$1" = --version ]; then echo "QEMU emulator version 99.0.0"; exit 0; fi\nexec /usr/bin/qemu-system-x86_64 "$@"\n',
    );
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      assert.match(await coldInstead(), /saved for another .*QEMU/);
    } finally {
      process.env.PATH = path;
    }
  });
});
