import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { CommandError, TimeoutError } from './errors';
import {
  Transcript,
  closeTranscript,
  failureOutcome,
  formatLine,
  openTranscript,
  subtest,
} from './transcript';

/** A clock that moves only when told: the lines' figures are then exact. */
function fakeClock() {
  let ms = 1000;
  return { now: () => ms, advance: (by: number) => (ms += by) };
}

describe('transcript', () => {
  it('writes one line a step: when, nesting, machine, what, outcome and duration', () => {
    assert.equal(
      formatLine({
        at: 12_345,
        depth: 0,
        machine: 'client',
        what: 'succeed("echo hi")',
        end: { outcome: 'status 0', took: 150 },
      }),
      '   12.345 client: succeed("echo hi") -> status 0 (0.150 s)',
    );
    assert.equal(
      formatLine({ at: 0, depth: 2, what: 'subtest: the api' }),
      '    0.000     subtest: the api',
    );
  });

  it('keeps a line one line, and cuts a long description', () => {
    const line = formatLine({ at: 0, depth: 0, what: `a\nb\r\n${'x'.repeat(400)}` });
    // Each line break is written as the two characters \n.
    const more = 'a\\nb\\n'.length + 400 - 300;
    assert.equal(line.split('\n').length, 1);
    assert.ok(line.startsWith('    0.000 a\\nb\\nxxx'), line);
    assert.ok(line.endsWith(`x… (${more} more characters)`), line);
    assert.equal(line.length, '    0.000 '.length + 300 + `… (${more} more characters)`.length);
  });

  it('says how a step failed in a few words', () => {
    const command = new CommandError('m', 'false', 1, '', '', undefined, undefined, 'success');
    assert.equal(failureOutcome(command), 'failed: status 1');
    const killed = new CommandError('m', 'x', 137, '', '', 'SIGKILL', undefined, 'success');
    assert.equal(failureOutcome(killed), 'failed: status 137 (SIGKILL)');
    assert.equal(
      failureOutcome(new TimeoutError('m', 'wait', 5, '', undefined)),
      'failed: timed out after 5 s',
    );
    assert.equal(failureOutcome(new RangeError('x')), 'failed: RangeError');
  });

  it('times steps, keeps their order of ending, and lists the ones still running', async () => {
    const clock = fakeClock();
    const t = new Transcript(clock.now);
    clock.advance(500);
    let release = () => undefined as void;
    const slow = t.step('server', 'waitUntilSucceeds("x")', () => {
      clock.advance(100);
      return new Promise<string>((resolve) => (release = () => resolve('out')));
    });
    await t.step(
      'client',
      'execute("true")',
      () => {
        clock.advance(250);
        return Promise.resolve({ status: 0 });
      },
      (r) => `status ${r.status}`,
    );
    await assert.rejects(
      t.step('client', 'succeed("false")', () => {
        clock.advance(50);
        return Promise.reject(
          new CommandError('client', 'false', 1, '', '', undefined, undefined, 'success'),
        );
      }),
      CommandError,
    );
    assert.equal(
      t.text(),
      [
        '    0.850 client: execute("true") -> status 0 (0.250 s)',
        '    0.900 client: succeed("false") -> failed: status 1 (0.050 s)',
        '    0.900 server: waitUntilSucceeds("x") -> still running (0.400 s)',
        '',
      ].join('\n'),
    );
    clock.advance(100);
    release();
    assert.equal(await slow, 'out');
    assert.deepEqual(t.lines.slice(2), [
      '    1.000 server: waitUntilSucceeds("x") -> ok (0.500 s)',
    ]);
    assert.equal(t.text().split('\n').length, 4, 'nothing still running');
  });

  it('nests the steps of subtests, concurrent ones each in its own, and says each subtest', async () => {
    const said: string[] = [];
    const t = openTranscript((text) => said.push(text));
    try {
      const result = await subtest('outer', async () => {
        await t.step('m', 'execute("a")', () => Promise.resolve());
        await Promise.all(
          ['left', 'right'].map((name) =>
            subtest(name, () => t.step('m', `execute("${name}")`, () => Promise.resolve())),
          ),
        );
        return 42;
      });
      assert.equal(result, 42);
      await assert.rejects(
        subtest('broken', () => {
          throw new RangeError('no');
        }),
        RangeError,
      );
    } finally {
      closeTranscript(t);
    }
    const shape = (line: string) =>
      line.replace(/^ +\d+\.\d{3} /, '').replace(/\(\d+\.\d{3} s\)/, '(s)');
    assert.deepEqual(t.lines.map(shape), [
      'subtest: outer',
      '  m: execute("a") -> ok (s)',
      '  subtest: left',
      '  subtest: right',
      '    m: execute("left") -> ok (s)',
      '    m: execute("right") -> ok (s)',
      '  subtest: left -> ok (s)',
      '  subtest: right -> ok (s)',
      'subtest: outer -> ok (s)',
      'subtest: broken',
      'subtest: broken -> failed: RangeError (s)',
    ]);
    assert.deepEqual(said.map(shape), [
      'subtest: outer\n',
      '  subtest: left\n',
      '  subtest: right\n',
      '  subtest: left -> ok (s)\n',
      '  subtest: right -> ok (s)\n',
      'subtest: outer -> ok (s)\n',
      'subtest: broken\n',
      'subtest: broken -> failed: RangeError (s)\n',
    ]);
  });

  it('writes subtests to no transcript once it is closed', async () => {
    const t = openTranscript(() => undefined);
    closeTranscript(t);
    const written: string[] = [];
    const write = mock.method(process.stderr, 'write', (text: string) => written.push(text));
    try {
      await subtest('after', () => undefined);
    } finally {
      write.mock.restore();
    }
    assert.deepEqual(t.lines, []);
    assert.deepEqual(
      written.map((w) => w.replace(/\d+\.\d{3}/, 'N')),
      ['subtest: after\n', 'subtest: after -> ok (N s)\n'],
      'with no set of machines open, subtests go to stderr',
    );
  });
});
