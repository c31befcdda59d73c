import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  ElfError,
  PT_INTERP,
  PT_NOTE,
  elfDependencies,
  elfNotes,
  hasElfMagic,
  readElfHeader,
  readProgramHeaders,
} from './elf';

test('a static executable has no interpreter and needs nothing', () => {
  const deps = elfDependencies(readFileSync('/usr/bin/busybox'));
  assert.equal(deps.interpreter, undefined);
  assert.deepEqual(deps.needed, []);
});

test('a file that is not ELF is refused by name', () => {
  assert.throws(() => elfDependencies(Buffer.from('#!/bin/sh\n'.repeat(10)), 'script'), ElfError);
});

/** An ELF header and program header table, 64-bit little-endian or 32-bit big-endian. */
function craftedElf(is64: boolean, segments: { type: number; offset: number; filesz: number }[]) {
  const [ehsize, phentsize] = is64 ? [64, 56] : [52, 32];
  const file = Buffer.alloc(ehsize + phentsize * segments.length);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, is64 ? 1 : 2]).copy(file);
  if (is64) {
    file.writeUInt16LE(3, 16);
    file.writeBigUInt64LE(BigInt(ehsize), 32);
    file.writeUInt16LE(phentsize, 54);
    file.writeUInt16LE(segments.length, 56);
  } else {
    file.writeUInt16BE(2, 16);
    file.writeUInt32BE(ehsize, 28);
    file.writeUInt16BE(phentsize, 42);
    file.writeUInt16BE(segments.length, 44);
  }
  segments.forEach((s, i) => {
    const at = ehsize + i * phentsize;
    if (is64) {
      file.writeUInt32LE(s.type, at);
      file.writeBigUInt64LE(BigInt(s.offset), at + 8);
      file.writeBigUInt64LE(BigInt(s.offset), at + 16);
      file.writeBigUInt64LE(BigInt(s.filesz), at + 32);
    } else {
      file.writeUInt32BE(s.type, at);
      file.writeUInt32BE(s.offset, at + 4);
      file.writeUInt32BE(s.offset, at + 8);
      file.writeUInt32BE(s.filesz, at + 16);
    }
  });
  return file;
}

test('the ELF header and program headers are read in either class and byte order', () => {
  const segments = [
    { type: PT_INTERP, offset: 0x1000, filesz: 0x1c },
    { type: PT_NOTE, offset: 0x2000, filesz: 0x24 },
  ];
  for (const is64 of [true, false]) {
    const file = craftedElf(is64, segments);
    const header = readElfHeader(file);
    assert.deepEqual(header, {
      is64,
      littleEndian: is64,
      type: is64 ? 3 : 2,
      phoff: is64 ? 64 : 52,
      phentsize: is64 ? 56 : 32,
      phnum: 2,
    });
    assert.deepEqual(
      readProgramHeaders(file, header),
      segments.map((s) => ({ ...s, vaddr: s.offset })),
    );
    // A table cut short is refused, not read past.
    assert.equal(readProgramHeaders(file.subarray(0, file.length - 1), header), undefined);
  }
});

test('the ELF magic is what makes a file ELF, and a header cut short is none', () => {
  const file = craftedElf(true, []);
  assert.ok(hasElfMagic(file));
  assert.ok(!hasElfMagic(Buffer.from('\x7fEL')));
  assert.ok(!hasElfMagic(Buffer.from('#!/bin/sh\n')));
  assert.equal(readElfHeader(file.subarray(0, 63)), undefined);
  assert.equal(readElfHeader(Buffer.from('#!/bin/sh\n'.repeat(10))), undefined);
  assert.throws(
    () => elfDependencies(craftedElf(true, [{ type: 1, offset: 0, filesz: 0 }]).subarray(0, 100)),
    { message: 'the file: truncated program headers' },
  );
});

test('the notes of a PT_NOTE segment are read with their names and types', () => {
  const note = (name: string, type: number, desc: number) => {
    const n = Buffer.from(`${name}\0`);
    const out = Buffer.alloc(12 + ((n.length + 3) & ~3) + ((desc + 3) & ~3));
    out.writeUInt32LE(n.length, 0);
    out.writeUInt32LE(desc, 4);
    out.writeUInt32LE(type, 8);
    n.copy(out, 12);
    return out;
  };
  const notes = Buffer.concat([note('GNU', 3, 4), note('Xen', 18, 4)]);
  const head = craftedElf(true, [{ type: PT_NOTE, offset: 64 + 56, filesz: notes.length }]);
  const file = Buffer.concat([head, notes]);
  const header = readElfHeader(file)!;
  assert.deepEqual(elfNotes(file, readProgramHeaders(file, header)![0], header), [
    { name: 'GNU', type: 3 },
    { name: 'Xen', type: 18 },
  ]);
});
