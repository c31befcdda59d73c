import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../config/validate';
import { machineProject } from './machine-targets';

const project = (m: object) =>
  machineProject(
    'vm',
    1,
    validateConfig({ machines: { vm: m } }).machines.vm,
    '/nonexistent-workspace',
    { prefix: '' },
  );

describe('machineProject: warm starts', () => {
  it('has no warm target without warmStart', () => {
    const targets = project({}).targets ?? {};
    assert.equal(targets.warm, undefined);
    assert.equal(targets['test-warm'], undefined);
    for (const target of ['exec', 'prepare'])
      for (const warm of ['warm', 'test-warm'])
        assert.ok(!(targets[target].dependsOn ?? []).includes(warm), `${target} ${warm}`);
  });

  it('gives exec and the test API a state each: exec waits for warm, prepare for test-warm', () => {
    const targets = project({ warmStart: true }).targets ?? {};
    assert.deepEqual(targets.warm.options.for, 'exec');
    assert.deepEqual(targets['test-warm'].options.for, 'test');
    assert.deepEqual(targets['test-warm'].outputs, ['{workspaceRoot}/dist/vm/vm/test-warm']);
    assert.deepEqual(
      targets.warm.inputs,
      targets['test-warm'].inputs,
      'the same inputs without ready states',
    );
    assert.ok((targets.exec.dependsOn ?? []).includes('warm'));
    assert.ok(!(targets.exec.dependsOn ?? []).includes('test-warm'));
    assert.ok((targets.prepare.dependsOn ?? []).includes('test-warm'));
    assert.ok(!(targets.prepare.dependsOn ?? []).includes('warm'));
  });

  it('makes only the ready state wait for and hash the install images', () => {
    const install = [{ target: 'api:build', from: 'dist/api', to: '/opt/api' }];
    const system = { from: 'debian' };
    const ready = project({ warmStart: 'ready', system, install }).targets ?? {};
    assert.ok((ready['test-warm'].dependsOn ?? []).includes('install'));
    assert.match(JSON.stringify(ready['test-warm'].inputs), /\*\*\/install\/\*/);
    assert.ok(!(ready.warm.dependsOn ?? []).includes('install'), "exec's state reads no install");
    assert.doesNotMatch(JSON.stringify(ready.warm.inputs), /install/);
    // With systemd the images are swapped after a restore: the save needs them, not their bytes.
    const swapped = project({ warmStart: 'ready', init: 'systemd', system, install }).targets ?? {};
    assert.ok((swapped['test-warm'].dependsOn ?? []).includes('install'));
    assert.doesNotMatch(JSON.stringify(swapped['test-warm'].inputs), /install/);
    // postBootCommands ran on the saved images: those stay part of the state.
    const withPostBoot =
      project({
        warmStart: 'ready',
        init: 'systemd',
        system,
        install,
        postBootCommands: 'touch /run/x',
      }).targets ?? {};
    assert.match(JSON.stringify(withPostBoot['test-warm'].inputs), /\*\*\/install\/\*/);
    const warm = project({ warmStart: true, system, install }).targets ?? {};
    assert.ok(
      !(warm['test-warm'].dependsOn ?? []).includes('install'),
      'a stage-1 state reads none',
    );
  });

  it('makes exec and prepare (the test API), not start or serve, wait for a cached warm target keyed on the whole machine', () => {
    const targets = project({ warmStart: true }).targets ?? {};
    const warm = targets.warm;
    assert.equal(warm.cache, true);
    assert.deepEqual(warm.dependsOn, ['build', 'initrd']);
    assert.deepEqual(warm.outputs, ['{workspaceRoot}/dist/vm/vm/warm']);
    const inputs = JSON.stringify(warm.inputs);
    assert.match(inputs, /"fields":\["machines\.vm"\]/, 'every field of the machine');
    assert.match(inputs, /qemu-system-x86_64 --version/, "QEMU's version");
    assert.equal(
      (warm.inputs ?? []).filter((i) => typeof i === 'object' && 'runtime' in i).length,
      1,
      'one shell for the runtime inputs',
    );
    assert.match(inputs, /\*\*\/initrd\/initrd\.img/);
    assert.match(inputs, /\*\*\/bin\/\*/);
    assert.ok((targets.exec.dependsOn ?? []).includes('warm'));
    assert.ok((targets.prepare.dependsOn ?? []).includes('test-warm'));
    assert.ok(!(targets.serve.dependsOn ?? []).includes('warm'));
    assert.ok(!(targets.serve.dependsOn ?? []).includes('test-warm'));
    assert.ok(!JSON.stringify(targets.start.options).includes('warm'));
  });

  it("hashes the kernel the warm state boots, and takes the initrd's other host inputs through initrd.img", () => {
    const runtimeOf = (m: object) =>
      (project(m).targets?.warm.inputs ?? []).flatMap((i) =>
        typeof i === 'object' && 'runtime' in i ? [i.runtime] : [],
      )[0];
    const host = runtimeOf({ warmStart: true });
    assert.ok(host.includes('(sha256sum /boot/vmlinuz-*'), host);
    assert.ok(
      runtimeOf({ warmStart: true, kernel: '/k/vmlinuz' }).includes('(sha256sum /k/vmlinuz '),
    );
    // Modules, tools, libraries and zlib only change the state by changing
    // initrd.img's bytes, an input of the warm target: not hashed again.
    for (const initrdOnly of [
      'modules.dep',
      'node --version',
      '/sbin/mke2fs',
      'e2fsprogs',
      '/etc/alternatives',
    ])
      assert.ok(!host.includes(initrdOnly), initrdOnly);
    // A Debian image's kernel is among the image files the warm target hashes.
    const debian = project({ warmStart: true, system: { from: 'debian' } }).targets?.warm;
    assert.ok(!JSON.stringify(debian?.inputs).includes('vmlinuz-*'));
    assert.match(JSON.stringify(debian?.inputs), /\*\*\/image\/\*/);
  });
});
