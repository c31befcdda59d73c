// The throwaway builder VM, booted for real (TCG) with the host's kernel and
// a generated initrd.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  closeSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { validateConfig } from '../config/validate';
import { resolveMachine, type ResolvedMachine } from '../config/resolve';
import { readHostFacts } from '../host/host-facts';
import { buildInitrd } from '../initrd/initrd';
import { BuilderError, runInBuilderVm, type BuilderRun, builderMachine } from './run-in-vm';

describe('runInBuilderVm', { timeout: 600_000 }, () => {
  let dir: string;
  let machine: ResolvedMachine;
  let base: Omit<BuilderRun, 'script' | 'disks'>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-builder-test-'));
    machine = resolveMachine(
      'vm',
      1,
      validateConfig({ machines: { vm: { graphics: false, accel: 'tcg' } } }).machines.vm,
      readHostFacts(),
    );
    writeFileSync(join(dir, 'initrd.img'), (await buildInitrd(machine)).image);
    writeFileSync(join(dir, 'input.txt'), 'input from the host\n');
    base = {
      machine: builderMachine(machine),
      accel: machine.qemu.accel,
      kernel: machine.kernel.image,
      initrd: join(dir, 'initrd.img'),
      timeoutSeconds: 180,
      consoleLog: join(dir, 'console.log'),
      lockFile: join(dir, 'builder.lock'),
      sourceDateEpoch: 1700000000,
    };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const rawDisk = (name: string) => {
    const file = join(dir, name);
    assert.equal(spawnSync('qemu-img', ['create', '-q', '-f', 'raw', file, '8M']).status, 0);
    return file;
  };
  const firstBytes = (file: string, n: number) => {
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, 0);
    closeSync(fd);
    return buf.toString('latin1');
  };

  it('runs a script with the host tools against /dev/vda, with inputs and results through xchg', async () => {
    const disk = rawDisk('a.raw');
    const { builderLog } = await runInBuilderVm({
      ...base,
      disks: [{ file: disk, format: 'raw' }],
      inputs: { 'input.txt': join(dir, 'input.txt') },
      results: { 'result.txt': join(dir, 'result.txt') },
      script:
        'set -eu\nsgdisk --version | head -1\nprintf NXQV-BUILDER | dd of=/dev/vda conv=notrunc status=none\ncat /xchg/input.txt > /xchg/result.txt\ndate -u +%Y >> /xchg/result.txt\n',
    });
    assert.match(builderLog, /GPT fdisk \(sgdisk\)/, "the host's sgdisk ran in the guest");
    assert.equal(firstBytes(disk, 12), 'NXQV-BUILDER');
    assert.equal(
      readFileSync(join(dir, 'result.txt'), 'utf8'),
      'input from the host\n2023\n',
      'the guest clock starts at SOURCE_DATE_EPOCH',
    );
  });

  it('returns the script failure with its last lines', async () => {
    await assert.rejects(
      runInBuilderVm({
        ...base,
        disks: [{ file: rawDisk('b.raw'), format: 'raw' }],
        script: 'echo about to fail\nexit 3\n',
      }),
      (err: unknown) =>
        err instanceof BuilderError &&
        /failed with status 3/.test(err.message) &&
        /about to fail/.test(err.message),
    );
  });

  it('stops a builder that runs too long and shows the console', async () => {
    await assert.rejects(
      runInBuilderVm({
        ...base,
        timeoutSeconds: 25,
        disks: [{ file: rawDisk('c.raw'), format: 'raw' }],
        script: 'sleep 600\n',
      }),
      (err: unknown) =>
        err instanceof BuilderError &&
        /did not finish within 25 s/.test(err.message) &&
        /builder: running the build script/.test(err.message),
    );
  });

  it('serialises builders that share a lock: both may even use the same disk', async () => {
    // QEMU refuses a second writer on one image, so overlapping runs would fail.
    const shared = rawDisk('shared.raw');
    const run = (mark: string) =>
      runInBuilderVm({
        ...base,
        consoleLog: join(dir, `console-${mark}.log`),
        disks: [{ file: shared, format: 'raw' }],
        script: `printf ${mark} | dd of=/dev/vda conv=notrunc status=none\n`,
      });
    await Promise.all([run('one'), run('two')]);
    assert.match(firstBytes(shared, 3), /^(one|two)$/);
  });
});
