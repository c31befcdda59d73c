// Configs that try to reach the shell, the kernel command line or QEMU's
// option syntax through a value: each is refused with the machine, the JSON
// path, the value and what is allowed (fuzzing finds more: test/fuzz).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from './validate';
import { resolveConfig } from './resolve';
import type { ConfigIssue } from './errors';
import { issuesOf, oneMachine } from '../../test/helpers/config-issues';
import { FAKE_WORKSPACE, fakeHost } from '../../test/helpers/fake-host';

const machine = oneMachine;

const onlyIssue = (raw: unknown): ConfigIssue => {
  const issues = issuesOf(raw);
  assert.equal(issues.length, 1, JSON.stringify(issues, null, 2));
  return issues[0];
};

describe('hostile configs', () => {
  it('refuses control characters in every path and name, keeping them for postBootCommands', () => {
    const issue = onlyIssue(machine({ diskImage: 'disk.qcow2\necho pwned' }));
    assert.equal(issue.path, 'machines.vm.diskImage');
    assert.equal(issue.value, 'disk.qcow2\necho pwned');
    assert.match(issue.message, /control character/);
    assert.equal(
      onlyIssue(machine({ fileSystems: { '/mnt/a\tb': { device: '/dev/vdb', fsType: 'ext4' } } }))
        .path,
      'machines.vm.fileSystems["/mnt/a\\tb"]',
    );
    resolveConfig(validateConfig(machine({ postBootCommands: 'echo a\necho b' })), fakeHost());
  });

  it('keeps disks out of dist/vm however the path is spelt', () => {
    for (const diskImage of [
      './dist/vm/vm/root.qcow2',
      'dist//vm/vm/root.qcow2',
      'x/../dist/vm/root.qcow2',
      `${FAKE_WORKSPACE}/dist/vm/vm/root.qcow2`,
      'dist/vm',
    ]) {
      const issue = onlyIssue(machine({ diskImage }));
      assert.equal(issue.path, 'machines.vm.diskImage', diskImage);
      assert.match(issue.message, /must not be under dist\/vm\//);
    }
    assert.equal(
      onlyIssue(machine({ efiVars: 'dist/vm/vm/boot-disk/efi-vars.fd' })).path,
      'machines.vm.efiVars',
    );
    assert.equal(
      onlyIssue(machine({ qemu: { drives: [{ file: 'dist/./vm/data.img' }] } })).path,
      'machines.vm.qemu.drives[0].file',
    );
    resolveConfig(validateConfig(machine({ diskImage: 'dist/vmx/root.qcow2' })), fakeHost());
  });

  it('refuses extra drive options that would replace the drive or device nx-qemu-vm sets', () => {
    const issues = issuesOf(
      machine({
        qemu: {
          drives: [
            {
              file: 'a.qcow2',
              driveExtraOpts: { file: '/etc/shadow', 'x,file': '1', cache: 'none' },
              deviceExtraOpts: { drive: 'drive1' },
            },
          ],
        },
      }),
    );
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      'machines.vm.qemu.drives[0].deviceExtraOpts.drive',
      'machines.vm.qemu.drives[0].driveExtraOpts.file',
      'machines.vm.qemu.drives[0].driveExtraOpts["x,file"]',
    ]);
  });

  it('refuses an init or a console that would add kernel parameters', () => {
    assert.match(onlyIssue(machine({ init: '/sbin/init single' })).message, /without blanks/);
    assert.equal(
      onlyIssue(machine({ qemu: { consoles: ['ttyS0 init=/bin/sh'] } })).path,
      'machines.vm.qemu.consoles[0]',
    );
    assert.equal(
      onlyIssue(machine({ kernelParams: ['a="b'] })).path,
      'machines.vm.kernelParams[0]',
    );
    // Direct boot carries ' and \ unchanged; GRUB would not.
    resolveConfig(validateConfig(machine({ kernelParams: ["it's"] })), fakeHost());
    assert.equal(
      onlyIssue(machine({ kernelParams: ["it's"], useBootLoader: true })).path,
      'machines.vm.kernelParams[0]',
    );
  });

  it('allows in qemu.options plain words and $NAME expansions, and refuses the rest', () => {
    resolveConfig(
      validateConfig(
        machine({ qemu: { options: ['-smbios type=1,serial=${S:-x} #not-a-comment'] } }),
      ),
      fakeHost(),
    );
    for (const bad of ["-vga 'std", '-name `id`', '-name $(id)', '-name a\\b'])
      assert.equal(
        onlyIssue(machine({ qemu: { options: [bad] } })).path,
        'machines.vm.qemu.options[0]',
        bad,
      );
    assert.match(
      onlyIssue(machine({ qemu: { networkingOptions: ['-netdev "user"'] } })).message,
      /not allowed.*\$NAME/,
    );
  });

  it('refuses more PCI devices than the machine type has slots for, as QEMU would', () => {
    // q35 leaves 28 slots; rng, the control port, one NIC, one vlan and three shares take 7.
    resolveConfig(validateConfig(machine({ emptyDiskImages: Array(20).fill(1) })), fakeHost());
    const issue = onlyIssue(machine({ emptyDiskImages: Array(21).fill(1) }));
    assert.equal(issue.path, 'machines.vm.emptyDiskImages');
    assert.match(issue.message, /needs 29 PCI slots .* q35 machine has 28/);
    assert.match(
      onlyIssue(machine({ vlans: Array.from({ length: 22 }, (_, i) => i) })).message,
      /PCI slots/,
    );
    // One SCSI controller carries every disk.
    resolveConfig(
      validateConfig(
        machine({ emptyDiskImages: Array(6).fill(1), qemu: { diskInterface: 'scsi' } }),
      ),
      fakeHost(),
    );
  });
});
