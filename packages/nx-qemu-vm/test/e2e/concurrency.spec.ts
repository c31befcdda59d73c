// Commands that run at the same time. A root disk is never opened twice
// for writing: of three `exec` of one machine at once, each either succeeds or
// is refused naming the process that holds the disk; machines with disks of
// their own run side by side; two boot-disk builds at once give one correct
// output.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createVmWorkspace, type VmWorkspace } from '../helpers/vm-workspace';
import { NX_TEST_ENV } from '../helpers/temp-workspace';
import { startCommand, waitForNoProcesses } from '../helpers/processes';

const ENV = {
  VM_ACCEL: 'tcg',
  ...NX_TEST_ENV,
};
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('concurrent commands', { timeout: 30 * 60_000 }, () => {
  let ws: VmWorkspace;
  const nx = (...args: string[]) =>
    startCommand(process.execPath, [join(ws.root, 'node_modules/nx/dist/bin/nx.js'), ...args], {
      cwd: ws.root,
      env: { ...process.env, ...ENV, HOME: ws.root },
    });

  before(() => {
    ws = createVmWorkspace({
      a: { graphics: false },
      b: { graphics: false },
      c: { graphics: false, useBootLoader: true, useEFIBoot: true },
    });
    ws.buildAll();
  });
  after(() => ws.remove());

  it('three exec of one machine at once: each succeeds or is refused with the process holding the disk', async () => {
    const runs = [0, 1, 2].map((i) => nx('run', 'a:exec', `--command=echo run-${i}; sleep 5`));
    const results = await Promise.all(runs.map((r) => r.exited));
    const outputs = runs.map((r) => r.output());
    const ok = results.filter((r) => r.status === 0).length;
    assert.ok(ok >= 1, outputs.join('\n-----\n'));
    results.forEach((r, i) => {
      if (r.status === 0) assert.match(outputs[i], new RegExp(`run-${i}`));
      else
        assert.match(
          outputs[i],
          // The holder is QEMU, or the run script between taking the lock and starting QEMU.
          /root disk .*a\.qcow2 is in use.*pid \d+ \((qemu-system|\/bin\/sh|run-a-vm)/,
          outputs[i],
        );
    });
    await waitForNoProcesses(ws.root, 20);
    const check = spawnSync('qemu-img', ['check', join(ws.root, '.vm/a/a.qcow2')], {
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const again = ws.exec('a', 'cat /proc/mounts | grep " / "');
    assert.equal(again.status, 0, again.stderr);
  });

  it('run-many -t exec over several machines runs them side by side', async () => {
    const run = nx(
      'run-many',
      '-t',
      'exec',
      '-p',
      'a,b',
      '--parallel=2',
      '--command=hostname',
      '--output-style=static',
    );
    const result = await run.exited;
    assert.equal(result.status, 0, run.output());
    assert.match(run.output(), /^a$/m);
    assert.match(run.output(), /^b$/m);
  });

  it('two boot-disk builds of one machine at once give one correct output', async () => {
    const build = (...extra: string[]) =>
      nx('run', 'c:boot-disk', '--skip-nx-cache', '--exclude-task-dependencies', ...extra);
    let first = build();
    assert.equal((await first.exited).status, 0, first.output());
    const out = join(ws.root, 'dist/vm/c/boot-disk');
    const reference = readdirSync(out).map((f) => [f, sha256(join(out, f))]);
    rmSync(out, { recursive: true, force: true });
    first = build();
    const second = build();
    const [r1, r2] = await Promise.all([first.exited, second.exited]);
    assert.equal(r1.status, 0, first.output());
    assert.equal(r2.status, 0, second.output());
    assert.deepEqual(
      readdirSync(out).map((f) => [f, sha256(join(out, f))]),
      reference,
    );
    assert.deepEqual(
      readdirSync(join(ws.root, 'dist/vm/c')).filter((f) => f.startsWith('.')),
      [],
      'no scratch left',
    );
  });
});
