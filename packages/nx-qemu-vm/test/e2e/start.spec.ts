// M2 start target: an interactive console in a real terminal (tmux, as a
// person would use it), ended by `poweroff` in the guest or by Ctrl-A X, with
// each run's console log kept in the state directory.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';

const tmux = (...args: string[]) => spawnSync('tmux', args, { encoding: 'utf8' });

async function waitForScreen(session: string, pattern: RegExp, seconds: number): Promise<string> {
  let screen = '';
  for (let i = 0; i < seconds * 2; i++) {
    screen = tmux('capture-pane', '-p', '-S', '-200', '-t', session).stdout;
    if (pattern.test(screen)) return screen;
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${pattern}; the terminal shows:\n${screen}`);
}

describe('start', { timeout: 600_000 }, () => {
  let ws: VmWorkspace;
  const session = `nxqv-start-${process.pid}`;
  before(() => {
    // graphics is on by default; with no display the machine falls back to the serial console.
    // Nothing is built beforehand: the first start builds what it needs, and the keyboard must still reach the guest.
    ws = createVmWorkspace({ vm: {} });
  });
  after(() => {
    tmux('kill-session', '-t', session);
    ws.remove();
  });

  async function startInTerminal(): Promise<void> {
    tmux('kill-session', '-t', session);
    const nx = `${process.execPath} ${join(ws.root, 'node_modules/nx/dist/bin/nx.js')}`;
    const env =
      'NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false VM_ACCEL=tcg DISPLAY= WAYLAND_DISPLAY=';
    const started = tmux(
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '160',
      '-y',
      '50',
      `cd ${ws.root} && env ${env} ${nx} run vm:start; echo "NX-EXIT=$?"; sleep 600`,
    );
    assert.equal(started.status, 0, started.stderr);
    await waitForScreen(session, /Root shell on vm/, 240);
    // tmux trims the prompt's trailing space; a kernel message may follow the prompt on its line.
    await waitForScreen(session, /\w# ?($|\[ )/m, 30);
  }

  it('gives a root shell, ends on poweroff and keeps the console log', async () => {
    await startInTerminal();
    tmux('send-keys', '-t', session, 'echo typed-$((6 * 7)); poweroff', 'Enter');
    const screen = await waitForScreen(session, /NX-EXIT=\d+/, 120);
    assert.match(screen, /^typed-42$/m, 'the command ran in the guest');
    assert.match(screen, /NX-EXIT=0/);
    tmux('kill-session', '-t', session);
    const logs = readdirSync(join(ws.root, '.vm/vm/logs'));
    assert.equal(logs.length, 1);
    const log = readFileSync(join(ws.root, '.vm/vm/logs', logs[0]), 'utf8');
    assert.match(log, /Linux version/);
    assert.match(log, /typed-42/);
  });

  it('ends on Ctrl-A X and keeps a log per run', async () => {
    await startInTerminal();
    tmux('send-keys', '-t', session, 'C-a', 'x');
    const screen = await waitForScreen(session, /NX-EXIT=\d+/, 60);
    assert.match(screen, /QEMU: Terminated/);
    tmux('kill-session', '-t', session);
    assert.equal(readdirSync(join(ws.root, '.vm/vm/logs')).length, 2);
  });
});
