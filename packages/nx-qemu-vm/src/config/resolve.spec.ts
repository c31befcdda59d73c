import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from './validate';
import { newestKernel, resolveConfig, type ResolvedMachine } from './resolve';
import { ConfigError } from './errors';
import { lookupDrive } from './drives';
import { FAKE_KERNEL, fakeHost } from '../../test/helpers/fake-host';
import { resolveOnFakeHost } from '../../test/helpers/resolved-machine';
import { renderArgvListing } from '../quote/argv-words';

const resolve = resolveOnFakeHost;

const fs = (r: ResolvedMachine, mountPoint: string) =>
  r.fileSystems.find((f) => f.mountPoint === mountPoint);

describe('resolveMachine', () => {
  it('derives disk and EFI-vars paths from the machine name', () => {
    const r = resolve({}, 'web');
    assert.equal(r.paths.diskImage, '.vm/web/web.qcow2');
    assert.equal(r.paths.efiVars, '.vm/web/web-efi-vars.fd');
    assert.equal(resolve({ diskImage: '/srv/root.qcow2' }).paths.diskImage, '/srv/root.qcow2');
  });

  it('puts the serial console last without graphics and tty0 last with them', () => {
    assert.deepEqual(resolve({ graphics: true }).consoles, ['ttyS0,115200n8', 'tty0']);
    assert.deepEqual(resolve({ graphics: false }).consoles, ['tty0', 'ttyS0,115200n8']);
    const armHost = fakeHost({ files: ['/boot/Image'] });
    assert.deepEqual(
      resolve(
        {
          arch: 'aarch64-linux',
          store: { source: '/srv/arm64/usr' },
          kernel: '/boot/Image',
          graphics: false,
        },
        'vm',
        armHost,
      ).consoles,
      ['tty0', 'ttyAMA0,115200n8'],
    );
    assert.deepEqual(resolve({ qemu: { consoles: ['hvc0'] } }).consoles, ['hvc0']);
  });

  it('lists root, boot, empty and user drives with per-interface device names', () => {
    const r = resolve({
      useBootLoader: true,
      emptyDiskImages: [64, 32],
      qemu: { drives: [{ file: 'data.img', name: 'data', format: 'raw' }] },
    });
    assert.deepEqual(
      r.drives.map((d) => [d.name, d.device]),
      [
        ['root', '/dev/vda'],
        ['boot', '/dev/vdb'],
        [undefined, '/dev/vdc'],
        [undefined, '/dev/vdd'],
        ['data', '/dev/vde'],
      ],
    );
    assert.equal(lookupDrive(r.drives, 'data').format, 'raw');
    assert.equal(
      resolve({ qemu: { diskInterface: 'scsi' }, emptyDiskImages: [1] }).drives[1].device,
      '/dev/sdb',
    );
    assert.equal(resolve({ qemu: { diskInterface: 'ide' } }).drives[0].device, '/dev/sda');
  });

  it('reports a drive name that is missing or repeated', () => {
    const r = resolve({ qemu: { drives: [{ file: 'a', name: 'a' }] } });
    assert.throws(
      () => lookupDrive(r.drives, 'nope'),
      /no drive is named "nope"; named drives: root, a/,
    );
    assert.throws(() => lookupDrive([...r.drives, r.drives[1]], 'a'), /2 drives are named "a"/);
  });

  it('defaults the boot device to the first drive of the interface', () => {
    assert.equal(resolve({}).bootDevice, '/dev/vda');
    assert.equal(resolve({ qemu: { diskInterface: 'scsi' } }).bootDevice, '/dev/sda');
    assert.equal(resolve({ bootDevice: '/dev/vdb' }).bootDevice, '/dev/vdb');
  });

  it('binds forwards without an address to 127.0.0.1 and keeps QEMU_NET_OPTS', () => {
    const r = resolve({
      restrictNetwork: true,
      forwardPorts: [
        { host: { port: 2222 }, guest: { port: 22 } },
        { proto: 'udp', host: { address: '0.0.0.0', port: 5353 }, guest: { port: 53 } },
        { from: 'guest', guest: { address: '10.0.2.100', port: 80 }, host: { port: 8080 } },
      ],
    });
    assert.ok(r.network.user.default);
    assert.equal(
      renderArgvListing([{ arg: r.network.user.netdev }]),
      'user,id=user.0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp:0.0.0.0:5353-:53,' +
        'guestfwd=tcp:10.0.2.100:80-cmd:nc 127.0.0.1 8080${QEMU_NET_OPTS:+,$QEMU_NET_OPTS}',
    );
    assert.equal(r.network.needsNetcat, true);
  });

  it('uses networkingOptions verbatim when given', () => {
    const r = resolve({ qemu: { networkingOptions: ['-nic none'] } });
    assert.deepEqual(r.network.user, { default: false, words: ['-nic none'] });
  });

  it('gives each vlan a NIC and addresses by machine position', () => {
    const config = validateConfig({
      machines: { a: { vlans: [1, 2] }, b: { vlans: [2] }, c: { vlans: [] } },
    });
    const all = resolveConfig(config, fakeHost());
    assert.deepEqual(
      all.a.network.vlans.map((v) => v.address),
      ['192.168.1.1', '192.168.2.1'],
    );
    assert.equal(
      all.b.network.vlans[0].device,
      'virtio-net-pci,netdev=vlan2,mac=52:54:00:12:02:02',
    );
    assert.equal(all.a.primaryIPAddress, '192.168.1.1');
    assert.equal(all.b.primaryIPAddress, '192.168.2.2');
    assert.equal(all.c.primaryIPAddress, '10.0.2.15');
  });

  it('shares the store read-only, plus xchg and shared', () => {
    const r = resolve({
      sharedDirectories: { src: { source: 'packages', target: '/mnt/src', readOnly: true } },
    });
    assert.deepEqual(
      r.shares.map((s) => [s.tag, renderArgvListing([{ arg: s.source }]), s.target, s.readOnly]),
      [
        ['store', '/usr', '/usr', true],
        ['xchg', '${TMPDIR/,/,,}/xchg', '/tmp/xchg', false],
        ['shared', '${shared_dir/,/,,}', '/tmp/shared', false],
        ['src', '${ws/,/,,}/packages', '/mnt/src', true],
      ],
    );
  });

  it('mounts 9p with msize, cache=loose only for the store, and the overlay on top', () => {
    const r = resolve({ msize: 262144 });
    assert.deepEqual(fs(r, '/.nx-store/ro')?.options, [
      'trans=virtio',
      'version=9p2000.L',
      'msize=262144',
      'cache=loose',
      'ro',
    ]);
    assert.deepEqual(fs(r, '/tmp/xchg')?.options, [
      'trans=virtio',
      'version=9p2000.L',
      'msize=262144',
    ]);
    assert.equal(fs(r, '/.nx-store/rw')?.fsType, 'tmpfs');
    assert.equal(fs(r, '/usr')?.fsType, 'overlay');
    const order = r.fileSystems.map((f) => f.mountPoint);
    assert.equal(order[0], '/');
    assert.ok(order.indexOf('/.nx-store/ro') < order.indexOf('/usr'));
    assert.ok(order.indexOf('/.nx-store/rw') < order.indexOf('/usr'));
  });

  it('keeps the overlay upper layer on the root disk without writableStoreUseTmpfs', () => {
    const r = resolve({ writableStoreUseTmpfs: false });
    assert.equal(fs(r, '/.nx-store/rw'), undefined);
    assert.equal(fs(r, '/usr')?.fsType, 'overlay');
  });

  it('mounts the store directly, read-only, without writableStore', () => {
    const r = resolve({ writableStore: false });
    assert.equal(fs(r, '/usr')?.fsType, '9p');
    assert.ok(fs(r, '/usr')?.options.includes('ro'));
  });

  it('adds /tmp on tmpfs, /boot from the boot disk, and user file systems', () => {
    const r = resolve({
      tmpOnTmpfs: true,
      useBootLoader: true,
      fileSystems: { '/data': { device: '/dev/vdc', fsType: 'ext4' } },
    });
    assert.deepEqual(fs(r, '/tmp')?.options, [
      'mode=1777',
      'strictatime',
      'nosuid',
      'nodev',
      'size=50%',
    ]);
    assert.deepEqual(fs(r, '/boot'), {
      mountPoint: '/boot',
      device: '/dev/vdb2',
      fsType: 'vfat',
      options: ['defaults'],
      neededForBoot: true,
    });
    assert.equal(fs(r, '/data')?.device, '/dev/vdc');
    const order = r.fileSystems.map((f) => f.mountPoint);
    assert.ok(order.indexOf('/tmp') < order.indexOf('/tmp/xchg'), 'parents mount before children');
  });

  it('builds the kernel command line from params, init and consoles', () => {
    const r = resolve({ graphics: false, kernelParams: ['quiet'], init: '/sbin/init' });
    assert.deepEqual(r.kernel.params, [
      'quiet',
      'init=/sbin/init',
      'console=tty0',
      'console=ttyS0,115200n8',
    ]);
    assert.equal(r.kernel.image, FAKE_KERNEL);
    assert.equal(r.kernel.initrd, 'dist/vm/vm/initrd/initrd.img');
    assert.equal(r.kernel.generatedInitrd, true);
  });

  it('picks the newest kernel by version, not by string order', () => {
    assert.equal(
      newestKernel(['/boot/vmlinuz-6.1.0-9-amd64', '/boot/vmlinuz-6.1.0-10-amd64']),
      '/boot/vmlinuz-6.1.0-10-amd64',
    );
    assert.equal(newestKernel([]), undefined);
  });

  it('follows qemu-common.nix for binary, machine and CPU', () => {
    const h = fakeHost({ files: ['/k'] });
    assert.deepEqual(
      [
        resolve({}).qemu,
        resolve(
          { arch: 'aarch64-linux', store: { source: '/srv/arm64/usr' }, kernel: '/k' },
          'vm',
          h,
        ).qemu,
        resolve({ arch: 'i686-linux', kernel: '/k' }, 'vm', h).qemu,
      ].map((q) => [q.binary, q.machine, q.cpu]),
      [
        ['qemu-system-x86_64', 'q35', 'max'],
        ['qemu-system-aarch64', 'virt,gic-version=max', 'max'],
        ['qemu-system-i386', 'q35', 'max'],
      ],
    );
  });

  it('finds UEFI firmware through the descriptors, skipping secure-boot builds', () => {
    assert.deepEqual(resolve({ useEFIBoot: true }).efi, {
      code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
      varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.fd',
      format: 'raw',
    });
    assert.equal(
      resolve({
        arch: 'aarch64-linux',
        store: { source: '/srv/arm64/usr' },
        kernel: FAKE_KERNEL,
        useEFIBoot: true,
      }).efi?.code,
      '/usr/share/AAVMF/AAVMF_CODE.fd',
    );
  });

  it('falls back to Debian OVMF paths without descriptors', () => {
    const host = fakeHost({
      firmware: [],
      files: ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd'],
    });
    assert.equal(
      resolve({ useEFIBoot: true }, 'vm', host).efi?.varsTemplate,
      '/usr/share/OVMF/OVMF_VARS.fd',
    );
  });

  it('accepts a bios directory holding bios.bin', () => {
    const host = fakeHost({ files: ['/opt/qboot/bios.bin'] });
    assert.equal(resolve({ bios: '/opt/qboot' }, 'vm', host).bios, '/opt/qboot/bios.bin');
  });
});

describe('host problems', () => {
  function issues(m: object, host = fakeHost()) {
    try {
      resolve(m, 'vm', host);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.issues;
    }
    assert.fail('expected a ConfigError');
  }

  it('names the Debian package when no kernel is installed', () => {
    const [issue] = issues({}, fakeHost({ kernels: [] }));
    assert.equal(issue.path, 'machines.vm.kernel');
    assert.match(issue.message, /apt-get install linux-image-amd64/);
  });

  it('asks for a kernel of the guest architecture instead of taking the host one', () => {
    const [issue] = issues({ arch: 'aarch64-linux', store: { source: '/srv/arm64/usr' } });
    assert.equal(issue.path, 'machines.vm.kernel');
    assert.match(issue.message, /aarch64-linux guest needs its own kernel/);
  });

  it('reports a kernel file that does not exist', () => {
    const [issue] = issues({ kernel: '/boot/vmlinuz-missing' });
    assert.equal(issue.value, '/boot/vmlinuz-missing');
    assert.match(issue.message, /file not found/);
  });

  it('names the firmware package when UEFI firmware is missing', () => {
    const [issue] = issues({ useEFIBoot: true }, fakeHost({ firmware: [] }));
    assert.match(issue.message, /apt-get install ovmf/);
    const [arm] = issues(
      {
        arch: 'aarch64-linux',
        store: { source: '/srv/arm64/usr' },
        kernel: FAKE_KERNEL,
        useEFIBoot: true,
      },
      fakeHost({ firmware: [] }),
    );
    assert.match(arm.message, /apt-get install qemu-efi-aarch64/);
  });

  it('reports missing initrd and bios files', () => {
    const found = issues({ initrd: '/nope/initrd', bios: '/nope/bios.bin' });
    assert.deepEqual(
      found.map((i) => i.path),
      ['machines.vm.initrd', 'machines.vm.bios'],
    );
  });

  it('collects the problems of all machines', () => {
    const config = validateConfig({ machines: { a: { kernel: '/x' }, b: { kernel: '/y' } } });
    assert.throws(
      () => resolveConfig(config, fakeHost()),
      (err: unknown) => err instanceof ConfigError && err.issues.length === 2,
    );
  });
});

describe('the resolution boundary', () => {
  it('is crossed by ResolvedMachine alone: code after it reads no option through .config', () => {
    // hostInputs must see the options the plugin hashed.
    const allowed = new Set(['executors/image/impl.ts']);
    const src = join(__dirname, '..');
    const readers = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
      (file) =>
        file.endsWith('.ts') &&
        !file.endsWith('.spec.ts') &&
        !file.startsWith('config/') &&
        !allowed.has(file) &&
        /\b(r|resolved|machine)\.config\b/.test(readFileSync(join(src, file), 'utf8')),
    );
    assert.deepEqual(readers, [], 'read the resolved field instead (see ResolvedMachine)');
  });
});
