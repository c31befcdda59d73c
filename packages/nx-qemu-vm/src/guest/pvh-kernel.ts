// The uncompressed kernel for PVH boot (M9, cold boots). An x86 bzImage
// decompresses itself before Linux starts, and under TCG that takes seconds
// (XZ: about 3.3 s of a 5.4 s bare boot here, bench:boot). QEMU can instead
// load the uncompressed ELF kernel and enter it at its PVH entry point, which
// kernels built with CONFIG_PVH have (Debian's do): the initrd and the command
// line are passed the same way. So the initrd target also unpacks the kernel,
// and the run script boots that ELF when it is there.
//
// Everything here is pure; the decompressors are the caller's (pvh-extract.ts).

// x86 boot protocol (Documentation/arch/x86/boot.rst): "HdrS" at 0x202, the
// version at 0x206, setup_sects at 0x1f1; from 2.08 on, the compressed
// payload's offset (from the protected-mode code) and length at 0x248/0x24c.
const SETUP_SECTS = 0x1f1;
const HDRS_OFFSET = 0x202;
const VERSION_OFFSET = 0x206;
const PAYLOAD_OFFSET = 0x248;
const PAYLOAD_LENGTH = 0x24c;
/** XEN_ELFNOTE_PHYS32_ENTRY: the note that gives the PVH entry point. */
const PVH_NOTE_TYPE = 18;

export type Compression = 'gzip' | 'xz' | 'zstd' | 'lzma' | 'lz4' | 'bzip2' | 'lzo';

const MAGICS: [Compression, Buffer][] = [
  ['gzip', Buffer.from([0x1f, 0x8b])],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
  ['lzma', Buffer.from([0x5d, 0x00, 0x00])],
  ['lz4', Buffer.from([0x02, 0x21, 0x4c, 0x18])],
  ['bzip2', Buffer.from('BZh')],
  ['lzo', Buffer.from([0x89, 0x4c, 0x5a, 0x4f])],
];

export interface KernelPayload {
  compression: Compression;
  /** The compressed kernel, without the 4-byte size the kernel's build appends. */
  data: Buffer;
  /** The uncompressed size, from that trailer: the check on what decompresses. */
  size: number;
}

/** The compressed vmlinux inside a bzImage, or why there is none to take. */
export function bzImagePayload(image: Buffer): KernelPayload | { why: string } {
  if (image.length < 0x260 || image.toString('latin1', HDRS_OFFSET, HDRS_OFFSET + 4) !== 'HdrS')
    return { why: 'not an x86 bzImage (no HdrS header)' };
  const version = image.readUInt16LE(VERSION_OFFSET);
  if (version < 0x208)
    return { why: `boot protocol ${version >> 8}.${version & 0xff} has no payload fields (2.08+)` };
  const setupSectors = image[SETUP_SECTS] || 4;
  const start = (setupSectors + 1) * 512 + image.readUInt32LE(PAYLOAD_OFFSET);
  const length = image.readUInt32LE(PAYLOAD_LENGTH);
  if (length < 8 || start + length > image.length)
    return { why: 'the payload fields point outside the file' };
  const payload = image.subarray(start, start + length);
  const found = MAGICS.find(([, magic]) => payload.subarray(0, magic.length).equals(magic));
  if (!found) return { why: 'the payload is compressed in a way we do not know' };
  return {
    compression: found[0],
    data: payload.subarray(0, length - 4),
    size: payload.readUInt32LE(length - 4),
  };
}

/** Why an uncompressed kernel cannot be booted through PVH, or undefined when it can. */
export function pvhProblem(elf: Buffer): string | undefined {
  if (elf.length < 64 || !elf.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])))
    return 'not an ELF file';
  if (elf[4] !== 2 || elf[5] !== 1) return 'not a 64-bit little-endian ELF file';
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > elf.length) return 'truncated program headers';
    if (elf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    const offset = Number(elf.readBigUInt64LE(ph + 8));
    const end = Math.min(elf.length, offset + Number(elf.readBigUInt64LE(ph + 32)));
    for (let at = offset; at + 12 <= end;) {
      const nameSize = elf.readUInt32LE(at);
      const descSize = elf.readUInt32LE(at + 4);
      const type = elf.readUInt32LE(at + 8);
      const name = elf.toString('latin1', at + 12, at + 12 + nameSize).replace(/\0+$/, '');
      if (name === 'Xen' && type === PVH_NOTE_TYPE) return undefined;
      at += 12 + ((nameSize + 3) & ~3) + ((descSize + 3) & ~3);
    }
  }
  return 'the kernel has no PVH entry point (CONFIG_PVH)';
}
