import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  kernelVersionFromHeader,
  kernelVersionFromImage,
  parseModuleIndex,
  planModules,
  readModuleIndex,
  readModuleObject,
} from './modules';
import { runTool } from '../host/run-tool';
import { newestKernel } from '../config/resolve';

const index = (
  dep: string,
  extra: Partial<{ builtin: string; softdep: string; alias: string }> = {},
) => parseModuleIndex({ dep, builtin: '', softdep: '', alias: '', ...extra });

const names = (plan: ReturnType<typeof planModules>) =>
  plan.load.map((m) => (m.optional ? `${m.name}?` : m.name));

describe('parseModuleIndex', () => {
  it('normalises names and reads all four files', () => {
    const idx = parseModuleIndex({
      dep: 'kernel/a/virtio-rng.ko.xz: kernel/b/virtio.ko.xz\nkernel/b/virtio.ko.xz:\n',
      builtin: 'kernel/fs/ext4/ext4.ko\n',
      softdep:
        '# comment\nsoftdep ext4 ignored pre: crypto-crc32c post: x-y\nsoftdep ext4 pre: other\n',
      alias:
        'alias crypto-crc32c crc32c-intel\nalias pci:v*d* virtio_pci\nalias crypto-crc32c crc32c_generic\n',
    });
    assert.deepEqual(idx.modules.get('virtio_rng'), {
      name: 'virtio_rng',
      path: 'kernel/a/virtio-rng.ko.xz',
      deps: ['virtio'],
    });
    assert.ok(idx.builtin.has('ext4'));
    assert.deepEqual(idx.softdeps.get('ext4'), { pre: ['crypto_crc32c', 'other'], post: ['x_y'] });
    assert.deepEqual(
      [...idx.aliases],
      [['crypto_crc32c', ['crc32c_intel', 'crc32c_generic']]],
      'wildcard aliases are left out',
    );
  });

  it('rejects a modules.dep line without a colon', () => {
    assert.throws(
      () => index('kernel/a.ko kernel/b.ko\n'),
      /modules\.dep: expected "path: deps\.\.\."/,
    );
  });
});

describe('planModules', () => {
  it('loads a diamond base once, before both sides, in modprobe order', () => {
    const idx = index(
      'top.ko: left.ko right.ko base.ko\nleft.ko: base.ko\nright.ko: base.ko\nbase.ko:\n',
    );
    const plan = planModules(idx, ['top']);
    assert.deepEqual(names(plan), ['base', 'right', 'left', 'top']);
    assert.deepEqual(planModules(idx, ['top', 'left', 'top']), plan, 'repeats change nothing');
    assert.deepEqual(plan.load[0], { name: 'base', path: 'base.ko', optional: false });
  });

  it('puts softdep alias candidates first and marks them optional', () => {
    const idx = index(
      'ext4.ko: jbd2.ko\njbd2.ko:\ncrc32c-intel.ko:\ncrc32c_generic.ko: libcrc.ko\nlibcrc.ko:\n',
      {
        softdep: 'softdep ext4 pre: crypto-crc32c\nsoftdep jbd2 pre: crypto-crc32c\n',
        alias: 'alias crypto-crc32c crc32c_intel\nalias crypto-crc32c crc32c_generic\n',
      },
    );
    assert.deepEqual(names(planModules(idx, ['ext4'])), [
      'crc32c_intel?',
      'libcrc?',
      'crc32c_generic?',
      'jbd2',
      'ext4',
    ]);
    assert.deepEqual(
      names(planModules(idx, ['crc32c_generic', 'ext4'])),
      ['libcrc', 'crc32c_generic', 'crc32c_intel?', 'jbd2', 'ext4'],
      'wanted ones are not optional',
    );
  });

  it('resolves a softdep by module name first, skips built-in and unknown ones, and loads post softdeps after', () => {
    const idx = index('a.ko:\nb.ko:\nc.ko:\n', {
      builtin: 'kernel/crc.ko\n',
      softdep: 'softdep a pre: b crc nowhere post: c\n',
      alias: 'alias b c\n',
    });
    assert.deepEqual(names(planModules(idx, ['a'])), ['b?', 'a', 'c?']);
  });

  it('keeps hard dependencies first even when softdeps form a cycle', () => {
    const idx = index('a.ko:\nb.ko: a.ko\n', { softdep: 'softdep a pre: b\n' });
    assert.deepEqual(names(planModules(idx, ['a'])), ['a', 'b?']);
  });

  it('reports built-in and unknown names instead of loading them', () => {
    const idx = index('kernel/x-y.ko:\n', { builtin: 'kernel/fs/ext4.ko\n' });
    const plan = planModules(idx, ['x_y', 'ext4', 'nope', 'nope', 'x-y']);
    assert.deepEqual(plan, {
      load: [{ name: 'x_y', path: 'kernel/x-y.ko', optional: false }],
      builtin: ['ext4'],
      missing: ['nope'],
    });
  });

  it('refuses an index whose dependency has no line of its own', () => {
    assert.throws(
      () => planModules(index('a.ko: b.ko\n'), ['a']),
      /a depends on b, which has no line of its own/,
    );
  });
});

const tmp = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-modules-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const kernel = newestKernel(
  readdirSync('/boot')
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => `/boot/${f}`),
);
assert.ok(kernel, 'these tests need a kernel in /boot (apt-get install linux-image-amd64)');
const version = kernelVersionFromImage(kernel)!;
const modulesDir = `/lib/modules/${version}`;

const GUEST_MODULES = [
  'virtio_pci',
  'virtio_blk',
  'virtio_net',
  'virtio_rng',
  'virtio_console',
  '9p',
  '9pnet_virtio',
  'overlay',
  'ext4',
  'vfat',
  'nls_cp437',
  'nls_iso8859-1',
  'sym53c8xx',
];

describe(`the host kernel ${version}`, () => {
  it('reads the version from the bzImage header when the file name does not say it', () => {
    const link = join(tmp, 'bzImage');
    symlinkSync(kernel, link);
    assert.equal(kernelVersionFromImage(link), version);
    assert.match(version, /^\d+\.\d+\.\d+/);
    writeFileSync(join(tmp, 'not-a-kernel'), Buffer.alloc(70000, 1));
    assert.equal(kernelVersionFromImage(join(tmp, 'not-a-kernel')), undefined);
    assert.equal(kernelVersionFromHeader(Buffer.alloc(10)), undefined);
  });

  it('plans the guest modules in the order modprobe shows', async () => {
    const plan = planModules(readModuleIndex(modulesDir), GUEST_MODULES);
    assert.deepEqual(plan.missing, []);
    assert.deepEqual(plan.builtin, []);
    // modprobe is the reference: without config (-C /dev/null) it uses the
    // same index files. It repeats shared dependencies; the first one counts.
    const shown = await runTool('modprobe', [
      '-C',
      '/dev/null',
      '-S',
      version,
      '--show-depends',
      '-a',
      ...GUEST_MODULES,
    ]);
    const expected = [
      ...new Set(
        shown.stdout
          .split('\n')
          .filter((l) => l.startsWith('insmod '))
          .map((l) => l.slice(7).trim()),
      ),
    ];
    assert.deepEqual(
      plan.load.map((m) => join(modulesDir, m.path)),
      expected,
    );
    for (const m of plan.load) assert.ok(existsSync(join(modulesDir, m.path)), m.path);
    assert.deepEqual(
      plan.load
        .filter((m) => m.optional)
        .map((m) => m.name)
        .sort(),
      ['crc32c_generic', 'crc32c_intel'],
    );
    const pos = (n: string) => plan.load.findIndex((m) => m.name === n);
    assert.ok(
      pos('virtio') < pos('virtio_pci') &&
        pos('jbd2') < pos('ext4') &&
        pos('crc32c_intel') < pos('ext4'),
    );
  });

  it('reads plain, xz, zstd and gzip modules as the same ELF bytes', async () => {
    const plan = planModules(readModuleIndex(modulesDir), ['virtio_blk']);
    const original = await readModuleObject(modulesDir, plan.load.at(-1)!.path);
    const dir = join(tmp, 'lib-modules');
    mkdirSync(join(dir, 'kernel'), { recursive: true });
    const plain = join(dir, 'kernel/virtio_blk.ko');
    writeFileSync(plain, original);
    await runTool('xz', ['-k', plain]);
    await runTool('zstd', ['-q', '-k', plain]);
    writeFileSync(`${plain}.gz`, gzipSync(original));
    for (const ext of ['', '.xz', '.zst', '.gz']) {
      const got = await readModuleObject(dir, `kernel/virtio_blk.ko${ext}`);
      assert.ok(got.equals(original), `kernel/virtio_blk.ko${ext}`);
    }
    assert.ok(
      readFileSync(`${plain}.xz`).length < original.length,
      'the copies really are compressed',
    );
    copyFileSync(`${plain}.gz`, join(dir, 'kernel/fake.ko'));
    await assert.rejects(
      readModuleObject(dir, 'kernel/fake.ko'),
      /does not decompress to an ELF object/,
    );
    await assert.rejects(readModuleObject(dir, 'kernel/virtio_blk.o'), /not a kernel module/);
  });
});
