import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { LibraryNotFoundError, isStaticExecutable, libraryClosure, parseLddOutput } from './libs';
import { storeLibraryClosure, storePath } from './store-libs';

const NORMAL = `\tlinux-vdso.so.1 (0x00007ffc8a1f2000)
\tlibblkid.so.1 => /lib/x86_64-linux-gnu/libblkid.so.1 (0x00007f0e6a9e1000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0e6a800000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f0e6aa5c000)
`;

describe('parseLddOutput', () => {
  it('lists the libraries and the loader, leaving out the vDSO', () => {
    assert.deepEqual(parseLddOutput(NORMAL), [
      '/lib/x86_64-linux-gnu/libblkid.so.1',
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib64/ld-linux-x86-64.so.2',
    ]);
    assert.deepEqual(
      parseLddOutput(
        '\tlinux-gate.so.1 (0xf7f0e000)\n\tlibc.so.6 => /lib/i386-linux-gnu/libc.so.6 (0xf7c00000)\n',
      ),
      ['/lib/i386-linux-gnu/libc.so.6'],
    );
  });

  it('returns nothing for static executables', () => {
    assert.deepEqual(parseLddOutput('\tnot a dynamic executable\n'), []);
    assert.deepEqual(parseLddOutput('\tstatically linked\n'), []);
  });

  it('names the binary and every library that is not found', () => {
    const text = `${NORMAL}\tlibfoo.so.3 => not found\n\tlibbar.so.1 => not found\n`;
    assert.throws(
      () => parseLddOutput(text, '/usr/sbin/tool'),
      (e: unknown) => {
        assert.ok(e instanceof LibraryNotFoundError);
        assert.equal(e.binary, '/usr/sbin/tool');
        assert.deepEqual(e.libraries, ['libfoo.so.3', 'libbar.so.1']);
        assert.match(
          e.message,
          /^\/usr\/sbin\/tool needs libfoo\.so\.3, libbar\.so\.1, which the dynamic loader cannot find/,
        );
        return true;
      },
    );
  });

  it('refuses lines it does not understand rather than dropping a library', () => {
    assert.throws(
      () => parseLddOutput('\tlibc.so.6 => ???\n', 'x'),
      /ldd output for x: cannot read the line "libc\.so\.6 => \?\?\?"/,
    );
  });
});

const tmp = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-libs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('libraryClosure on the host', () => {
  it('finds what mke2fs and blkid load, sorted and once each', async () => {
    const libs = await libraryClosure(['/sbin/mke2fs', '/sbin/blkid']);
    const names = libs.map((p) => p.split('/').pop());
    for (const lib of ['libext2fs.so.2', 'libblkid.so.1', 'libc.so.6'])
      assert.ok(names.includes(lib), lib);
    assert.ok(
      libs.some((p) => /\/ld-linux[-\w.]*\.so\.\d$/.test(p)),
      'the dynamic loader is included',
    );
    assert.ok(libs.every((p) => p.startsWith('/')));
    assert.deepEqual(libs, [...new Set(libs)].sort());
  });

  it('returns nothing for a static binary and fails for a missing one', async () => {
    assert.deepEqual(await libraryClosure(['/bin/busybox']), []);
    await assert.rejects(
      libraryClosure(['/nonexistent/tool']),
      /ldd \/nonexistent\/tool failed: .*No such file or directory/,
    );
  });
});

describe('isStaticExecutable', () => {
  it('tells busybox-static from dynamically linked tools and scripts', async () => {
    assert.equal(await isStaticExecutable('/bin/busybox'), true);
    assert.equal(await isStaticExecutable('/sbin/mke2fs'), false);
    writeFileSync(join(tmp, 'script'), '#!/bin/sh\necho hi\n');
    assert.equal(await isStaticExecutable(join(tmp, 'script')), false);
    await assert.rejects(isStaticExecutable(join(tmp, 'missing')), /ENOENT/);
  });
});

// This host is merged-/usr Debian: its /usr is a store like an image's, so
// the closure read from ELF headers must match what ldd reports.
it('the libraries read from ELF headers are the ones ldd lists', () => {
  for (const binary of ['/usr/sbin/mke2fs', '/usr/sbin/blkid', '/usr/bin/perl']) {
    const ldd = parseLddOutput(execFileSync('ldd', [binary], { encoding: 'utf8' }), binary);
    const closure = storeLibraryClosure('/usr', [binary], 'x86_64-linux-gnu');
    assert.deepEqual(
      closure.map((l) => l.guestPath).sort(),
      ldd.map((p) => p.replace(/^\/usr\//, '/')).sort(),
      binary,
    );
  }
});

it('store paths drop /usr and follow links from the guest root', () => {
  assert.equal(storePath('/usr', '/lib64/ld-linux-x86-64.so.2') !== undefined, true);
  assert.equal(storePath('/usr', '/usr/bin/perl'), '/usr/bin/perl');
  assert.equal(storePath('/usr', '/no/such/file'), undefined);
});
