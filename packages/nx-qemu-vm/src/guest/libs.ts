// The shared libraries a dynamically linked host tool (mke2fs, blkid) needs
// in stage 1, before the host's /usr is mounted: exactly the files the
// dynamic loader would open, which is what ldd reports.
import { open } from 'node:fs/promises';
import { runTool } from '../host/run-tool';

export class LibraryNotFoundError extends Error {
  constructor(
    readonly binary: string,
    readonly libraries: readonly string[],
  ) {
    super(
      `${binary} needs ${libraries.join(', ')}, which the dynamic loader cannot find on this host. ` +
        'Install the package that provides it, or leave the tool out of the initrd.',
    );
    this.name = 'LibraryNotFoundError';
  }
}

const STATIC = /^(not a dynamic executable|statically linked)$/;
// The kernel maps this object into every process; there is no file to copy.
const VDSO = /^linux-(vdso|gate)\.so\.\d+\b/;

/**
 * Absolute paths of the libraries and of the dynamic loader in the output of
 * `ldd <one binary>`, as ldd prints them (not resolved: the initrd must hold
 * the file under the name the loader looks for, e.g. /lib64/ld-linux-x86-64.so.2).
 * Libraries reported "not found" raise LibraryNotFoundError; lines of an
 * unknown shape raise an error, since guessing could leave a library out.
 */
export function parseLddOutput(text: string, binary = 'the binary'): string[] {
  const paths: string[] = [];
  const notFound: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || VDSO.test(line)) continue;
    if (STATIC.test(line)) return [];
    let m: RegExpExecArray | null;
    if ((m = /^(\S+) => not found$/.exec(line))) notFound.push(m[1]);
    else if ((m = /^\S+ => (\/\S+) \(0x[0-9a-f]+\)$/.exec(line))) paths.push(m[1]);
    else if ((m = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line))) paths.push(m[1]);
    else throw new Error(`ldd output for ${binary}: cannot read the line ${JSON.stringify(line)}`);
  }
  if (notFound.length) throw new LibraryNotFoundError(binary, notFound);
  return paths;
}

async function librariesOf(binary: string): Promise<string[]> {
  // ldd exits 1 for files that are not dynamic executables (static ones,
  // scripts) and says so on stderr; any other failure is a real error.
  const r = await runTool('ldd', [binary], { allowFailure: true, debianPackage: 'libc-bin' });
  if (r.exitCode !== 0) {
    if (r.stderr.split('\n').some((l) => STATIC.test(l.trim()))) return [];
    throw new Error(`ldd ${binary} failed: ${r.stderr.trim() || `exit status ${r.exitCode}`}`);
  }
  return parseLddOutput(r.stdout, binary);
}

/**
 * Every library (and the loader) the given binaries load, sorted and without
 * repeats. ldd lists the whole closure, libraries of libraries included, so
 * one call per binary suffices. glibc's ldd asks the loader to list rather
 * than run the program; it is still only meant for the host's own tools.
 */
export async function libraryClosure(binaries: readonly string[]): Promise<string[]> {
  const all = new Set<string>();
  for (const binary of binaries) for (const lib of await librariesOf(binary)) all.add(lib);
  return [...all].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

const PT_INTERP = 3;
const ET_EXEC = 2;
const ET_DYN = 3;

/**
 * True for an ELF executable that names no program interpreter, i.e. one
 * the kernel can start with nothing else in the initrd (busybox-static,
 * static-pie binaries). Read from the ELF program headers, so nothing runs.
 * Scripts and other non-ELF files are not static executables. A shared
 * library without an interpreter also counts: its headers look like a
 * static-pie executable's, and callers only ask about executables.
 */
export async function isStaticExecutable(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const ident = Buffer.alloc(64);
    const { bytesRead } = await file.read(ident, 0, 64, 0);
    if (bytesRead < 52 || ident.readUInt32BE(0) !== 0x7f454c46) return false;
    const is64 = ident[4] === 2;
    const le = ident[5] === 1;
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const type = u16(ident, 16);
    if (type !== ET_EXEC && type !== ET_DYN) return false;
    const phoff = is64
      ? Number(le ? ident.readBigUInt64LE(32) : ident.readBigUInt64BE(32))
      : u32(ident, 28);
    const phentsize = u16(ident, is64 ? 54 : 42);
    const phnum = u16(ident, is64 ? 56 : 44);
    const headers = Buffer.alloc(phentsize * phnum);
    await file.read(headers, 0, headers.length, phoff);
    for (let i = 0; i < phnum; i++) if (u32(headers, i * phentsize) === PT_INTERP) return false;
    return true;
  } finally {
    await file.close();
  }
}
