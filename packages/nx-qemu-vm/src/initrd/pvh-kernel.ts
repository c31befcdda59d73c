// The uncompressed kernel for PVH boot (cold boots). An x86 bzImage
// decompresses itself before Linux starts, and under TCG that takes seconds
// (XZ: about 3.3 s of a 5.4 s bare boot here, bench:boot). QEMU can instead
// load the uncompressed ELF kernel and enter it at its PVH entry point, which
// kernels built with CONFIG_PVH have (Debian's do): the initrd and the command
// line are passed the same way. So the initrd target also unpacks the kernel,
// and the run script boots that ELF when it is there.
//
// Everything here is pure; the decompressors are the caller's (pvh-extract.ts).

import { PT_NOTE, elfNotes, readElfHeader, readProgramHeaders } from '../formats/elf';
import { readX86BootHeader } from '../formats/x86-boot-header';

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
  const header = readX86BootHeader(image);
  if ('why' in header) return header;
  const { version, payload: place } = header;
  if (version < 0x208)
    return { why: `boot protocol ${version >> 8}.${version & 0xff} has no payload fields (2.08+)` };
  // No place: the buffer ends before the payload fields, so the payload is not in it either.
  if (!place || place.length < 8 || place.start + place.length > image.length)
    return { why: 'the payload fields point outside the file' };
  const { start, length } = place;
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
  const header = readElfHeader(elf);
  if (!header) return 'not an ELF file';
  if (!header.is64 || !header.littleEndian) return 'not a 64-bit little-endian ELF file';
  const segments = readProgramHeaders(elf, header);
  if (!segments) return 'truncated program headers';
  const notes = segments.filter((s) => s.type === PT_NOTE).flatMap((s) => elfNotes(elf, s, header));
  return notes.some((n) => n.name === 'Xen' && n.type === PVH_NOTE_TYPE)
    ? undefined
    : 'the kernel has no PVH entry point (CONFIG_PVH)';
}
