import { it } from 'node:test';
import assert from 'node:assert/strict';
import { accelSummary, acceleratorSaid } from './accel-line';

it("finds a run script's accelerator line, the last one after a retry", () => {
  const out = [
    'run-vm-vm: created root disk .vm/vm/vm.qcow2 (1024 MiB qcow2)',
    'run-vm-vm: accelerator: KVM',
    'run-other-vm: accelerator: not this one',
    'run-vm-vm: accelerator: TCG (software emulation, many times slower than KVM): VM_ACCEL is set',
    '',
  ].join('\n');
  assert.equal(
    acceleratorSaid(out, 'run-vm-vm'),
    'TCG (software emulation, many times slower than KVM): VM_ACCEL is set',
  );
  assert.equal(acceleratorSaid('run-vm-vm: starting\n', 'run-vm-vm'), undefined);
});

it('says one line per distinct answer, naming its machines', () => {
  assert.deepEqual(
    accelSummary([
      { name: 'server', text: 'KVM' },
      { name: 'arm', text: 'TCG: foreign' },
      { name: 'client', text: 'KVM' },
      { name: 'silent', text: undefined },
    ]),
    [
      'nx-qemu-vm: server, client: accelerator: KVM\n',
      'nx-qemu-vm: arm: accelerator: TCG: foreign\n',
    ],
  );
  assert.deepEqual(accelSummary([]), []);
});
