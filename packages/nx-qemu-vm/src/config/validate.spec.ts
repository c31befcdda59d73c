import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from './validate';
import { ConfigError, type ConfigIssue } from './errors';
import { parseConfigText } from './load';

const machine = (m: object, name = 'vm') => ({ machines: { [name]: m } });

function issuesOf(raw: unknown): ConfigIssue[] {
  try {
    validateConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail('expected the config to be rejected');
}

function onlyIssue(raw: unknown): ConfigIssue {
  const issues = issuesOf(raw);
  assert.equal(issues.length, 1, JSON.stringify(issues, null, 2));
  return issues[0];
}

describe('validateConfig', () => {
  it('fills every default of an empty machine', () => {
    const m = validateConfig(machine({})).machines.vm;
    assert.equal(m.memorySize, 384);
    assert.equal(m.msize, 131072);
    assert.equal(m.diskSize, 512);
    assert.equal(m.cores, 1);
    assert.equal(m.graphics, true);
    assert.deepEqual(m.vlans, [1]);
    assert.deepEqual(m.resolution, { x: 1024, y: 768 });
    assert.equal(m.writableStore, true);
    assert.equal(m.accel, 'auto');
    assert.deepEqual(m.store, { source: '/usr', target: '/usr' });
    assert.equal(m.qemu.diskInterface, 'virtio');
    assert.equal(m.qemu.guestAgent.enable, true);
    assert.deepEqual(m.qemu.options, []);
    assert.equal(m.diskImage, undefined, 'name-dependent defaults are left to resolution');
  });

  it('fills defaults inside list entries', () => {
    const m = validateConfig(
      machine({ forwardPorts: [{ host: { port: 2222 }, guest: { port: 22 } }] }),
    ).machines.vm;
    assert.deepEqual(m.forwardPorts[0], {
      from: 'host',
      proto: 'tcp',
      host: { port: 2222, address: '' },
      guest: { port: 22, address: '' },
    });
  });

  it('does not modify its input', () => {
    const raw = machine({});
    validateConfig(raw);
    assert.deepEqual(raw, machine({}));
  });

  it('names the machine, the path, the value and a suggestion for a misspelt key', () => {
    const issue = onlyIssue(machine({ memSize: 1024 }, 'web'));
    assert.equal(issue.machine, 'web');
    assert.equal(issue.path, 'machines.web.memSize');
    assert.equal(issue.value, 1024);
    assert.match(issue.message, /unknown option "memSize"\. Did you mean "memorySize"\?/);
    assert.match(issue.message, /Allowed here: .*memorySize/);
  });

  it('suggests keys in nested objects too', () => {
    const issue = onlyIssue(
      machine({ forwardPorts: [{ host: { prot: 1 }, guest: { port: 22 } }] }),
    );
    assert.equal(issue.path, 'machines.vm.forwardPorts[0].host.prot');
    assert.match(issue.message, /Did you mean "port"\?/);
  });

  it('gives no suggestion for a key that resembles nothing', () => {
    const issue = onlyIssue(machine({ zzzzzzzzzzz: 1 }));
    assert.doesNotMatch(issue.message, /Did you mean/);
  });

  it('reports type, enum and range errors with the value and what is allowed', () => {
    const issues = issuesOf(machine({ memorySize: '1024', accel: 'fast', cores: 0 }));
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    assert.match(byPath['machines.vm.memorySize'].message, /must be of type integer/);
    assert.equal(byPath['machines.vm.memorySize'].value, '1024');
    assert.match(byPath['machines.vm.accel'].message, /must be one of "auto", "kvm", "tcg"/);
    assert.equal(byPath['machines.vm.accel'].value, 'fast');
    assert.match(byPath['machines.vm.cores'].message, /must be >= 1/);
    assert.equal(byPath['machines.vm.cores'].value, 0);
  });

  it('rejects sizes of zero or less', () => {
    const issues = issuesOf(
      machine({ memorySize: -5, diskSize: 0, emptyDiskImages: [64, 0], msize: 0 }),
    );
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      'machines.vm.diskSize',
      'machines.vm.emptyDiskImages[1]',
      'machines.vm.memorySize',
      'machines.vm.msize',
    ]);
  });

  it('rejects ports out of range', () => {
    const issues = issuesOf(
      machine({ forwardPorts: [{ host: { port: 0 }, guest: { port: 70000 } }] }),
    );
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      'machines.vm.forwardPorts[0].guest.port',
      'machines.vm.forwardPorts[0].host.port',
    ]);
    assert.match(issues.find((i) => i.path.endsWith('guest.port'))!.message, /<= 65535/);
  });

  it('names the allowed range of a number past its maximum', () => {
    const issue = onlyIssue(machine({ memorySize: 1e21 }));
    assert.equal(issue.path, 'machines.vm.memorySize');
    assert.equal(issue.value, 1e21);
    assert.equal(issue.message, 'must be <= 1001472 (allowed: 1 to 1001472).');
  });

  it('refuses a value nested deeper than any option, before anything walks it', () => {
    let raw: unknown = 0;
    for (let i = 0; i < 50_000; i++) raw = { k: raw };
    const issue = onlyIssue(machine({ qemu: { drives: [{ file: 'a', driveExtraOpts: raw }] } }));
    assert.equal(issue.machine, 'vm');
    assert.match(issue.path, /^machines\.vm\.qemu\.drives\[0\]\.driveExtraOpts\.k\.k/);
    assert.match(issue.message, /nests deeper than \d+ levels/);
  });

  it('rejects vlan numbers outside 0-255 and repeated vlans', () => {
    const issues = issuesOf(machine({ vlans: [256, -1] }));
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      'machines.vm.vlans[0]',
      'machines.vm.vlans[1]',
    ]);
    const dup = onlyIssue(machine({ vlans: [1, 2, 1] }));
    assert.equal(dup.path, 'machines.vm.vlans[2]');
    assert.match(dup.message, /already listed at vlans\[0\]/);
  });

  it('applies the guest-forwarding assertions of the NixOS module', () => {
    const issues = issuesOf(
      machine({
        forwardPorts: [
          {
            from: 'guest',
            proto: 'udp',
            guest: { address: '192.168.1.5', port: 80 },
            host: { port: 8080 },
          },
        ],
      }),
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    assert.match(byPath['machines.vm.forwardPorts[0].proto'].message, /supports only "tcp"/);
    assert.match(byPath['machines.vm.forwardPorts[0].guest.address'].message, /10\.0\.2\.0\/24/);
    assert.equal(byPath['machines.vm.forwardPorts[0].guest.address'].value, '192.168.1.5');
  });

  it('rejects two forwards on one host port', () => {
    const issue = onlyIssue(
      machine({
        forwardPorts: [
          { host: { port: 8080 }, guest: { port: 80 } },
          { host: { port: 8080 }, guest: { port: 81 } },
        ],
      }),
    );
    assert.equal(issue.path, 'machines.vm.forwardPorts[1].host.port');
    assert.match(issue.message, /forwardPorts\[0\] already listens on host tcp port 8080/);
  });

  it('allows the same port number for tcp and udp', () => {
    validateConfig(
      machine({
        forwardPorts: [
          { host: { port: 53 }, guest: { port: 53 } },
          { proto: 'udp', host: { port: 53 }, guest: { port: 53 } },
        ],
      }),
    );
  });

  it('rejects a host address that is not IPv4', () => {
    const issue = onlyIssue(
      machine({ forwardPorts: [{ host: { address: 'localhost', port: 1 }, guest: { port: 1 } }] }),
    );
    assert.equal(issue.path, 'machines.vm.forwardPorts[0].host.address');
  });

  it('rejects duplicate drive names and the built-in names', () => {
    const issues = issuesOf(
      machine({
        qemu: {
          drives: [
            { file: 'a.qcow2', name: 'data' },
            { file: 'b.qcow2', name: 'data' },
            { file: 'c.qcow2', name: 'root' },
          ],
        },
      }),
    );
    assert.deepEqual(
      issues.map((i) => i.path),
      ['machines.vm.qemu.drives[1].name', 'machines.vm.qemu.drives[2].name'],
    );
    assert.match(issues[0].message, /qemu\.drives\[0\] has the same name/);
    assert.match(issues[1].message, /built-in drive/);
  });

  it('rejects file systems on mount points that nx-qemu-vm manages', () => {
    const issue = onlyIssue(
      machine({ fileSystems: { '/': { device: '/dev/vdb', fsType: 'ext4' } } }),
    );
    assert.equal(issue.path, 'machines.vm.fileSystems["/"]');
    assert.match(issue.message, /managed by nx-qemu-vm \(bootDevice\)/);
  });

  it('rejects two shares on one mount point', () => {
    const issue = onlyIssue(
      machine({
        sharedDirectories: {
          a: { source: 'a', target: '/mnt' },
          b: { source: 'b', target: '/mnt' },
        },
      }),
    );
    assert.equal(issue.path, 'machines.vm.sharedDirectories.b.target');
  });

  it('rejects invalid machine names', () => {
    const issue = onlyIssue({ machines: { 'Bad Name': {} } });
    assert.equal(issue.machine, 'Bad Name');
    assert.match(issue.message, /invalid machine name "Bad Name"/);
  });

  it('rejects more drives than the disk interface can hold', () => {
    const issue = onlyIssue(
      machine({ qemu: { diskInterface: 'scsi' }, emptyDiskImages: [1, 1, 1, 1, 1, 1, 1] }),
    );
    assert.equal(issue.path, 'machines.vm.qemu.diskInterface');
    assert.match(issue.message, /8 drives do not fit: this interface takes at most 7/);
  });

  it('counts IDE slots per machine type: six AHCI ports on q35, three on pc', () => {
    assert.match(
      onlyIssue(
        machine({ qemu: { diskInterface: 'ide', machine: 'pc' }, emptyDiskImages: [1, 1, 1] }),
      ).message,
      /at most 3/,
    );
    validateConfig(machine({ qemu: { diskInterface: 'ide' }, emptyDiskImages: [1, 1, 1, 1, 1] }));
  });

  it('keeps the store tag for the store option', () => {
    const issue = onlyIssue(
      machine({ sharedDirectories: { store: { source: '/opt', target: '/opt' } } }),
    );
    assert.equal(issue.path, 'machines.vm.sharedDirectories.store');
  });

  it('rejects IDE on aarch64', () => {
    assert.match(
      onlyIssue(machine({ arch: 'aarch64-linux', qemu: { diskInterface: 'ide' } })).message,
      /no IDE bus/,
    );
  });

  it('rejects bios together with useEFIBoot', () => {
    const issue = onlyIssue(machine({ useEFIBoot: true, bios: '/x/bios.bin' }));
    assert.equal(issue.path, 'machines.vm.bios');
  });

  it('takes warmStart for a direct x86_64 boot with the generated initrd, and refuses it otherwise', () => {
    assert.equal(validateConfig(machine({ warmStart: true })).machines.vm.warmStart, true);
    assert.equal(validateConfig(machine({})).machines.vm.warmStart, false);
    for (const [extra, why] of [
      [{ useBootLoader: true }, /useBootLoader is true/],
      [{ useEFIBoot: true }, /useEFIBoot is true/],
      [{ initrd: '/boot/initrd.img' }, /initrd is set/],
      [{ arch: 'i686-linux' }, /the machine is i686-linux/],
    ] as const) {
      const issue = onlyIssue(machine({ warmStart: true, ...extra }));
      assert.equal(issue.path, 'machines.vm.warmStart');
      assert.match(issue.message, why);
      assert.match(issue.message, /Set warmStart to false/);
    }
  });

  it('takes warmStart "ready" for a declared system, and refuses it on the host\'s /usr or another word', () => {
    const ready = validateConfig(machine({ warmStart: 'ready', system: { from: 'debian' } }));
    assert.equal(ready.machines.vm.warmStart, 'ready');
    const onHost = onlyIssue(machine({ warmStart: 'ready' }));
    assert.equal(onHost.path, 'machines.vm.warmStart');
    assert.equal(onHost.value, 'ready');
    assert.match(onHost.message, /host's \/usr .* Declare a system/);
    const debian = { warmStart: 'ready', system: { from: 'debian' } };
    const noRoot = onlyIssue(machine({ ...debian, diskSize: null }));
    assert.equal(noRoot.path, 'machines.vm.warmStart');
    assert.match(noRoot.message, /diskSize is null/);
    const drives = onlyIssue(
      machine({ ...debian, qemu: { drives: [{ name: 'data', file: '/srv/data.img' }] } }),
    );
    assert.equal(drives.path, 'machines.vm.warmStart');
    assert.match(drives.message, /qemu\.drives names drives of yours/);
    const other = onlyIssue(machine({ warmStart: 'up', system: { from: 'debian' } }));
    assert.equal(other.path, 'machines.vm.warmStart');
    assert.match(other.message, /ready/);
  });

  it('reports every problem of every machine at once', () => {
    const issues = issuesOf({
      machines: { a: { memorySize: 0 }, b: { cores: 'two', typo: 1 } },
      extra: true,
    });
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      'extra',
      'machines.a.memorySize',
      'machines.b.cores',
      'machines.b.typo',
    ]);
  });

  it('reports cross-field problems alongside schema errors of the same machine', () => {
    const issues = issuesOf(
      machine({
        memSize: 1,
        vlans: [3, 3],
        forwardPorts: [
          {
            from: 'guest',
            proto: 'udp',
            host: { port: 0 },
            guest: { address: '10.0.2.9', port: 80 },
          },
        ],
      }),
    );
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      'machines.vm.forwardPorts[0].host.port',
      'machines.vm.forwardPorts[0].proto',
      'machines.vm.memSize',
      'machines.vm.vlans[1]',
    ]);
  });

  it('formats a readable error message', () => {
    try {
      validateConfig(machine({ cores: 0 }), 'workspace-vm.json');
      assert.fail('expected an error');
    } catch (err) {
      assert.equal(
        (err as Error).message,
        'workspace-vm.json has 1 problem:\n  - machine "vm": machines.vm.cores = 0: must be >= 1 (allowed: 1 to 512).',
      );
    }
  });

  it('requires the machines key', () => {
    assert.equal(onlyIssue({}).path, 'machines');
  });

  it('explains malformed JSON with the line and column, and the text there', () => {
    assert.throws(
      () => parseConfigText('{ "machines": '),
      /workspace-vm.json has 1 problem:[\s\S]*not valid JSON: value expected at line 1, column 15/,
    );
    const text = '{\n  "machines": {\n    "vm": { "memorySize": 1024\n      "cores": 2 }\n  }\n}\n';
    assert.throws(
      () => parseConfigText(text),
      /\(file\): is not valid JSON: comma expected at line 4, column 7, near: "cores": 2 }$/m,
    );
    assert.throws(
      () => parseConfigText('{"a": 1,\n}'),
      /property name expected at line 2, column 1/,
    );
    assert.throws(
      () => parseConfigText('{"a": 1} // no'),
      /invalid comment token at line 1, column 10/,
    );
  });

  it('cuts a long line in a JSON error, and finds the end of a deeply nested text', () => {
    const long = `{"a": "${'x'.repeat(100_000)}`;
    assert.throws(
      () => parseConfigText(long),
      (err: Error) => err.message.length < 300 && /at line 1, column 7/.test(err.message),
    );
    assert.throws(
      () => parseConfigText('['.repeat(200_000)),
      (err: Error) => err.message.length < 300 && /at line 1, column 200001/.test(err.message),
    );
  });

  it('needs the generated initrd when a builder VM makes the boot disk', () => {
    const issue = onlyIssue(machine({ useBootLoader: true, initrd: '/boot/initrd.img-6.1' }));
    assert.equal(issue.path, 'machines.vm.initrd');
    assert.match(issue.message, /set bootDiskBuilder to "host"/);
    validateConfig(
      machine({ useBootLoader: true, bootDiskBuilder: 'host', initrd: '/boot/initrd.img-6.1' }),
    );
  });

  it('boots an aarch64 boot disk through UEFI only, with GRUB from a Debian image', () => {
    const arm = { arch: 'aarch64-linux', useBootLoader: true };
    const noEfi = onlyIssue(machine({ ...arm, system: { from: 'debian' } }));
    assert.equal(noEfi.path, 'machines.vm.useEFIBoot');
    assert.match(noEfi.message, /set useEFIBoot to true/);
    const noImage = onlyIssue(
      machine({ ...arm, useEFIBoot: true, store: { source: '/srv/arm64/usr', target: '/usr' } }),
    );
    assert.equal(noImage.path, 'machines.vm.useBootLoader');
    assert.match(noImage.message, /set system\.from to "debian"/);
    validateConfig(machine({ ...arm, useEFIBoot: true, system: { from: 'debian' } }));
  });

  it('refuses a boot disk for an i686 guest, with the fix', () => {
    const issue = onlyIssue(machine({ arch: 'i686-linux', useBootLoader: true }));
    assert.equal(issue.path, 'machines.vm.useBootLoader');
    assert.match(issue.message, /set useBootLoader to false/);
  });
});
