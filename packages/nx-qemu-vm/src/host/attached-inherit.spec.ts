import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runAttachedInheriting } from './attached-inherit';

describe('runAttachedInheriting', () => {
  it("gives the program's status, with our environment and the extra variables", async () => {
    const ok = await runAttachedInheriting('sh', ['-c', 'test "$EXTRA" = y && test -n "$PATH"'], {
      EXTRA: 'y',
    });
    assert.deepEqual(ok, { exitCode: 0, signal: undefined, interrupted: undefined });
    const failed = await runAttachedInheriting('sh', ['-c', 'exit 7'], {});
    assert.equal(failed.exitCode, 7);
  });

  it('gives the signal that ended the program', async () => {
    const res = await runAttachedInheriting('sh', ['-c', 'kill -TERM $$'], {});
    assert.equal(res.exitCode, undefined);
    assert.equal(res.signal, 'SIGTERM');
  });

  it('runs the program under setpriv, so a missing program is its failure', async () => {
    const res = await runAttachedInheriting('/nonexistent/program', [], {});
    assert.notEqual(res.exitCode, 0);
  });
});
