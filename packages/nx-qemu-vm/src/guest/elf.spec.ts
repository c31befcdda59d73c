import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { ElfError, elfDependencies, storeLibraryClosure, storePath } from './elf';
import { parseLddOutput } from './libs';

// This host is merged-/usr Debian: its /usr is a store like an image's, so
// the closure read from ELF headers must match what ldd reports.
test('the libraries read from ELF headers are the ones ldd lists', () => {
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

test('a static executable has no interpreter and needs nothing', () => {
  const deps = elfDependencies(readFileSync('/usr/bin/busybox'));
  assert.equal(deps.interpreter, undefined);
  assert.deepEqual(deps.needed, []);
});

test('store paths drop /usr and follow links from the guest root', () => {
  assert.equal(storePath('/usr', '/lib64/ld-linux-x86-64.so.2') !== undefined, true);
  assert.equal(storePath('/usr', '/usr/bin/perl'), '/usr/bin/perl');
  assert.equal(storePath('/usr', '/no/such/file'), undefined);
});

test('a file that is not ELF is refused by name', () => {
  assert.throws(() => elfDependencies(Buffer.from('#!/bin/sh\n'.repeat(10)), 'script'), ElfError);
});
