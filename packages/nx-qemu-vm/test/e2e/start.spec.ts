// The start target: an interactive console in a real terminal (tmux, as a
// person would use it), ended by `poweroff` in the guest or by Ctrl-A X, with
// each run's console log kept in the state directory.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';
import { processesMentioning, waitForNoProcesses } from '../helpers/processes';

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
    mkdirSync(join(ws.root, 'tmp'), { recursive: true });
    const env = `NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false VM_ACCEL=tcg DISPLAY= WAYLAND_DISPLAY= TMPDIR=${join(ws.root, 'tmp')}`;
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
    // The whole terminal, wrapped lines joined.
    const all = tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session).stdout;
    assert.match(
      all,
      /^run-vm-vm: accelerator: TCG \(software emulation, many times slower than KVM\): VM_ACCEL is set$/m,
      'the run says which accelerator it uses',
    );
    assert.doesNotMatch(all, /Killed/, 'power-off kills the shell without a word');
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

  // In a terminal, Nx runs the task in a pseudo-terminal and stops it by
  // signalling every process of its tree, leaves first: QEMU itself gets the
  // signal before anything of ours can power the guest off. QEMU then stops
  // at once, with its disk images flushed and consistent; to the guest it is
  // a power cut, and its next boot replays the ext4 journal (e2fsck -p in
  // stage 1). (Without a terminal, Nx signals only the executor, and the
  // guest powers off cleanly: running-machines.spec.ts.)
  it('stops everything when nx is stopped with SIGTERM in a terminal, and the disk comes back clean', async () => {
    await startInTerminal();
    const nx = processesMentioning('run vm:start').find((p) => p.command.includes('nx.js'));
    assert.ok(nx, 'nx run vm:start is running');
    process.kill(nx.pid, 'SIGTERM');
    await sleep(5000);
    tmux('kill-session', '-t', session);
    await waitForNoProcesses(ws.root, 20);
    assert.deepEqual(
      readdirSync(join(ws.root, 'tmp')).filter((f) => f.startsWith('nx-qemu-vm')),
      [],
      'the run removed its scratch directory',
    );
    const check = spawnSync('qemu-img', ['check', join(ws.root, '.vm/vm/vm.qcow2')], {
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    // The next boot repairs whatever the power cut left; the one after finds the root clean.
    assert.equal(ws.exec('vm', 'true', { VM_ACCEL: 'tcg' }).status, 0);
    assert.equal(
      ws.exec('vm', 'true', { VM_ACCEL: 'tcg', QEMU_KERNEL_PARAMS: 'nxvm.fsck=check' }).status,
      0,
    );
    assert.match(ws.consoleLog('vm'), /stage 1: e2fsck -fn \/dev\/vda: clean/);
  });
});
