import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import {
  KernelConfigError,
  checkKernelConfig,
  kernelConfigPath,
  missingKernelConfig,
  parseKernelConfig,
  requiredKernelConfig,
} from './kernel-config';
import { kernelVersionFromImage } from './modules';
import { newestKernel } from '../config/resolve';

const BASE = { graphics: false, writableStore: true, diskInterface: 'virtio' } as const;

describe('parseKernelConfig', () => {
  it('reads y, m, strings and numbers, and treats "is not set" as absent', () => {
    const c = parseKernelConfig(
      '#\n# Automatically generated\nCONFIG_A=y\nCONFIG_B=m\nCONFIG_S="hi there"\nCONFIG_N=0x10\n# CONFIG_X is not set\n',
    );
    assert.deepEqual(
      [...c],
      [
        ['A', 'y'],
        ['B', 'm'],
        ['S', '"hi there"'],
        ['N', '0x10'],
      ],
    );
  });
});

describe('requiredKernelConfig', () => {
  const has = (opts: Parameters<typeof requiredKernelConfig>[0], option: string) =>
    requiredKernelConfig(opts).find((r) => r.option === option)?.need;

  it("has the seed's list plus ours", () => {
    for (const o of [
      'VIRTIO_BLK',
      'VIRTIO_PCI',
      'VIRTIO_NET',
      'EXT4_FS',
      'NET_9P_VIRTIO',
      '9P_FS',
      'VIRTIO_CONSOLE',
    ])
      assert.equal(has(BASE, o), 'enabled', o);
    for (const o of [
      'BLK_DEV',
      'PCI',
      'NETDEVICES',
      'NET_CORE',
      'INET',
      'NETWORK_FILESYSTEMS',
      'DEVTMPFS',
      'BLK_DEV_INITRD',
    ])
      assert.equal(has(BASE, o), 'builtin', o);
  });

  it('depends on graphics, writableStore and the disk interface', () => {
    assert.equal(has(BASE, 'SERIAL_8250'), 'builtin');
    assert.equal(has(BASE, 'SERIAL_8250_CONSOLE'), 'builtin');
    assert.equal(has({ ...BASE, graphics: true }, 'SERIAL_8250'), undefined);
    assert.equal(has(BASE, 'OVERLAY_FS'), 'enabled');
    assert.equal(has({ ...BASE, writableStore: false }, 'OVERLAY_FS'), undefined);
    assert.equal(has(BASE, 'SCSI_SYM53C8XX_2'), undefined);
    assert.equal(has({ ...BASE, diskInterface: 'scsi' }, 'SCSI_SYM53C8XX_2'), 'enabled');
    assert.equal(has({ ...BASE, diskInterface: 'scsi' }, 'BLK_DEV_SD'), 'enabled');
    assert.equal(has({ ...BASE, diskInterface: 'ide' }, 'ATA_PIIX'), 'enabled');
    assert.equal(has({ ...BASE, diskInterface: 'ide' }, 'BLK_DEV_SD'), 'enabled');
    assert.equal(has(BASE, 'BLK_DEV_SD'), undefined);
  });
});

describe('missingKernelConfig', () => {
  it('accepts y or m for enabled, only y for built in', () => {
    const req = [
      { option: 'E', need: 'enabled' },
      { option: 'B', need: 'builtin' },
    ] as const;
    assert.deepEqual(
      missingKernelConfig(
        new Map([
          ['E', 'm'],
          ['B', 'y'],
        ]),
        req,
      ),
      [],
    );
    assert.deepEqual(
      missingKernelConfig(
        new Map([
          ['E', 'y'],
          ['B', 'm'],
        ]),
        req,
      ),
      [{ option: 'B', need: 'builtin', actual: 'm' }],
    );
    assert.deepEqual(missingKernelConfig(new Map(), req), [
      { option: 'E', need: 'enabled', actual: 'not set' },
      { option: 'B', need: 'builtin', actual: 'not set' },
    ]);
  });
});

describe('the host kernel config', () => {
  const kernel = newestKernel(
    readdirSync('/boot')
      .filter((f) => f.startsWith('vmlinuz-'))
      .map((f) => `/boot/${f}`),
  );
  assert.ok(kernel, 'these tests need a kernel in /boot (apt-get install linux-image-amd64)');
  const file = kernelConfigPath(kernel, kernelVersionFromImage(kernel)!);
  const text = readFileSync(file, 'utf8');

  it('lives beside the image', () => {
    assert.equal(
      kernelConfigPath('/boot/vmlinuz-6.1.0-56-amd64', '6.1.0-56-amd64'),
      '/boot/config-6.1.0-56-amd64',
    );
    assert.match(file, /^\/boot\/config-/);
  });

  it('passes for every combination of options', () => {
    for (const graphics of [false, true])
      for (const writableStore of [false, true])
        for (const diskInterface of ['virtio', 'scsi', 'ide'] as const)
          checkKernelConfig(text, file, { graphics, writableStore, diskInterface });
  });

  it('fails without VIRTIO_BLK, naming it, the file and the fixes', () => {
    const without = text.replace(/^CONFIG_VIRTIO_BLK=.*$/m, '# CONFIG_VIRTIO_BLK is not set');
    assert.notEqual(without, text);
    assert.throws(
      () => checkKernelConfig(without, file, BASE),
      (e: unknown) => {
        assert.ok(e instanceof KernelConfigError);
        assert.deepEqual(e.missing, [{ option: 'VIRTIO_BLK', need: 'enabled', actual: 'not set' }]);
        assert.ok(e.message.includes(file));
        assert.match(e.message, /CONFIG_VIRTIO_BLK must be enabled \(y or m\), but is not set/);
        assert.match(e.message, /"Enabled" means y or m.*"built in" means y/);
        assert.match(e.message, /"kernel" option/);
        assert.match(e.message, /apt-get install linux-image-amd64/);
        return true;
      },
    );
  });

  it('fails with a modular serial driver only when there is no graphics', () => {
    const modular = text.replace(/^CONFIG_SERIAL_8250=y$/m, 'CONFIG_SERIAL_8250=m');
    assert.notEqual(modular, text);
    checkKernelConfig(modular, file, { ...BASE, graphics: true });
    assert.throws(
      () => checkKernelConfig(modular, file, BASE),
      (e: unknown) => {
        assert.ok(e instanceof KernelConfigError);
        assert.deepEqual(e.missing, [{ option: 'SERIAL_8250', need: 'builtin', actual: 'm' }]);
        assert.match(e.message, /CONFIG_SERIAL_8250 must be built in \(y\), but is m/);
        return true;
      },
    );
  });

  it('lists every problem at once', () => {
    const broken = text
      .replace(/^CONFIG_SERIAL_8250=y$/m, 'CONFIG_SERIAL_8250=m')
      .replace(/^CONFIG_DEVTMPFS=y$/m, '');
    assert.throws(
      () => checkKernelConfig(broken, file, BASE),
      (e: unknown) => {
        assert.ok(e instanceof KernelConfigError);
        assert.deepEqual(
          e.missing.map((m) => [m.option, m.actual]),
          [
            ['SERIAL_8250', 'm'],
            ['DEVTMPFS', 'not set'],
          ],
        );
        assert.match(e.message, /lacks 2 required options/);
        return true;
      },
    );
  });
});
