import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type CpioEntry, gzipDeterministic, normaliseCpioPath, writeCpio } from './cpio';
import { runTool } from '../host/run-tool';

const bytes = (s: string) => new TextEncoder().encode(s);

const SAMPLE: CpioEntry[] = [
  { path: 'init', type: 'file', mode: 0o755, data: bytes('#!/bin/sh\necho hi\n') },
  { path: './bin/busybox', type: 'file', mode: 0o755, data: bytes('not really busybox') },
  { path: 'bin/sh', type: 'symlink', target: 'busybox' },
  { path: '/etc/secret', type: 'file', mode: 0o600, data: bytes('x') },
  {
    path: 'lib/modules/6.1.0/kernel/fs/ext4/ext4.ko',
    type: 'file',
    data: new Uint8Array(1021).fill(7),
  },
  { path: 'dev', type: 'dir' },
  { path: 'tmp', type: 'dir', mode: 0o1777 },
  { path: 'empty', type: 'file', data: new Uint8Array(0) },
];

/** Reads back our own archives, so the tests can check every header field. */
function parseNewc(buf: Buffer) {
  const out: {
    name: string;
    ino: number;
    mode: number;
    uid: number;
    gid: number;
    nlink: number;
    mtime: number;
    data: Buffer;
  }[] = [];
  let off = 0;
  for (;;) {
    assert.equal(off % 4, 0, 'every header starts 4-byte aligned');
    assert.equal(buf.toString('ascii', off, off + 6), '070701');
    const field = (i: number) =>
      parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const size = field(6);
    const nameSize = field(11);
    assert.equal(
      field(7) + field(8) + field(9) + field(10) + field(12),
      0,
      'device numbers and check are 0',
    );
    const name = buf.toString('utf8', off + 110, off + 110 + nameSize - 1);
    assert.equal(buf[off + 110 + nameSize - 1], 0);
    let dataStart = off + 110 + nameSize;
    dataStart += (4 - (dataStart % 4)) % 4;
    const data = buf.subarray(dataStart, dataStart + size);
    out.push({
      name,
      ino: field(0),
      mode: field(1),
      uid: field(2),
      gid: field(3),
      nlink: field(4),
      mtime: field(5),
      data,
    });
    off = dataStart + size;
    off += (4 - (off % 4)) % 4;
    if (name === 'TRAILER!!!') break;
  }
  assert.equal(off, buf.length, 'nothing after the trailer');
  return out;
}

const tmp = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-cpio-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('writeCpio', () => {
  it('gives identical bytes for the same entries in any order', () => {
    const reference = writeCpio(SAMPLE, { mtime: 1 });
    const orders = [
      [...SAMPLE].reverse(),
      [...SAMPLE.slice(3), ...SAMPLE.slice(0, 3)],
      [SAMPLE[4], SAMPLE[2], ...SAMPLE.filter((_, i) => i !== 4 && i !== 2)],
    ];
    for (const order of orders) assert.ok(writeCpio(order, { mtime: 1 }).equals(reference));
    assert.ok(
      !writeCpio(SAMPLE, { mtime: 2 }).equals(reference),
      'the mtime option reaches the archive',
    );
  });

  it('sorts by path bytes, adds parents as 0755 dirs and fills the header fields', () => {
    const entries = parseNewc(writeCpio(SAMPLE));
    assert.deepEqual(
      entries.map((e) => e.name),
      [
        'bin',
        'bin/busybox',
        'bin/sh',
        'dev',
        'empty',
        'etc',
        'etc/secret',
        'init',
        'lib',
        'lib/modules',
        'lib/modules/6.1.0',
        'lib/modules/6.1.0/kernel',
        'lib/modules/6.1.0/kernel/fs',
        'lib/modules/6.1.0/kernel/fs/ext4',
        'lib/modules/6.1.0/kernel/fs/ext4/ext4.ko',
        'tmp',
        'TRAILER!!!',
      ],
    );
    const byName = new Map(entries.map((e) => [e.name, e]));
    assert.equal(byName.get('lib/modules')!.mode, 0o040755);
    assert.equal(byName.get('tmp')!.mode, 0o041777);
    assert.equal(byName.get('etc/secret')!.mode, 0o100600);
    assert.equal(byName.get('empty')!.mode, 0o100644, 'files default to 0644');
    assert.equal(byName.get('bin/sh')!.mode, 0o120777);
    assert.equal(byName.get('bin/sh')!.data.toString(), 'busybox');
    assert.equal(byName.get('lib/modules/6.1.0/kernel/fs/ext4/ext4.ko')!.data.length, 1021);
    entries.slice(0, -1).forEach((e, i) => {
      assert.equal(e.ino, i + 1);
      assert.equal(e.nlink, (e.mode & 0o170000) === 0o040000 ? 2 : 1);
      assert.deepEqual([e.uid, e.gid, e.mtime], [0, 0, 0]);
    });
  });

  it('sorts by bytes, not by locale: uppercase and "-" before "/"', () => {
    const names = parseNewc(
      writeCpio([
        { path: 'a/b', type: 'dir' },
        { path: 'a-b', type: 'dir' },
        { path: 'B', type: 'dir' },
      ]),
    ).map((e) => e.name);
    assert.deepEqual(names, ['B', 'a', 'a-b', 'a/b', 'TRAILER!!!']);
  });

  it('normalises paths and rejects ones that escape or name the root', () => {
    assert.equal(normaliseCpioPath('./x'), 'x');
    assert.equal(normaliseCpioPath('/x//y/'), 'x/y');
    assert.throws(() => normaliseCpioPath('a/../../etc'), /\.\./);
    assert.throws(() => normaliseCpioPath('./'), /archive root/);
    assert.throws(
      () => writeCpio([{ path: 'x', type: 'file', mode: 0o100644, data: bytes('') }]),
      /0o7777/,
    );
  });

  it('accepts identical duplicates and rejects conflicting ones', () => {
    const f: CpioEntry = { path: 'x', type: 'file', data: bytes('a') };
    assert.ok(writeCpio([f, { ...f, path: '/x' }]).equals(writeCpio([f])));
    assert.ok(
      writeCpio([
        { path: 'd', type: 'dir' },
        { path: 'd', type: 'dir', mode: 0o755 },
      ]).equals(writeCpio([{ path: 'd', type: 'dir' }])),
    );
    assert.throws(
      () => writeCpio([f, { path: 'x', type: 'file', data: bytes('b') }]),
      /conflicting entries for x/,
    );
    assert.throws(
      () => writeCpio([f, { path: 'x', type: 'file', mode: 0o600, data: bytes('a') }]),
      /conflicting/,
    );
    assert.throws(
      () =>
        writeCpio([
          { path: 'd', type: 'dir' },
          { path: 'd', type: 'dir', mode: 0o700 },
        ]),
      /conflicting/,
    );
    assert.throws(() => writeCpio([f, { path: 'x', type: 'symlink', target: 'a' }]), /conflicting/);
    assert.throws(
      () => writeCpio([f, { path: 'x/y', type: 'file', data: bytes('') }]),
      /x is a file .* needs it to be a directory/,
    );
  });

  it('writes an archive the host cpio lists and extracts with the same files, modes and links', async () => {
    const archive = join(tmp, 'test.cpio');
    const buf = writeCpio(SAMPLE, { mtime: 1_000_000_000 });
    writeFileSync(archive, buf);

    const listed = (await runTool('cpio', ['-t', '--quiet', '-F', archive])).stdout
      .trimEnd()
      .split('\n');
    assert.deepEqual(
      listed,
      parseNewc(buf)
        .map((e) => e.name)
        .slice(0, -1),
    );

    const dest = join(tmp, 'root');
    mkdirSync(dest);
    const extracted = await runTool('sh', [
      '-c',
      'cd "$1" && cpio -idmv -F "$2"',
      'sh',
      dest,
      archive,
    ]);
    assert.match(extracted.stderr, /^etc\/secret$/m, 'cpio -v names each file');
    assert.equal(readFileSync(join(dest, 'init'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(statSync(join(dest, 'init')).mode & 0o7777, 0o755);
    assert.equal(statSync(join(dest, 'etc/secret')).mode & 0o7777, 0o600);
    assert.equal(statSync(join(dest, 'tmp')).mode & 0o7777, 0o1777);
    assert.ok(statSync(join(dest, 'lib/modules/6.1.0/kernel/fs')).isDirectory());
    assert.deepEqual(
      readFileSync(join(dest, 'lib/modules/6.1.0/kernel/fs/ext4/ext4.ko')),
      Buffer.alloc(1021, 7),
    );
    assert.equal(readFileSync(join(dest, 'empty')).length, 0);
    assert.ok(lstatSync(join(dest, 'bin/sh')).isSymbolicLink());
    assert.equal(readlinkSync(join(dest, 'bin/sh')), 'busybox');
    assert.equal(
      readFileSync(join(dest, 'bin/sh'), 'utf8'),
      'not really busybox',
      'the link resolves inside the tree',
    );
    assert.equal(
      statSync(join(dest, 'init')).mtimeMs,
      1_000_000_000_000,
      'cpio -m keeps our mtime',
    );
  });
});

describe('gzipDeterministic', () => {
  const archive = writeCpio(SAMPLE);
  const gz = gzipDeterministic(archive);

  it('writes a zero mtime, no file name and the Unix OS byte, and is stable', () => {
    assert.deepEqual([gz[0], gz[1], gz[2]], [0x1f, 0x8b, 8], 'gzip magic and deflate');
    assert.equal(gz[3], 0, 'no optional header fields (no file name)');
    assert.equal(gz.readUInt32LE(4), 0);
    assert.equal(gz[9], 3);
    assert.ok(gzipDeterministic(archive).equals(gz));
  });

  it('round-trips through zlib and the host gzip', async () => {
    assert.ok(gunzipSync(gz).equals(archive));
    const listed = await runTool('sh', ['-c', 'gzip -dc | cpio -t --quiet'], { input: gz });
    assert.ok(
      listed.stdout.trimEnd().split('\n').includes('lib/modules/6.1.0/kernel/fs/ext4/ext4.ko'),
    );
  });
});
