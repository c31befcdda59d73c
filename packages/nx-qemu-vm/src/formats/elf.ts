// What an ELF executable needs from the dynamic loader, read from its headers:
// the program interpreter and the DT_NEEDED libraries. ldd cannot answer for
// a Debian image's binaries (another architecture, or another root), so the
// initrd of an image-built machine resolves them from the file's bytes.

// The ELF header and program headers (the System V ABI's layout), for 32 and
// 64 bit files of either byte order: every reader of an ELF file here goes
// through these, so the offsets below are written once.
const ELF_MAGIC = Buffer.from('\x7fELF', 'latin1');
/** e_ident[EI_CLASS] and e_ident[EI_DATA]: ELFCLASS64 and ELFDATA2LSB. */
const EI_CLASS = 4;
const EI_DATA = 5;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
/** e_type of an executable and of a shared object (which static-pie executables are too). */
export const ET_EXEC = 2;
export const ET_DYN = 3;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;

export interface ElfHeader {
  is64: boolean;
  littleEndian: boolean;
  /** e_type: ET_EXEC (2), ET_DYN (3), ... */
  type: number;
  /** Where the program header table starts in the file, its entry size and count. */
  phoff: number;
  phentsize: number;
  phnum: number;
}

export interface ProgramHeader {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

/** True when `data` starts with the ELF magic, \x7fELF. */
export function hasElfMagic(data: Buffer): boolean {
  return data.subarray(0, ELF_MAGIC.length).equals(ELF_MAGIC);
}

/** Reads 16-bit, 32-bit and word-sized (by the file's class) fields in the file's byte order. */
function fieldReader(data: Buffer, is64: boolean, le: boolean) {
  const u16 = (o: number) => (le ? data.readUInt16LE(o) : data.readUInt16BE(o));
  const u32 = (o: number) => (le ? data.readUInt32LE(o) : data.readUInt32BE(o));
  const word = (o: number) =>
    is64 ? Number(le ? data.readBigUInt64LE(o) : data.readBigUInt64BE(o)) : u32(o);
  return { u16, u32, word };
}

/** The ELF header at the start of `head`; undefined when it is not ELF or is cut short. */
export function readElfHeader(head: Buffer): ElfHeader | undefined {
  if (!hasElfMagic(head)) return undefined;
  const is64 = head[EI_CLASS] === ELFCLASS64;
  const littleEndian = head[EI_DATA] === ELFDATA2LSB;
  if (head.length < (is64 ? 64 : 52)) return undefined;
  const { u16, word } = fieldReader(head, is64, littleEndian);
  return {
    is64,
    littleEndian,
    type: u16(16),
    phoff: word(is64 ? 32 : 28),
    phentsize: u16(is64 ? 54 : 42),
    phnum: u16(is64 ? 56 : 44),
  };
}

/**
 * The program headers, read from `table` at `at` (the whole file and its
 * phoff, or a buffer holding the table alone and 0); undefined when the
 * table runs past the buffer.
 */
export function readProgramHeaders(
  table: Buffer,
  header: ElfHeader,
  at = header.phoff,
): ProgramHeader[] | undefined {
  const { u32, word } = fieldReader(table, header.is64, header.littleEndian);
  const entrySize = header.is64 ? 56 : 32;
  const headers: ProgramHeader[] = [];
  for (let i = 0; i < header.phnum; i++) {
    const ph = at + i * header.phentsize;
    if (ph + entrySize > table.length) return undefined;
    headers.push(
      header.is64
        ? { type: u32(ph), offset: word(ph + 8), vaddr: word(ph + 16), filesz: word(ph + 32) }
        : { type: u32(ph), offset: u32(ph + 4), vaddr: u32(ph + 8), filesz: u32(ph + 16) },
    );
  }
  return headers;
}

/** The notes of a PT_NOTE segment: name (without its NULs) and type, in file order. */
export function elfNotes(file: Buffer, segment: ProgramHeader, header: ElfHeader) {
  const { u32 } = fieldReader(file, header.is64, header.littleEndian);
  const notes: { name: string; type: number }[] = [];
  const end = Math.min(file.length, segment.offset + segment.filesz);
  for (let at = segment.offset; at + 12 <= end;) {
    const nameSize = u32(at);
    const descSize = u32(at + 4);
    const name = file.toString('latin1', at + 12, at + 12 + nameSize).replace(/\0+$/, '');
    notes.push({ name, type: u32(at + 8) });
    at += 12 + ((nameSize + 3) & ~3) + ((descSize + 3) & ~3);
  }
  return notes;
}

export interface ElfDependencies {
  /** PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2; undefined for a static executable. */
  interpreter?: string;
  /** DT_NEEDED names in file order, e.g. libc.so.6. */
  needed: string[];
}

export class ElfError extends Error {}

/** Reads the interpreter and needed libraries of an ELF file (32 or 64 bit, either byte order). */
export function elfDependencies(file: Buffer, name = 'the file'): ElfDependencies {
  const header = readElfHeader(file);
  if (!header) throw new ElfError(`${name} is not an ELF file`);
  const segments = readProgramHeaders(file, header);
  if (!segments) throw new ElfError(`${name}: truncated program headers`);
  const { is64 } = header;
  const { word } = fieldReader(file, is64, header.littleEndian);
  const cString = (offset: number) => {
    const end = file.indexOf(0, offset);
    if (offset >= file.length || end < 0)
      throw new ElfError(`${name}: a string runs past the file`);
    return file.toString('latin1', offset, end);
  };
  const interp = segments.find((s) => s.type === PT_INTERP);
  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  const result: ElfDependencies = { needed: [] };
  if (interp) result.interpreter = cString(interp.offset);
  if (!dynamic) return result;
  // DT_STRTAB holds a virtual address: the PT_LOAD segment that maps it gives its file offset.
  const entrySize = is64 ? 16 : 8;
  const neededOffsets: number[] = [];
  let strtab: number | undefined;
  for (
    let at = dynamic.offset;
    at + entrySize <= dynamic.offset + dynamic.filesz;
    at += entrySize
  ) {
    const tag = word(at);
    const value = word(at + entrySize / 2);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) neededOffsets.push(value);
    if (tag === DT_STRTAB) strtab = value;
  }
  if (neededOffsets.length === 0) return result;
  const load = segments.find(
    (s) =>
      s.type === PT_LOAD &&
      strtab !== undefined &&
      strtab >= s.vaddr &&
      strtab < s.vaddr + s.filesz,
  );
  if (strtab === undefined || !load) throw new ElfError(`${name}: no string table for DT_NEEDED`);
  const base = strtab - load.vaddr + load.offset;
  result.needed = neededOffsets.map((o) => cString(base + o));
  return result;
}
