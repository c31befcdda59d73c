import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { layoutDrift, parseLayoutStamp, renderLayoutStamp } from './layout';

describe('disk layout stamps', () => {
  const wanted = { sizeMiB: 1024, interface: 'virtio', rootDevice: '/dev/vda', rootFsType: 'ext4' };

  it('round-trips, and ignores a stamp that is not ours', () => {
    assert.deepEqual(parseLayoutStamp(renderLayoutStamp(wanted)), wanted);
    assert.equal(parseLayoutStamp('not json'), undefined);
    assert.equal(parseLayoutStamp('{"size": 3}'), undefined);
  });

  it('reports nothing when the disk matches', () => {
    assert.deepEqual(layoutDrift(wanted, wanted, 1024), []);
  });

  it('names each changed property with both values', () => {
    const drift = layoutDrift(
      { ...wanted, sizeMiB: 2048, interface: 'scsi', rootDevice: '/dev/sda' },
      wanted,
      1024,
    );
    assert.deepEqual(drift, [
      'size (MiB): the disk has 1024, the config says 2048',
      'interface: created with virtio, the config says scsi',
      'root device: created with /dev/vda, the config says /dev/sda',
    ]);
  });

  it('believes the image over the stamp for the size, and compares only the size without a stamp', () => {
    assert.deepEqual(layoutDrift(wanted, { ...wanted, sizeMiB: 1024 }, 4096), [
      'size (MiB): the disk has 4096, the config says 1024',
    ]);
    assert.deepEqual(layoutDrift({ ...wanted, interface: 'ide' }, undefined, 1024), []);
  });
});
