// Console logins, after NixOS's nixos/tests/login.nix: a Debian systemd guest
// with a display shows agetty's prompt on the terminals of `gettys` (and on no
// other), an account of `users` logs in on tty1 and tty2 with its password
// (a wrong one is refused), logind registers each session, and a logout
// brings the prompt back, read off the screen by OCR. One boot (TCG) serves
// every check.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';
import { waitForNoProcesses } from '../helpers/processes';
import { type Machine, type MachineSet, startMachines } from '../../src/test-driver';

const PASSWORD = 'correct horse';
/**
 * The wait for one step of the guest under TCG, which the other suites' boots
 * may slow down. The patterns leave room after a prompt: the kernel's late
 * messages (console=tty0) land on the terminal in front.
 */
const STEP = { timeout: 180 };
/** Typed as key presses, on the terminal in front, as NixOS's sendChars types. */
const KEYBOARD = { to: 'keyboard' } as const;

describe('console logins (gettys, users) on a Debian systemd guest', { timeout: 1_800_000 }, () => {
  let ws: VmWorkspace;
  let vms: MachineSet<'desk'> | undefined;
  let desk: Machine;

  before(async () => {
    ws = createVmWorkspace({
      desk: {
        graphics: true,
        init: 'systemd',
        // pgrep, as NixOS's test uses it (procps is not Essential).
        system: { from: 'debian', packages: ['procps'] },
        gettys: ['tty1', 'tty2'],
        users: { alice: { password: PASSWORD } },
      },
    });
    vms = await startMachines(['desk'], { workspaceRoot: ws.root });
    desk = vms.machines.desk;
  });
  after(async () => {
    await vms?.shutdown();
    if (ws) await waitForNoProcesses(ws.root, 30);
    ws?.remove();
  });

  /** The logind sessions on a terminal, as "user tty" lines (su's, which the user calls open, have none). */
  const sessions = () =>
    desk.succeed(
      'loginctl list-sessions --no-legend | while read -r id rest; do loginctl show-session "$id" -p Name -p TTY --value | paste -sd " "; done | grep " tty" | sort',
    );

  it('shows a login prompt on the named terminals, and on no other', async () => {
    await desk.waitForUnit('multi-user.target', STEP);
    await desk.waitUntilSucceeds('pgrep -t tty1 agetty', STEP);
    await desk.waitUntilSucceeds('pgrep -t tty2 agetty', STEP);
    await desk.waitUntilTtyMatches(1, /^desk login: /m, STEP);
    // The display shows tty1: the kernel's console, then the prompt.
    await desk.waitForText(/desk login/, STEP);
    // tty3 was not named: switching to it (chvt: alt-F3 cannot reach a
    // terminal no program opened) starts no getty, as logind's autovt would;
    // the last test looks again, well after logind saw the switch.
    await desk.succeed('busybox chvt 3');
    assert.equal(await desk.succeed('cat /sys/class/tty/tty0/active'), 'tty3\n');
    assert.match(
      await desk.succeed('systemctl is-enabled getty@tty3.service || true'),
      /^masked(-runtime)?\n$/,
    );
  });

  it('logs the account in on tty1 with its password, as a logind session', async () => {
    await desk.sendChars('alice\n', { to: 'tty', n: 1 });
    await desk.waitUntilTtyMatches(1, /login: alice[^]*Password:/, STEP);
    await desk.sendChars(`${PASSWORD}\n`, KEYBOARD);
    await desk.waitUntilSucceeds('pgrep -u alice bash', STEP);
    await desk.sendChars('echo "$(id -un) on $(tty)" > ~/session\n', KEYBOARD);
    await desk.waitForFile('/home/alice/session', STEP);
    assert.equal(await desk.succeed('cat /home/alice/session'), 'alice on /dev/tty1\n');
    assert.equal(await sessions(), 'alice tty1\n');
    assert.match(await desk.succeed('who'), /^alice +tty1 /m);
  });

  it("reaches the logged-in account's own systemd instance (user@.service)", async () => {
    const uid = (await desk.succeed('id -u alice')).trim();
    await desk.waitForUnit(`user@${uid}.service`, STEP);
    await desk.waitForUnit('default.target', { user: 'alice', ...STEP });
    assert.deepEqual(await desk.systemctl('is-active default.target', { user: 'alice' }), {
      status: 0,
      stdout: 'active\n',
    });
    assert.equal(await desk.succeed(`stat -c %U /run/user/${uid}`), 'alice\n');
  });

  it('refuses a wrong password on tty2, then logs in there too', async () => {
    await desk.sendKeys('alt-f2');
    await desk.waitUntilSucceeds('[ "$(cat /sys/class/tty/tty0/active)" = tty2 ]', STEP);
    await desk.waitForUnit('getty@tty2.service', STEP);
    await desk.waitUntilTtyMatches(2, /^desk login: /m, STEP);
    await desk.sendChars('alice\n', KEYBOARD);
    await desk.waitUntilTtyMatches(2, /login: alice[^]*Password:/, STEP);
    await desk.sendChars('not the password\n', KEYBOARD);
    // login(1) waits a few seconds before it says so and asks again.
    await desk.waitUntilTtyMatches(2, /Login incorrect[^]*desk login:/, STEP);
    assert.equal(await sessions(), 'alice tty1\n', 'no session for the wrong password');
    await desk.sendChars('alice\n', KEYBOARD);
    await desk.waitUntilTtyMatches(2, /Login incorrect[^]*login: alice[^]*Password:/, STEP);
    await desk.sendChars(`${PASSWORD}\n`, KEYBOARD);
    await desk.sendChars('echo "tty2 says $((6 * 7))"\n', KEYBOARD);
    await desk.waitUntilTtyMatches(2, /^tty2 says 42 *$/m, STEP);
    assert.equal(await sessions(), 'alice tty1\nalice tty2\n');
  });

  it('logs out: the session ends and the prompt is back on the screen', async () => {
    await desk.sendChars('exit\n', { to: 'tty', n: 2 });
    await desk.waitUntilSucceeds(
      '[ "$(loginctl list-sessions --no-legend | grep -c tty2)" = 0 ]',
      STEP,
    );
    assert.equal(await sessions(), 'alice tty1\n');
    // A new getty on tty2, its prompt on the display (tty2 is in front).
    const screen = await desk.waitForText(/desk login/, STEP);
    assert.doesNotMatch(screen, /tty2 says/, 'the new getty cleared the screen');
    // Still no getty on tty3, minutes after the switch to it.
    await desk.fail('pgrep -t tty3 agetty');
    assert.equal(
      await desk.succeed('systemctl is-active autovt@tty3.service || true'),
      'inactive\n',
    );
  });
});
