import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bzImagePayload, pvhProblem } from './pvh-kernel';
import { unpackPvhKernel } from './pvh-extract';
import { hostKernel } from '../../test/helpers/boot-disk-testing';

/** A bzImage's header around a payload: protocol 2.15, one setup sector, the payload right after it. */
function fakeBzImage(payload: Buffer, size: number): Buffer {
  const setup = Buffer.alloc(1024);
  setup[0x1f1] = 1;
  setup.write('HdrS', 0x202, 'latin1');
  setup.writeUInt16LE(0x20f, 0x206);
  setup.writeUInt32LE(0, 0x248);
  setup.writeUInt32LE(payload.length + 4, 0x24c);
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(size);
  return Buffer.concat([setup, payload, trailer]);
}

/** A 64-bit ELF header with one PT_NOTE holding one note. */
function fakeElf(noteName: string, noteType: number): Buffer {
  const name = Buffer.from(`${noteName}\0`);
  const note = Buffer.alloc(12 + ((name.length + 3) & ~3) + 4);
  note.writeUInt32LE(name.length, 0);
  note.writeUInt32LE(4, 4);
  note.writeUInt32LE(noteType, 8);
  name.copy(note, 12);
  const elf = Buffer.alloc(64 + 56);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1]).copy(elf);
  elf.writeBigUInt64LE(64n, 0x20); // program headers right after the ELF header
  elf.writeUInt16LE(56, 0x36);
  elf.writeUInt16LE(1, 0x38);
  elf.writeUInt32LE(4, 64); // PT_NOTE
  elf.writeBigUInt64LE(BigInt(elf.length), 64 + 8);
  elf.writeBigUInt64LE(BigInt(note.length), 64 + 32);
  return Buffer.concat([elf, note]);
}

describe('PVH kernel', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-pvh-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("unpacks this host's kernel to an ELF with a PVH entry, of the size its trailer names", async () => {
    const result = await unpackPvhKernel(hostKernel());
    assert.ok('elf' in result, 'why' in result ? result.why : '');
    assert.equal(pvhProblem(result.elf), undefined);
  });

  it('finds the PVH note, and says why a kernel without one cannot boot that way', () => {
    assert.equal(pvhProblem(fakeElf('Xen', 18)), undefined);
    assert.match(pvhProblem(fakeElf('Xen', 17)) ?? '', /no PVH entry point/);
    assert.match(pvhProblem(fakeElf('GNU', 18)) ?? '', /no PVH entry point/);
    assert.equal(
      pvhProblem(
        Buffer.from('MZ not an elf at all, just text......................................'),
      ),
      'not an ELF file',
    );
    const elf32 = fakeElf('Xen', 18);
    elf32[4] = 1;
    assert.equal(pvhProblem(elf32), 'not a 64-bit little-endian ELF file');
    assert.equal(pvhProblem(fakeElf('Xen', 18).subarray(0, 100)), 'truncated program headers');
  });

  it('takes a gzip payload in process, and checks its size against the trailer', async () => {
    const elf = fakeElf('Xen', 18);
    const good = join(dir, 'good');
    writeFileSync(good, fakeBzImage(gzipSync(elf), elf.length));
    const unpacked = await unpackPvhKernel(good);
    assert.ok('elf' in unpacked && unpacked.elf.equals(elf));
    const short = join(dir, 'short');
    writeFileSync(short, fakeBzImage(gzipSync(elf), elf.length + 1));
    assert.deepEqual(await unpackPvhKernel(short), {
      why: `it unpacked to ${elf.length} bytes, not the ${elf.length + 1} it names`,
    });
  });

  it('leaves what is not a bzImage, or not compressed as it knows, as it is', () => {
    assert.deepEqual(bzImagePayload(Buffer.alloc(4096)), {
      why: 'not an x86 bzImage (no HdrS header)',
    });
    assert.deepEqual(bzImagePayload(fakeBzImage(Buffer.from('plain bytes'), 11)), {
      why: 'the payload is compressed in a way we do not know',
    });
    const old = fakeBzImage(gzipSync(Buffer.from('x')), 1);
    old.writeUInt16LE(0x204, 0x206);
    assert.match((bzImagePayload(old) as { why: string }).why, /boot protocol 2\.4/);
  });
});
