import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, encodeFrame, execPayload, parseHello, parseStatus } from './agent-protocol';

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

  it('reads statuses as a shell reports them', () => {
    assert.deepEqual(parseStatus(Buffer.from('exit 3')), { status: 3 });
    assert.deepEqual(parseStatus(Buffer.from('signal 9')), { status: 137, signal: 'SIGKILL' });
    assert.throws(() => parseStatus(Buffer.from('exited 3')), /makes no sense/);
  });

  it('reads the hello', () => {
    assert.deepEqual(parseHello(Buffer.from('nx-qemu-vm-agent 1 0f8e-77')), {
      version: 1,
      bootId: '0f8e-77',
    });
    assert.equal(parseHello(Buffer.from('something else')), undefined);
  });
});
