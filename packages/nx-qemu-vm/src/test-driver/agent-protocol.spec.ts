import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CommandRefusedError,
  FrameDecoder,
  encodeFrame,
  execPayload,
  parseHello,
  parseStatus,
} from './agent-protocol';
import { MAX_COMMAND_BYTES } from '../contract/host-guest';

describe('agent protocol', () => {
  it('decodes frames split anywhere, and several in one chunk', () => {
    const bytes = Buffer.concat([
      encodeFrame('X', 7, execPayload('echo hi', true)),
      encodeFrame('I', 7, Buffer.from([0, 1, 2, 255])),
      encodeFrame('I', 7),
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new FrameDecoder();
      const frames = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      assert.deepEqual(
        frames.map((f) => [f.type, f.id, [...f.payload]]),
        [
          ['X', 7, [1, ...Buffer.from('echo hi')]],
          ['I', 7, [0, 1, 2, 255]],
          ['I', 7, []],
        ],
        `cut at ${cut}`,
      );
    }
  });

  it('refuses a frame longer than 16 MiB', () => {
    const header = Buffer.from([0x4f, 0, 0, 0, 1, 0x01, 0, 0, 1]);
    assert.throws(() => new FrameDecoder().push(header), /frame of 16777217 bytes/);
  });

  it('sets a flag for stdin and one for bash, and sends the command as it is', () => {
    const flagsAndText = (p: Buffer) => [p[0], p.subarray(1).toString()];
    assert.deepEqual(flagsAndText(execPayload('a; b', false)), [0, 'a; b']);
    assert.deepEqual(flagsAndText(execPayload('a; b', true, 'sh')), [1, 'a; b']);
    assert.deepEqual(flagsAndText(execPayload('a; b', false, 'bash')), [2, 'a; b']);
    assert.deepEqual(flagsAndText(execPayload('a; b', true, 'bash')), [3, 'a; b']);
  });

  it('refuses a command the shell could not get whole: a NUL byte, too long, an unknown shell', () => {
    assert.throws(() => execPayload('echo a\0b', false), /cannot hold a NUL byte/);
    assert.equal(execPayload('x'.repeat(MAX_COMMAND_BYTES), false).length, MAX_COMMAND_BYTES + 1);
    assert.throws(
      () => execPayload('x'.repeat(MAX_COMMAND_BYTES + 1), false),
      new RegExp(
        `of ${MAX_COMMAND_BYTES + 1} bytes is longer than ${MAX_COMMAND_BYTES}; pass data`,
      ),
    );
    assert.throws(
      () => execPayload('true', false, 'zsh' as never),
      /shell: "zsh" is neither 'sh' nor 'bash'/,
    );
  });

  it('reads statuses as a shell reports them, and a refusal as an error', () => {
    assert.deepEqual(parseStatus(Buffer.from('exit 3')), { status: 3 });
    assert.deepEqual(parseStatus(Buffer.from('signal 9')), { status: 137, signal: 'SIGKILL' });
    assert.throws(() => parseStatus(Buffer.from('exited 3')), /makes no sense/);
    assert.throws(
      () => parseStatus(Buffer.from('refused /bin/bash is not in this system')),
      (err: Error) =>
        err instanceof CommandRefusedError && err.message === '/bin/bash is not in this system',
    );
  });

  it('reads the hello', () => {
    assert.deepEqual(parseHello(Buffer.from('nx-qemu-vm-agent 1 0f8e-77')), {
      version: 1,
      bootId: '0f8e-77',
    });
    assert.equal(parseHello(Buffer.from('something else')), undefined);
  });
});
