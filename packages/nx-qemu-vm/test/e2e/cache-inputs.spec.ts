// The cache keys, proven through the real Nx CLI: which tasks run and which
// come from the cache after each kind of change. The boot disk is built on the
// host (bootDiskBuilder: host) to keep this quick; the builder VM has its own tests.
// `warm` has a warm state, whose key takes the initrd's host inputs through
// initrd.img's bytes and the kernel by its own checksum; no other change
// touches it, so that its two boots happen only where a test needs them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createTempWorkspace, type TempWorkspace } from '../helpers/temp-workspace';
import { hostKernel } from '../helpers/boot-disk-testing';
import { kernelVersionFromImage } from '../../src/initrd/modules';
import { taskOutcomes } from '../helpers/nx-output';

describe('Nx cache keys of the cached steps', () => {
  let ws: TempWorkspace;
  let kernel: string;
  const machines = (vm: object, other: object = {}) => ({
    machines: {
      vm: { graphics: false, useBootLoader: true, bootDiskBuilder: 'host', kernel, ...vm },
      other: { graphics: false, kernel, ...other },
      warm: {
        graphics: false,
        kernel,
        warmStart: true,
        files: { '/etc/cache-test': { source: 'cache-test.txt' } },
      },
    },
  });
  const run = () => {
    const res = ws.nx(
      ['run-many', '-t', 'build', 'initrd', 'boot-disk', 'warm', '--projects', 'vm,other,warm'],
      { VM_ACCEL: 'tcg' },
    );
    assert.equal(res.status, 0, res.output);
    return taskOutcomes(res.output);
  };

  before(() => {
    ws = createTempWorkspace({ machines: {} }, 'nx-qemu-vm-cache-');
    // A private copy of the host kernel (and the config beside it), so the test can change its bytes.
    const host = hostKernel();
    const version = kernelVersionFromImage(host)!;
    mkdirSync(join(ws.root, 'kernels'));
    kernel = join(ws.root, 'kernels', basename(host));
    copyFileSync(host, kernel);
    copyFileSync(`/boot/config-${version}`, join(ws.root, 'kernels', `config-${version}`));
    writeFileSync(join(ws.root, 'cache-test.txt'), 'one\n');
    ws.writeConfig(machines({}));
  });
  after(() => ws.remove());

  it('runs everything the first time, and nothing the second', () => {
    const first = run();
    for (const task of [
      'vm:config',
      'vm:initrd',
      'vm:build',
      'vm:boot-disk',
      'other:config',
      'other:initrd',
      'other:build',
      'warm:initrd',
      'warm:warm',
    ])
      assert.equal(first[task], 'ran', `${task} in ${JSON.stringify(first)}`);
    const second = run();
    assert.ok(
      Object.values(second).every((o) => o === 'cached'),
      JSON.stringify(second),
    );
  });

  it('reruns only build when memorySize changes', () => {
    ws.writeConfig(machines({ memorySize: 700 }));
    const o = run();
    assert.equal(o['vm:build'], 'ran');
    assert.equal(o['vm:initrd'], 'cached');
    assert.equal(o['vm:boot-disk'], 'cached');
    assert.equal(o['other:build'], 'cached');
    assert.equal(o['warm:warm'], 'cached');
  });

  it('reruns build and boot-disk when kernel params change with a boot loader; without one there is no boot disk to rerun', () => {
    ws.writeConfig(
      machines({ memorySize: 700, kernelParams: ['quiet'] }, { kernelParams: ['quiet'] }),
    );
    const o = run();
    assert.equal(o['vm:build'], 'ran');
    assert.equal(o['vm:boot-disk'], 'ran');
    assert.equal(o['vm:initrd'], 'cached');
    assert.equal(o['other:build'], 'ran');
    assert.equal(o['other:initrd'], 'cached');
    assert.equal(o['other:boot-disk'], undefined);
  });

  it('reruns boot-disk when useEFIBoot changes', () => {
    ws.writeConfig(
      machines(
        { memorySize: 700, kernelParams: ['quiet'], useEFIBoot: true },
        { kernelParams: ['quiet'] },
      ),
    );
    const o = run();
    assert.equal(o['vm:boot-disk'], 'ran');
    assert.equal(o['other:build'], 'cached');
  });

  it("is a cache hit when another machine's field or an unrelated key changes", () => {
    ws.writeConfig({
      ...machines(
        { memorySize: 700, kernelParams: ['quiet'], useEFIBoot: true },
        { kernelParams: ['quiet'], cores: 2 },
      ),
      $schema: './x.json',
    });
    const o = run();
    for (const task of ['vm:config', 'vm:initrd', 'vm:build', 'vm:boot-disk'])
      assert.equal(o[task], 'cached', task);
    assert.equal(o['other:build'], 'ran');
    assert.equal(o['other:initrd'], 'cached');
  });

  it('misses when the kernel file changes under the same name', () => {
    appendFileSync(kernel, Buffer.alloc(16, 0));
    const o = run();
    for (const task of ['vm:initrd', 'vm:boot-disk', 'other:initrd'])
      assert.equal(o[task], 'ran', task);
    // The scripts name the kernel by path, so its bytes do not matter to them.
    assert.equal(o['vm:build'], 'cached');
    // The warm state holds the booted kernel.
    assert.equal(o['warm:warm'], 'ran');
  });

  it('reruns warm when initrd.img changes, and only initrd and warm', () => {
    writeFileSync(join(ws.root, 'cache-test.txt'), 'two\n');
    const o = run();
    assert.equal(o['warm:initrd'], 'ran');
    assert.equal(o['warm:warm'], 'ran');
    assert.equal(o['warm:build'], 'cached');
    for (const task of ['vm:initrd', 'other:initrd']) assert.equal(o[task], 'cached', task);
  });
});
