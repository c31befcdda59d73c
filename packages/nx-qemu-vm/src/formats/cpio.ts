// A deterministic writer for the "newc" cpio format, the only archive format
// the kernel unpacks as an initramfs. Determinism matters because the initrd
// is a cached Nx output: the same inputs must give the same bytes on every
// host, so nothing from the host (owners, times, inode numbers, input order)
// may leak into the archive.
import { gzipSync } from 'node:zlib';

export type CpioEntry =
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'file'; mode?: number; data: Uint8Array }
  | { path: string; type: 'symlink'; target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const MAX_U32 = 0xffffffff;
const TRAILER = 'TRAILER!!!';

/** An entry after normalisation: the full st_mode and the bytes to store. */
interface Normalised {
  path: string;
  mode: number;
  data: Buffer;
}

/**
 * Turns `./a/b`, `/a/b`, `a//b/` into `a/b`. `..` is refused: the kernel
 * would resolve it against the initramfs root, so an entry could land
 * somewhere other than where its name says.
 */
export function normaliseCpioPath(path: string): string {
  if (path.includes('\0'))
    throw new Error(`cpio: path ${JSON.stringify(path)} contains a NUL byte`);
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`cpio: path ${JSON.stringify(path)} contains ".."`);
  if (parts.length === 0)
    throw new Error(
      `cpio: path ${JSON.stringify(path)} names the archive root; give entries below it`,
    );
  return parts.join('/');
}

function permissions(path: string, mode: number | undefined, fallback: number): number {
  const m = mode ?? fallback;
  // Only permission bits (with setuid/setgid/sticky) are the caller's to set;
  // the file type comes from `type`, so a stray S_IF* bit would contradict it.
  if (!Number.isInteger(m) || m < 0 || m > 0o7777)
    throw new Error(`cpio: ${path}: mode ${m} is not a permission mode between 0 and 0o7777`);
  return m;
}

function normalise(e: CpioEntry): Normalised {
  const path = normaliseCpioPath(e.path);
  switch (e.type) {
    case 'dir':
      return { path, mode: S_IFDIR | permissions(path, e.mode, 0o755), data: Buffer.alloc(0) };
    case 'file':
      return { path, mode: S_IFREG | permissions(path, e.mode, 0o644), data: Buffer.from(e.data) };
    case 'symlink':
      if (e.target === '' || e.target.includes('\0'))
        throw new Error(
          `cpio: ${path}: symlink target must be a non-empty string without NUL bytes`,
        );
      // Linux ignores a symlink's permissions; 0777 is what it reports anyway.
      return { path, mode: S_IFLNK | 0o777, data: Buffer.from(e.target, 'utf8') };
    default:
      throw new Error(
        `cpio: ${(e as { path: string }).path}: unknown entry type ${JSON.stringify((e as { type: unknown }).type)}`,
      );
  }
}

function describe(n: Normalised): string {
  const type = n.mode & 0o170000;
  const kind =
    type === S_IFDIR
      ? 'directory'
      : type === S_IFLNK
        ? `symlink to ${n.data.toString('utf8')}`
        : `file of ${n.data.length} bytes`;
  return `${kind}, mode ${(n.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

/**
 * Merges duplicates and adds missing parent directories. Parents are made
 * 0755 because the kernel creates nothing itself: without the entry, a file
 * below a missing directory is silently dropped at unpack time.
 */
function collect(entries: readonly CpioEntry[]): Normalised[] {
  const byPath = new Map<string, Normalised>();
  for (const e of entries) {
    const n = normalise(e);
    const seen = byPath.get(n.path);
    if (!seen) byPath.set(n.path, n);
    else if (seen.mode !== n.mode || !seen.data.equals(n.data))
      throw new Error(
        `cpio: conflicting entries for ${n.path}: ${describe(seen)} and ${describe(n)}`,
      );
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const p = byPath.get(parent);
      if (!p) byPath.set(parent, { path: parent, mode: S_IFDIR | 0o755, data: Buffer.alloc(0) });
      else if ((p.mode & 0o170000) !== S_IFDIR)
        throw new Error(
          `cpio: ${parent} is a ${describe(p)} but ${path} needs it to be a directory`,
        );
    }
  }
  // Byte order (not locale order) so the result cannot depend on the host's
  // collation; a parent is a prefix of its children, so it sorts first.
  return [...byPath.values()].sort((a, b) =>
    Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)),
  );
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function hex8(value: number, what: string): string {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U32)
    throw new Error(`cpio: ${what} ${value} does not fit in 32 bits`);
  return value.toString(16).padStart(8, '0');
}

function record(
  name: string,
  fields: { ino: number; mode: number; nlink: number; mtime: number; data: Buffer },
): Buffer[] {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const header =
    '070701' +
    hex8(fields.ino, 'inode') +
    hex8(fields.mode, 'mode') +
    hex8(0, 'uid') +
    hex8(0, 'gid') +
    hex8(fields.nlink, 'nlink') +
    hex8(fields.mtime, 'mtime') +
    hex8(fields.data.length, `size of ${name}`) +
    hex8(0, 'devmajor') +
    hex8(0, 'devminor') +
    hex8(0, 'rdevmajor') +
    hex8(0, 'rdevminor') +
    hex8(nameBytes.length, 'name size') +
    hex8(0, 'check');
  const head = Buffer.from(header, 'ascii');
  // newc aligns both the start of the data and the start of the next header
  // to 4 bytes, counting from the start of the archive.
  return [
    head,
    nameBytes,
    Buffer.alloc(pad4(head.length + nameBytes.length)),
    fields.data,
    Buffer.alloc(pad4(fields.data.length)),
  ];
}

/**
 * Writes a newc archive: sorted by path bytes, parents included, owned by
 * root, every time set to `opts.mtime` (default 0), inodes numbered from 1
 * in output order. The same entries in any order give the same bytes.
 */
export function writeCpio(entries: readonly CpioEntry[], opts: { mtime?: number } = {}): Buffer {
  const mtime = opts.mtime ?? 0;
  hex8(mtime, 'mtime');
  const parts: Buffer[] = [];
  collect(entries).forEach((n, i) => {
    const isDir = (n.mode & 0o170000) === S_IFDIR;
    parts.push(
      ...record(n.path, { ino: i + 1, mode: n.mode, nlink: isDir ? 2 : 1, mtime, data: n.data }),
    );
  });
  parts.push(...record(TRAILER, { ino: 0, mode: 0, nlink: 1, mtime: 0, data: Buffer.alloc(0) }));
  return Buffer.concat(parts);
}

/** RFC 1952 "OS" byte for Unix; the archive is for a Linux guest. */
const GZIP_OS_UNIX = 3;

/**
 * gzip with no file name and a zero time in the header, and the OS byte
 * pinned, since zlib writes the OS of the build host there and that would
 * make macOS and Linux builds differ. The compressed stream itself depends on
 * the zlib Node is built with, so cache keys should include Node's version.
 */
export function gzipDeterministic(buf: Buffer): Buffer {
  const out = gzipSync(buf, { level: 9 });
  if (out.readUInt32LE(4) !== 0)
    throw new Error('gzip: zlib wrote a non-zero modification time into the header');
  out[9] = GZIP_OS_UNIX;
  return out;
}
