// The guest-side commands, run here by a real sh with GNU tar: what a copy
// does with files, directories and what is already at its destination.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fileExistsCommand,
  portOpenCommand,
  tarInCommand,
  tarOutCommand,
  unixSocketOpenCommand,
} from './guest-commands';

describe('guest commands', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'nxvm-guest-commands-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A tar of `name` under `from`, unpacked by tarInCommand at `dest`. */
  const copyIn = (from: string, name: string, dest: string) => {
    const tar = execFileSync('tar', ['-C', from, '-cf', '-', '--', name]);
    return spawnSync('sh', ['-c', tarInCommand(name, dest)], { input: tar, encoding: 'utf8' });
  };

  it('copies a file to its destination path, replacing a file there', () => {
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', "it's a file"), 'new');
    mkdirSync(join(dir, 'dst'));
    writeFileSync(join(dir, 'dst', 'target'), 'old');
    const r = copyIn(join(dir, 'src'), "it's a file", join(dir, 'dst', 'target'));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(dir, 'dst', 'target'), 'utf8'), 'new');
    assert.deepEqual(readdirSync(join(dir, 'dst')), ['target'], 'no scratch left beside it');
  });

  it('merges a directory into an existing one, and refuses a file over a directory', () => {
    mkdirSync(join(dir, 'tree/sub'), { recursive: true });
    writeFileSync(join(dir, 'tree/sub/a'), 'a');
    mkdirSync(join(dir, 'existing'));
    writeFileSync(join(dir, 'existing/keep'), 'k');
    assert.equal(copyIn(dir, 'tree', join(dir, 'existing')).status, 0);
    assert.deepEqual(readdirSync(join(dir, 'existing')).sort(), ['keep', 'sub']);
    const r = copyIn(join(dir, 'src'), "it's a file", join(dir, 'existing'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is a directory; name the file to create/);
  });

  it('packs one entry named after the last part of the path', () => {
    const out = execFileSync('sh', ['-c', tarOutCommand(join(dir, 'tree') + '/')]);
    const names = execFileSync('tar', ['-tf', '-'], { input: out, encoding: 'utf8' });
    assert.deepEqual(names.trim().split('\n').sort(), ['./tree/', './tree/sub/', './tree/sub/a']);
    assert.throws(() => tarOutCommand('/'), /name a file or directory/);
  });

  it('quotes paths and refuses what cannot be one', () => {
    assert.equal(fileExistsCommand("/tmp/a b'c"), "test -e '/tmp/a b'\\''c'");
    assert.throws(() => fileExistsCommand('a\0b'), /not a path/);
    assert.throws(() => portOpenCommand(0, '127.0.0.1'), /not a TCP port/);
    assert.throws(() => portOpenCommand(80, 'x; reboot'), /not a host name or address/);
    assert.equal(spawnSync('sh', ['-c', portOpenCommand(1, '127.0.0.1')]).status, 1);
  });
});

it('probes a UNIX-domain socket, stream or datagram, with the path quoted', () => {
  assert.equal(
    unixSocketOpenCommand("/run/a b's.sock", false),
    `perl -MIO::Socket::UNIX -MSocket -e 'exit(IO::Socket::UNIX->new(Peer => $ARGV[0], Type => SOCK_STREAM) ? 0 : 1)' '/run/a b'\\''s.sock'`,
  );
  assert.match(unixSocketOpenCommand('/run/x', true), /Type => SOCK_DGRAM/);
  assert.throws(() => unixSocketOpenCommand('', false), /waitForOpenUnixSocket: not a path/);
});
