import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readX86BootHeader } from './x86-boot-header';

/** A setup header of protocol `version`, with two setup sectors and a version string at 0x400. */
function craftedHeader(version: number, length = 0x1000): Buffer {
  const image = Buffer.alloc(length);
  image[0x1f1] = 2;
  image.write('HdrS', 0x202, 'latin1');
  image.writeUInt16LE(version, 0x206);
  image.writeUInt16LE(0x200, 0x20e); // kernel_version, from 0x200: the string at 0x400
  if (length > 0x24f) {
    image.writeUInt32LE(0x10, 0x248);
    image.writeUInt32LE(0x80, 0x24c);
  }
  return image;
}

describe('x86 boot header', () => {
  it('reads the version, the version string and the payload of a 2.15 header', () => {
    assert.deepEqual(readX86BootHeader(craftedHeader(0x20f)), {
      version: 0x20f,
      kernelVersionAt: 0x400,
      // (2 setup sectors + the boot sector) * 512 + payload_offset
      payload: { start: 3 * 512 + 0x10, length: 0x80 },
    });
  });

  it('counts setup_sects 0 as 4, as the boot loaders do', () => {
    const image = craftedHeader(0x20f);
    image[0x1f1] = 0;
    assert.deepEqual((readX86BootHeader(image) as { payload: unknown }).payload, {
      start: 5 * 512 + 0x10,
      length: 0x80,
    });
  });

  it('gives no payload before protocol 2.08, nor a version string when the pointer is 0', () => {
    assert.deepEqual(readX86BootHeader(craftedHeader(0x204)), {
      version: 0x204,
      kernelVersionAt: 0x400,
    });
    const unnamed = craftedHeader(0x204);
    unnamed.writeUInt16LE(0, 0x20e);
    assert.deepEqual(readX86BootHeader(unnamed), { version: 0x204 });
  });

  it('gives no payload when the buffer ends before its fields', () => {
    assert.deepEqual(readX86BootHeader(craftedHeader(0x20f, 0x220)), {
      version: 0x20f,
      kernelVersionAt: 0x400,
    });
  });

  it('refuses a buffer without HdrS, or cut short before the header', () => {
    const refused = { why: 'not an x86 bzImage (no HdrS header)' };
    assert.deepEqual(readX86BootHeader(Buffer.alloc(4096)), refused);
    assert.deepEqual(readX86BootHeader(craftedHeader(0x20f).subarray(0, 0x20f)), refused);
    assert.deepEqual(readX86BootHeader(Buffer.alloc(0)), refused);
  });
});
