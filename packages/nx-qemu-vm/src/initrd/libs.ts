// The shared libraries a dynamically linked host tool (mke2fs, blkid) needs
// in stage 1, before the host's /usr is mounted: exactly the files the
// dynamic loader would open, which is what ldd reports.
import { open } from 'node:fs/promises';
import { runTool } from '../host/run-tool';
import { ET_DYN, ET_EXEC, PT_INTERP, readElfHeader, readProgramHeaders } from '../formats/elf';

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
    const header = readElfHeader(ident.subarray(0, bytesRead));
    if (!header || (header.type !== ET_EXEC && header.type !== ET_DYN)) return false;
    // Only the table is read, not the whole file; what the file lacks reads as zeros.
    const table = Buffer.alloc(header.phentsize * header.phnum);
    await file.read(table, 0, table.length, header.phoff);
    return readProgramHeaders(table, header, 0)?.every((ph) => ph.type !== PT_INTERP) ?? false;
  } finally {
    await file.close();
  }
}
