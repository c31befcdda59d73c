// Ctrl-C and SIGTERM on running machines (exec, start, serve and the run
// script itself). Each time: the guest powers off cleanly within a bounded
// time, the scratch directories are gone, no process is left, and the
// persistent root disk passes `qemu-img check` and e2fsck in the next boot.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';
import { NX_TEST_ENV } from '../helpers/temp-workspace';
import { type RunningCommand, startCommand, waitForNoProcesses } from '../helpers/processes';

const ENV = {
  VM_ACCEL: 'tcg',
  ...NX_TEST_ENV,
  VM_EXEC_TIMEOUT: '600',
  // Nx SIGKILLs a stopped task's processes after this grace period (5 s by
  // default), and the executors keep the guest's clean power-off within it;
  // two suites at once on two cores make a power-off slower than that.
  NX_PROCESS_KILL_GRACE_PERIOD: '30000',
};

describe('running machines, stopped by a signal', { timeout: 30 * 60_000 }, () => {
  let ws: VmWorkspace;
  let scratch: string;
  const env = () => ({ ...process.env, ...ENV, HOME: ws.root, TMPDIR: scratch });
  const nx = (...args: string[]) =>
    startCommand(process.execPath, [join(ws.root, 'node_modules/nx/dist/bin/nx.js'), ...args], {
      cwd: ws.root,
      env: env(),
    });
  const disk = () => join(ws.root, '.vm/vm/vm.qcow2');

  /** Waits for the guest to run its command, then stops the command and checks what is left. */
  async function stopAndCheck(
    cmd: RunningCommand,
    stop: (c: RunningCommand) => void,
    marker: RegExp,
  ) {
    await cmd.waitFor(marker, 300);
    const stoppedAt = Date.now();
    stop(cmd);
    await cmd.exited;
    const seconds = (Date.now() - stoppedAt) / 1000;
    await waitForNoProcesses(ws.root, 20);
    assert.deepEqual(
      readdirSync(scratch).filter((f) => f.startsWith('nx-qemu-vm')),
      [],
      `scratch directories are removed:\n${cmd.output()}`,
    );
    assert.ok(seconds < 30, `stopped within 30 s (took ${seconds.toFixed(1)} s)`);
    const check = spawnSync('qemu-img', ['check', disk()], { encoding: 'utf8' });
    assert.equal(check.status, 0, `qemu-img check: ${check.stdout}${check.stderr}`);
    return cmd.output();
  }

  /** The next boot: e2fsck of the root disk, read-only and forced, before stage 1 mounts it. */
  function rootFileSystemIsClean(): void {
    const res = ws.exec('vm', 'true', { QEMU_KERNEL_PARAMS: 'nxvm.fsck=check' });
    assert.equal(res.status, 0, res.stderr);
    const log = ws.consoleLog('vm');
    assert.match(log, /stage 1: e2fsck -fn .*: clean/, log);
  }

  before(() => {
    ws = createVmWorkspace({ vm: { graphics: false } });
    ws.buildAll();
    scratch = join(ws.root, 'scratch');
    mkdirSync(scratch);
    // The first boot formats the root disk.
    assert.equal(ws.exec('vm', 'true', { TMPDIR: scratch }).status, 0);
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch);
  });
  after(() => ws.remove());

  it('nx run vm:exec, Ctrl-C: the guest powers off cleanly', async () => {
    const cmd = nx('run', 'vm:exec', '--command=echo guest-$((40+2)); sleep 600');
    // Nx leaves at once on Ctrl-C; the executor behind it powers the guest off.
    await stopAndCheck(cmd, (c) => c.interrupt(), /guest-42/);
    const log = readFileSync(join(ws.root, '.vm/vm/last-exec-console.log'), 'utf8');
    assert.match(
      log,
      /reboot: Power down/,
      `no clean power-off; console ends:\n${log.slice(-3000)}`,
    );
    rootFileSystemIsClean();
  });

  it('nx run vm:exec, SIGTERM to Nx', async () => {
    const cmd = nx('run', 'vm:exec', '--command=echo guest-$((40+2)); sleep 600');
    await stopAndCheck(cmd, (c) => c.signal('SIGTERM'), /guest-42/);
    rootFileSystemIsClean();
  });

  it('nx run vm:exec, SIGKILL to Nx: the machine stops all the same', async () => {
    const cmd = nx('run', 'vm:exec', '--command=echo guest-$((40+2)); sleep 600');
    await stopAndCheck(cmd, (c) => c.signal('SIGKILL'), /guest-42/);
    rootFileSystemIsClean();
  });

  it('the exec script and the run script themselves, SIGTERM and SIGINT', async () => {
    for (const [script, args] of [
      [ws.execScript('vm'), ['echo guest-$((40+2)); sleep 600']],
      [
        join(ws.root, 'dist/vm/vm/bin/run-vm-vm'),
        ['-display', 'none', '-serial', 'stdio', '-monitor', 'none'],
      ],
    ] as const)
      for (const stop of [
        (c: RunningCommand) => c.signal('SIGTERM'),
        (c: RunningCommand) => c.interrupt(),
      ]) {
        const cmd = startCommand(script, [...args], { cwd: ws.root, env: env() });
        const output = await stopAndCheck(cmd, stop, /guest-42|Root shell on vm/);
        if (script.endsWith('run-vm-vm')) assert.match(output, /reboot: Power down/);
      }
    rootFileSystemIsClean();
  });

  it('the run script SIGKILLed: QEMU dies with it, and the next boot is fine', async () => {
    const cmd = startCommand(
      join(ws.root, 'dist/vm/vm/bin/run-vm-vm'),
      ['-display', 'none', '-serial', 'stdio', '-monitor', 'none'],
      { cwd: ws.root, env: env() },
    );
    await cmd.waitFor(/Root shell on vm/, 300);
    cmd.signal('SIGKILL');
    await cmd.exited;
    await waitForNoProcesses(ws.root, 20);
    // No clean power-off, no cleanup is possible: a power cut, which the next
    // boot's e2fsck repairs; the killed script's scratch directory stays.
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch);
    const check = spawnSync('qemu-img', ['check', disk()], { encoding: 'utf8' });
    assert.equal(check.status, 0, `qemu-img check: ${check.stdout}${check.stderr}`);
    const res = ws.exec('vm', 'echo after-$((6*7))');
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /after-42/);
  });

  it('nx run vm:serve, SIGTERM to Nx: a service stops cleanly too', async () => {
    const cmd = nx('run', 'vm:serve');
    await stopAndCheck(cmd, (c) => c.signal('SIGTERM'), /"vm" is up/);
    rootFileSystemIsClean();
  });
});
