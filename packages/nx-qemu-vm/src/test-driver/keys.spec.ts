import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keyCombination, keyForChar } from './keys';

describe('keys', () => {
  it('turns a combination into qcodes pressed together', () => {
    assert.deepEqual(keyCombination('ctrl-alt-delete'), [
      { type: 'qcode', data: 'ctrl' },
      { type: 'qcode', data: 'alt' },
      { type: 'qcode', data: 'delete' },
    ]);
  });

  it('refuses what is not a combination of key names', () => {
    for (const bad of ['', 'ctrl--a', 'Ctrl', 'ret\nquit', 'a b'])
      assert.throws(() => keyCombination(bad), /not a key combination/, JSON.stringify(bad));
  });

  it('types characters on a US keyboard', () => {
    assert.deepEqual([...'aZ5 \n_?'].map(keyForChar), [
      'a',
      'shift-z',
      '5',
      'spc',
      'ret',
      'shift-minus',
      'shift-slash',
    ]);
    assert.throws(() => keyForChar('é'), /cannot type "é" on a US keyboard/);
  });
});
