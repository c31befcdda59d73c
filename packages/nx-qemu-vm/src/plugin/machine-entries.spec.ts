import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError } from '../config/errors';
import { validateConfig } from '../config/validate';
import { brokenMachineProject } from './broken-machine';
import { type MachineEntry, canNameProject, machineEntries } from './machine-entries';

const FILE = 'workspace-vm.json';
const summary = (entries: MachineEntry[]) =>
  entries.map((e) => `${e.position}:${e.name}:${'error' in e ? 'broken' : 'valid'}`);

describe('machine entries of a possibly broken workspace-vm.json', () => {
  it('gives every machine of a valid file, with defaults, in file order', () => {
    const raw = { machines: { b: { memorySize: 2048 }, a: {} } };
    const { entries, warning } = machineEntries(raw, FILE);
    assert.equal(warning, undefined);
    assert.deepEqual(summary(entries), ['1:b:valid', '2:a:valid']);
    const valid = validateConfig(raw, FILE).machines;
    assert.deepEqual(entries[0], { name: 'b', position: 1, machine: valid.b });
  });

  it('pins each problem on its machine; the others stay valid and keep their position', () => {
    const raw = {
      machines: {
        vm: { memorySize: 0, useBootLoader: true },
        ok: { cores: 2 },
        other: { forwardPorts: [{ host: { port: 70000 }, guest: { port: 1 } }] },
      },
    };
    const { entries, warning } = machineEntries(raw, FILE);
    assert.deepEqual(summary(entries), ['1:vm:broken', '2:ok:valid', '3:other:broken']);
    const vm = entries[0] as Extract<MachineEntry, { error: ConfigError }>;
    assert.ok(vm.error instanceof ConfigError);
    assert.deepEqual(vm.raw, raw.machines.vm, 'the machine as written, for its target names');
    assert.match(vm.error.message, /machine "vm": machines\.vm\.memorySize = 0: must be >= 1/);
    assert.match(vm.error.message, /machines\.other\.forwardPorts\[0\]\.host\.port = 70000/);
    assert.equal((entries[1] as { machine: { cores: number } }).machine.cores, 2);
    assert.match(warning ?? '', /^nx-qemu-vm: workspace-vm\.json has 2 problems:/);
    assert.match(warning ?? '', /every target of "vm", "other" fails with this message/);
    assert.match(warning ?? '', /other machines keep their targets/);
  });

  it('breaks every machine when the problem belongs to none', () => {
    const { entries, warning } = machineEntries({ machines: { a: {}, b: {} }, extra: 1 }, FILE);
    assert.deepEqual(summary(entries), ['1:a:broken', '2:b:broken']);
    assert.match(warning ?? '', /unknown option "extra"/);
    assert.doesNotMatch(warning ?? '', /other machines/);
  });

  it('makes no project of a key that cannot name one, and says so', () => {
    const { entries, warning } = machineEntries(
      { machines: { '../up': {}, 'Two Words': {}, Web: {}, ok: {} } },
      FILE,
    );
    assert.deepEqual(summary(entries), ['3:Web:broken', '4:ok:valid']);
    assert.match(warning ?? '', /cannot name one: "\.\.\/up", "Two Words"/);
    for (const bad of ['', '.', '..', 'a/b', 'a\\b', 'a b', 'tab\there'])
      assert.equal(canNameProject(bad), false, bad);
    assert.equal(canNameProject('vm-1'), true);
  });

  it('never throws for what a user may write, and gives each usable key one entry', () => {
    const machine = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({ memorySize: fc.integer(), useBootLoader: fc.jsonValue({ maxDepth: 1 }) }),
      fc.constant({}),
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 8 }), machine, { maxKeys: 4 }),
        fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }))),
        (machines, extra) => {
          const { entries } = machineEntries({ ...extra, machines }, FILE);
          assert.deepEqual(
            entries.map((e) => e.name),
            Object.keys(machines).filter(canNameProject),
          );
          for (const e of entries)
            if ('error' in e) brokenMachineProject(e.name, e.raw, e.error, { prefix: '' });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives no projects and a warning when there is no machines object', () => {
    for (const raw of [{}, { machines: [] }, { machines: null }, [], 'text', null]) {
      const { entries, warning } = machineEntries(raw, FILE);
      assert.deepEqual(entries, [], JSON.stringify(raw));
      assert.match(warning ?? '', /^nx-qemu-vm: workspace-vm\.json has \d+ problems?:/);
      assert.match(warning ?? '', /No machine becomes a project/);
    }
  });
});
