import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../config/errors';
import { validateConfig } from '../config/validate';
import { brokenMachineProject, brokenTargetNames } from './broken-machine';
import { machineProject } from './machine-targets';

const error = new ConfigError('workspace-vm.json', [
  { machine: 'vm', path: 'machines.vm.memorySize', value: 0, message: 'must be >= 1.' },
]);

describe('the project of a machine with config problems', () => {
  it('has the targets the machine would have, as far as its raw options tell', () => {
    const cases: Record<string, unknown>[] = [
      {},
      { useBootLoader: true, useEFIBoot: true },
      { system: { from: 'debian' }, warmStart: true },
      { useEFIBoot: true },
      { install: [{ target: 'api:build', to: '/srv/api' }] },
    ];
    for (const raw of cases) {
      const valid = validateConfig({ machines: { vm: raw } }).machines.vm;
      const expected = Object.keys(machineProject('vm', 1, valid, '/ws', { prefix: '' }).targets!);
      assert.deepEqual(brokenTargetNames(raw).sort(), expected.sort(), JSON.stringify(raw));
    }
    // Broken values leave their target out rather than fail here.
    assert.deepEqual(brokenTargetNames({ useBootLoader: 'yes', system: 3 }), brokenTargetNames({}));
    assert.deepEqual(brokenTargetNames(null), brokenTargetNames({}));
  });

  it('fails every target at once with the whole message, under the configured prefix', () => {
    const p = brokenMachineProject('vm', { useBootLoader: true }, error, { prefix: 'vm-' });
    assert.equal(p.name, 'vm');
    assert.ok(p.targets!['vm-exec'] && p.targets!['vm-boot-disk'] && !p.targets!.exec);
    for (const [name, t] of Object.entries(p.targets!)) {
      assert.equal(t.executor, 'nx-qemu-vm:config-error', name);
      assert.deepEqual(t.options, { machine: 'vm', message: error.message }, name);
      assert.equal(t.cache, false, name);
      assert.deepEqual(t.inputs, [{ fileset: '{workspaceRoot}/workspace-vm.json' }], name);
      assert.equal(t.dependsOn, undefined, `${name} fails at once`);
    }
  });
});
