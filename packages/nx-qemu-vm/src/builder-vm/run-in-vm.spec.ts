// The throwaway builder VM's QEMU arguments (run-in-vm.vm.spec.ts boots it).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { builderArgv, type BuilderRun } from './run-in-vm';

describe('builderArgv', () => {
  const run = (accel: BuilderRun['accel']): BuilderRun => ({
    machine: {
      qemu: { binary: 'qemu-system-x86_64', machine: 'q35', cpu: 'max' },
      arch: 'x86_64-linux',
      storeSource: '/usr',
    },
    accel,
    kernel: '/boot/vmlinuz',
    initrd: '/x/initrd.img',
    script: 'true',
    disks: [{ file: '/x/disk.raw', format: 'raw' }],
    timeoutSeconds: 60,
    consoleLog: '/x/console.log',
    lockFile: '/x/lock',
    sourceDateEpoch: 1700000000,
  });
  const accelOf = (argv: string[]) => argv[argv.indexOf('-accel') + 1];
  const withoutAccel = (argv: string[]) => argv.filter((_, i) => argv[i - 1] !== '-accel');

  it('runs under KVM with exactly the arguments it has under TCG but -accel: nothing TCG-only', () => {
    const saved = process.env.VM_ACCEL;
    delete process.env.VM_ACCEL;
    try {
      const kvm = builderArgv(run('kvm'), '/x/xchg');
      const tcg = builderArgv(run('tcg'), '/x/xchg');
      assert.equal(accelOf(kvm), 'kvm');
      assert.equal(accelOf(tcg), 'tcg');
      assert.deepEqual(withoutAccel(kvm), withoutAccel(tcg));
      // Options only TCG has would make KVM refuse to start.
      assert.ok(!kvm.some((a) => /^-icount$|tb-size|thread=/.test(a)), kvm.join(' '));
      // The builder's output does not depend on its speed: its clock is virtual and starts at SOURCE_DATE_EPOCH.
      assert.ok(kvm.includes('base=2023-11-14T22:13:20,clock=vm'), kvm.join(' '));
      // auto does not probe in the builder: TCG, unless VM_ACCEL says otherwise.
      assert.equal(accelOf(builderArgv(run('auto'), '/x/xchg')), 'tcg');
      process.env.VM_ACCEL = 'kvm';
      assert.equal(accelOf(builderArgv(run('auto'), '/x/xchg')), 'kvm');
    } finally {
      if (saved === undefined) delete process.env.VM_ACCEL;
      else process.env.VM_ACCEL = saved;
    }
  });
});
