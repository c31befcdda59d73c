// Configs that try to reach the shell, the kernel command line or QEMU's
// option syntax through a value: each is refused with the machine, the JSON
// path, the value and what is allowed (fuzzing finds more: test/fuzz).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from './validate';
import { resolveConfig } from './resolve';
import { ConfigError, type ConfigIssue, SHOWN_CHARS } from './errors';
import { MAX_NESTING } from './nesting';
import { VLAN_POSITIONS } from './network';
import { ARCH_PROFILES } from './defaults';
import { parseConfigText } from './load';
import schema from '../../workspace-vm.schema.json';
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

  it('bounds every number that reaches QEMU, qemu-img or a script, naming the range', () => {
    const huge = 1e21; // JavaScript would write it as 1e+21
    const cases: [object, string, RegExp][] = [
      [{ memorySize: huge }, 'machines.vm.memorySize', /allowed: 1 to 1001472/],
      [{ cores: huge }, 'machines.vm.cores', /allowed: 1 to 512/],
      [{ diskSize: huge }, 'machines.vm.diskSize', /allowed: 1 to 2147483648/],
      [{ emptyDiskImages: [16, huge] }, 'machines.vm.emptyDiskImages[1]', /allowed: 1 to/],
      [{ msize: huge }, 'machines.vm.msize', /allowed: 4096 to 2147483647/],
      [{ resolution: { x: huge, y: 768 } }, 'machines.vm.resolution.x', /allowed: 1 to 16384/],
      [{ vlans: [huge] }, 'machines.vm.vlans[0]', /allowed: 0 to 255/],
      [
        { forwardPorts: [{ host: { port: huge }, guest: { port: 22 } }] },
        'machines.vm.forwardPorts[0].host.port',
        /allowed: 1 to 65535/,
      ],
      [
        { services: { api: { command: 'x', readyTimeout: huge } } },
        'machines.vm.services.api.readyTimeout',
        /allowed: 1 to 86400/,
      ],
      // x86 under TCG: q35 takes 255 vCPUs without KVM's x2APIC support.
      [{ cores: 256 }, 'machines.vm.cores', /allowed: 1 to 255/],
    ];
    for (const [m, path, range] of cases) {
      const issue = onlyIssue(machine(m));
      assert.equal(issue.path, path);
      assert.match(issue.message, range, path);
    }
    // The tmpfs size wraps at 64 bits in the guest kernel.
    for (const tmpOnTmpfsSize of ['18446744073709551616', '17179869184g', '4503599627370496%'])
      assert.equal(
        onlyIssue(machine({ tmpOnTmpfs: true, tmpOnTmpfsSize })).path,
        'machines.vm.tmpOnTmpfsSize',
        tmpOnTmpfsSize,
      );
    resolveConfig(
      validateConfig(
        machine({
          memorySize: 1001472,
          diskSize: 2147483648,
          cores: 255,
          tmpOnTmpfs: true,
          tmpOnTmpfsSize: '17179869183g',
        }),
      ),
      fakeHost(),
    );
    // The schema's cores limit is the largest architecture's.
    assert.equal(
      schema.definitions.machine.properties.cores.maximum,
      Math.max(...Object.values(ARCH_PROFILES).map((p) => p.maxCores)),
    );
  });

  it('refuses a machine on a vlan past the addresses the vlan holds', () => {
    const machines: Record<string, object> = {};
    for (let i = 1; i <= VLAN_POSITIONS + 2; i++)
      machines[`m${i}`] = i === VLAN_POSITIONS + 2 ? { vlans: [] } : { vlans: [7] };
    const issue = onlyIssue({ machines });
    assert.equal(issue.machine, `m${VLAN_POSITIONS + 1}`);
    assert.equal(issue.path, `machines.m${VLAN_POSITIONS + 1}.vlans[0]`);
    assert.match(
      issue.message,
      new RegExp(`vlan 7 has ${VLAN_POSITIONS + 1} machines.*positions 1 to ${VLAN_POSITIONS}`),
    );
    delete machines[`m${VLAN_POSITIONS + 1}`];
    resolveConfig(validateConfig({ machines }), fakeHost());
  });

  it('gives a guest mount point one spelling, and keeps it off the mounts the boot makes', () => {
    for (const spelling of ['/data/', '//data', '/./data', '/x/../data']) {
      const issue = onlyIssue(
        machine({ fileSystems: { [spelling]: { device: 'tmpfs', fsType: 'tmpfs' } } }),
      );
      assert.match(issue.message, /plain absolute path.*e\.g\. "\/data"/, spelling);
      const share = onlyIssue(
        machine({ sharedDirectories: { d: { source: 'd', target: spelling } } }),
      );
      assert.equal(share.path, 'machines.vm.sharedDirectories.d.target', spelling);
    }
    assert.match(
      onlyIssue(
        machine({
          sharedDirectories: { d: { source: 'd', target: '/data' } },
          fileSystems: { '/data': { device: 'tmpfs', fsType: 'tmpfs' } },
        }),
      ).message,
      /share "d" is already mounted at \/data/,
    );
    const hidden: [object, RegExp][] = [
      [
        { sharedDirectories: { d: { source: 'd', target: '/' } } },
        /managed by nx-qemu-vm \(bootDevice\)/,
      ],
      [{ sharedDirectories: { d: { source: 'd', target: '/usr' } } }, /\(store\.target\)/],
      [{ sharedDirectories: { d: { source: 'd', target: '/tmp/xchg' } } }, /the xchg share/],
      [{ sharedDirectories: { d: { source: 'd', target: '/.nx-store' } } }, /would hide the store/],
      [{ sharedDirectories: { d: { source: 'd', target: '/run/d' } } }, /inside \/run/],
      [
        { fileSystems: { '/dev': { device: 'tmpfs', fsType: 'tmpfs' } } },
        /is \/dev, which stage 1/,
      ],
      [
        {
          store: { target: '/opt/store' },
          fileSystems: { '/opt': { device: 'tmpfs', fsType: 'tmpfs' } },
        },
        /would hide the store \(\/opt\/store\)/,
      ],
      [{ store: { target: '/usr/' } }, /plain absolute path/],
      [{ store: { target: '/' } }, /overlaps a directory the guest's boot mounts itself/],
    ];
    for (const [m, message] of hidden)
      assert.match(onlyIssue(machine(m)).message, message, JSON.stringify(m));
    // Below /tmp's share, and a late mount below /run, are fine.
    resolveConfig(
      validateConfig(
        machine({
          fileSystems: {
            '/tmp': { device: 'tmpfs', fsType: 'tmpfs' },
            '/run/late': { device: 'tmpfs', fsType: 'tmpfs', neededForBoot: false },
          },
        }),
      ),
      fakeHost(),
    );
  });

  it('refuses one image file attached twice, however it is spelt', () => {
    const issue = onlyIssue(
      machine({
        diskImage: 'disks/root.qcow2',
        qemu: { drives: [{ file: './disks//root.qcow2' }] },
      }),
    );
    assert.equal(issue.path, 'machines.vm.qemu.drives[0].file');
    assert.match(
      issue.message,
      /same file as machines\.vm\.diskImage \(\/ws\/disks\/root\.qcow2\)/,
    );
    assert.equal(
      onlyIssue(machine({ diskImage: '.vm/vm/empty0.qcow2', emptyDiskImages: [8] })).path,
      'machines.vm.emptyDiskImages[0]',
    );
    const across = onlyIssue({
      machines: { a: {}, b: { qemu: { drives: [{ file: '/ws/.vm/a/a.qcow2' }] } } },
    });
    assert.equal(across.machine, 'b');
    // Read-only twice is fine: nothing writes it.
    const ro = { file: 'base.img', format: 'raw', driveExtraOpts: { readonly: 'on' } };
    resolveConfig(
      validateConfig(machine({ qemu: { drives: [ro, { ...ro, file: './base.img' }] } })),
      fakeHost(),
    );
  });

  it('refuses a primaryIPAddress that is not an IPv4 address', () => {
    for (const bad of ['vm', '192.168.1.300', '1.2.3.4 evil', '::1', '01.2.3.4']) {
      const issue = onlyIssue(machine({ primaryIPAddress: bad }));
      assert.equal(issue.path, 'machines.vm.primaryIPAddress', bad);
      assert.match(issue.message, /IPv4 address/);
    }
    resolveConfig(validateConfig(machine({ primaryIPAddress: '192.168.1.10' })), fakeHost());
  });

  it('shows a long value, key or word in a message cut to its start and length', () => {
    const long = 'a'.repeat(100_000);
    const cases = [
      machine({ diskImage: `${long}\n` }),
      machine({ [long]: 1 }),
      machine({
        fileSystems: { [`/${long}`]: { device: 'x', fsType: 'tmpfs' } },
        primaryIPAddress: long,
      }),
      { machines: { [long]: {} } },
    ];
    for (const raw of cases) {
      let message = '';
      try {
        resolveConfig(validateConfig(raw), fakeHost());
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        message = err.message;
      }
      for (const line of message.split('\n')) assert.ok(line.length < 1200, line.slice(0, 200));
      assert.match(message, new RegExp(`a{${SHOWN_CHARS - 2},}… \\(1000\\d\\d characters\\)`));
    }
  });

  it('refuses a deeply nested file with its name and the path where it gets too deep', () => {
    const depth = 100_000;
    const text = `{"machines":{"vm":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}}`;
    let error: unknown;
    try {
      validateConfig(parseConfigText(text, 'deep/workspace-vm.json'), 'deep/workspace-vm.json');
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.issues.length, 1);
    assert.equal(error.issues[0].machine, 'vm');
    assert.match(error.message, /^deep\/workspace-vm\.json has 1 problem/);
    assert.match(error.message, new RegExp(`nests deeper than ${MAX_NESTING} levels`));
    assert.ok(error.issues[0].path.startsWith('machines.vm.x[0][0]'));
  });
});
