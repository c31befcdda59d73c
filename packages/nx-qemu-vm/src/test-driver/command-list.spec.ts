import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { joinOutputs, splitCommands } from './command-list';

describe('several commands of succeed and fail', () => {
  it('takes commands, then options when the last argument is an object', () => {
    assert.deepEqual(splitCommands('succeed', ['a']), { commands: ['a'], options: {} });
    assert.deepEqual(splitCommands('succeed', ['a', 'b', { timeout: 5 }]), {
      commands: ['a', 'b'],
      options: { timeout: 5 },
    });
  });

  it('refuses no command, and a command that is not a string', () => {
    assert.throws(() => splitCommands('succeed', []), /succeed: name at least one command/);
    assert.throws(() => splitCommands('fail', [{ timeout: 1 }]), /fail: name at least one command/);
    assert.throws(
      () => splitCommands('succeed', ['a', 7 as never, 'c']),
      /succeed: command 2 is not a string: 7/,
    );
  });

  it('joins outputs in order, as text or as bytes', () => {
    assert.equal(joinOutputs(['a\n', 'b\n']), 'a\nb\n');
    const bytes = joinOutputs([Buffer.from([0, 1]), Buffer.from([255])]);
    assert.ok(Buffer.isBuffer(bytes));
    assert.deepEqual([...bytes], [0, 1, 255]);
  });
});
