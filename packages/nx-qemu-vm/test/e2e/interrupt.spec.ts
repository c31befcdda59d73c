// Steps interrupted the two ways a user interrupts them: Ctrl-C (SIGINT
// to the command's whole process group) and a SIGKILL of Nx alone. After
// each: nothing half-built where a later run or the cache could take it as
// done, no QEMU, builder VM or helper left in the process table, the next run
// gives the same bytes as a clean build, and a user's disks are untouched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NX_TEST_ENV, createTempWorkspace, type TempWorkspace } from '../helpers/temp-workspace';
import { type RunningCommand, startCommand, waitForNoProcesses } from '../helpers/processes';

const ENV = {
  VM_ACCEL: 'tcg',
  ...NX_TEST_ENV,
};

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
/** file -> sha256 of every file of a directory. */
const hashes = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [f, sha256(join(dir, f))]),
  );

describe('interrupted steps', { timeout: 40 * 60_000 }, () => {
  let ws: TempWorkspace;
  const reference: Record<string, Record<string, string>> = {};
  const out = (machine: string, dir: string) => join(ws.root, 'dist/vm', machine, dir);
  const nxArgs = (task: string) => [
    join(ws.root, 'node_modules/nx/dist/bin/nx.js'),
    'run',
    task,
    '--skip-nx-cache',
    '--exclude-task-dependencies',
  ];
  const start = (task: string): RunningCommand =>
    startCommand(process.execPath, nxArgs(task), {
      cwd: ws.root,
      env: { ...process.env, ...ENV, HOME: ws.root },
    });
  const run = (task: string) => {
    const res = ws.nx(['run', task, '--skip-nx-cache', '--exclude-task-dependencies'], {
      ...ENV,
      HOME: ws.root,
    });
    assert.equal(res.status, 0, res.output);
    return res.output;
  };

  before(() => {
    ws = createTempWorkspace({
      machines: {
        // The boot disk built in a throwaway VM (the EFI vars written on the host), and on the host.
        vm: { graphics: false, useBootLoader: true, useEFIBoot: true, emptyDiskImages: [16] },
        host: { graphics: false, useBootLoader: true, bootDiskBuilder: 'host' },
      },
    });
    for (const m of ['vm', 'host']) {
      run(`${m}:config`);
      run(`${m}:initrd`);
      run(`${m}:boot-disk`);
      reference[`${m}/initrd`] = hashes(out(m, 'initrd'));
      reference[`${m}/boot-disk`] = hashes(out(m, 'boot-disk'));
    }
  });
  after(() => ws.remove());

  const steps = [
    { task: 'vm:initrd', dir: 'initrd', at: /collecting busybox/ },
    // The builder VM works for about 6 s after this line (PVH boot, no OVMF): stopped in the middle.
    { task: 'vm:boot-disk', dir: 'boot-disk', at: /in a throwaway VM/, settle: 3000 },
    { task: 'host:boot-disk', dir: 'boot-disk', at: /on the host/ },
  ];
  const ways = [
    { how: 'Ctrl-C (SIGINT to the process group)', stop: (c: RunningCommand) => c.interrupt() },
    { how: 'SIGKILL to Nx', stop: (c: RunningCommand) => c.signal('SIGKILL') },
  ];
  for (const step of steps)
    for (const way of ways)
      it(`${step.task}, stopped by ${way.how} while it works: nothing published, nothing left running, then the same bytes`, async () => {
        const [machine] = step.task.split(':');
        rmSync(out(machine, step.dir), { recursive: true, force: true });
        const cmd = start(step.task);
        await cmd.waitFor(step.at, 300);
        await sleep(step.settle ?? 300);
        way.stop(cmd);
        await cmd.exited;
        await waitForNoProcesses(ws.root, 30);
        assert.ok(
          !existsSync(out(machine, step.dir)),
          `${step.dir} was not published:\n${cmd.output()}`,
        );
        const left = readdirSync(join(ws.root, 'dist/vm', machine)).filter((f) =>
          f.startsWith('.'),
        );
        assert.ok(
          left.every((f) => /\.tmp-\d+$/.test(f)),
          `only scratch directories, which the next build removes, may remain: ${left.join(', ')}`,
        );
        run(step.task);
        assert.deepEqual(hashes(out(machine, step.dir)), reference[`${machine}/${step.dir}`]);
        assert.deepEqual(
          readdirSync(join(ws.root, 'dist/vm', machine)).filter((f) => f.startsWith('.')),
          [],
          'the next build removed the scratch of the interrupted one',
        );
      });

  it("never changes a user's existing disks, however the stateful steps are stopped", async () => {
    run('vm:root-disk');
    run('vm:empty-disks');
    run('vm:efi-vars');
    const disks = ['.vm/vm/vm.qcow2', '.vm/vm/empty0.qcow2', '.vm/vm/vm-efi-vars.fd'].map((f) =>
      join(ws.root, f),
    );
    const before = disks.map((f) => `${statSync(f).ino}:${sha256(f)}`);
    for (const task of ['vm:root-disk', 'vm:empty-disks', 'vm:efi-vars'])
      for (const delay of [100, 400, 900])
        for (const way of ways) {
          const cmd = start(task);
          await sleep(delay);
          way.stop(cmd);
          await cmd.exited;
        }
    await waitForNoProcesses(ws.root, 30);
    assert.deepEqual(
      disks.map((f) => `${statSync(f).ino}:${sha256(f)}`),
      before,
    );
  });

  it('creates a missing disk whole or not at all when stopped at any moment', async () => {
    const disk = join(ws.root, '.vm/vm/empty0.qcow2');
    for (const delay of [150, 300, 500, 700, 900, 1200]) {
      rmSync(disk, { force: true });
      rmSync(`${disk}.layout.json`, { force: true });
      const cmd = start('vm:empty-disks');
      await sleep(delay);
      ways[delay % 2].stop(cmd);
      await cmd.exited;
      await waitForNoProcesses(ws.root, 30);
      if (existsSync(disk)) {
        const check = ws.nx(['run', 'vm:empty-disks'], { ...ENV, HOME: ws.root });
        assert.equal(check.status, 0, check.output);
        assert.match(check.output, /exists; left as it is/);
      }
    }
    run('vm:empty-disks');
    const left = readdirSync(join(ws.root, '.vm/vm')).filter((f) => /\.tmp-\d+$/.test(f));
    assert.deepEqual(left, [], 'temporary files of interrupted creations are gone');
  });
});
