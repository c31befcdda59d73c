import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleText } from './console-text';

describe('console text', () => {
  it('drops carriage returns and joins UTF-8 split across chunks', () => {
    const c = new ConsoleText();
    const text = Buffer.from('boot ✓\r\nready\r\n');
    c.push(text.subarray(0, 7));
    c.push(text.subarray(7));
    assert.equal(c.tail(), 'boot ✓\nready\n');
  });

  it('consumes up to the end of each match, so a second wait needs a second occurrence', () => {
    const c = new ConsoleText();
    c.push(Buffer.from('login: \nlogin: \n'));
    assert.ok(c.take(/login:/g));
    assert.ok(c.take(/login:/));
    assert.equal(c.take(/login:/), undefined);
    c.push(Buffer.from('login: '));
    assert.equal(c.take(/log(in):/)?.[1], 'in');
  });

  it('tells listeners about new text until they stop listening', () => {
    const c = new ConsoleText();
    let calls = 0;
    const stop = c.onText(() => calls++);
    c.push(Buffer.from('a'));
    stop();
    c.push(Buffer.from('b'));
    assert.equal(calls, 1);
  });
});
