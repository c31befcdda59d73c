import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serviceVerdict, unitVerdict } from './readiness';

const show = (props: Record<string, string>) =>
  Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');

describe('readiness verdicts', () => {
  it('a declared service: ready is done, starting waits, failed and exited fail', () => {
    assert.equal(serviceVerdict('ready\n'), 'done');
    assert.equal(serviceVerdict('starting\n'), 'wait');
    assert.deepEqual(serviceVerdict('failed\n'), { failed: 'the service failed' });
    assert.deepEqual(serviceVerdict('exited\n'), { failed: 'the service has exited' });
  });

  it("a unit, as NixOS's wait_for_unit", () => {
    const base = { LoadState: 'loaded', SubState: 'running', Result: 'success', Jobs: '0' };
    assert.equal(unitVerdict(show({ ...base, ActiveState: 'active' })), 'done');
    assert.equal(unitVerdict(show({ ...base, ActiveState: 'activating', Jobs: '1' })), 'wait');
    // Inactive with a start job queued: it is on its way.
    assert.equal(unitVerdict(show({ ...base, ActiveState: 'inactive', Jobs: '1' })), 'wait');
    assert.deepEqual(unitVerdict(show({ ...base, ActiveState: 'inactive' })), {
      failed: 'the unit is inactive and no job for it is pending',
    });
    assert.deepEqual(unitVerdict(show({ ...base, ActiveState: 'failed', Result: 'exit-code' })), {
      failed: 'the unit failed (exit-code)',
    });
    assert.deepEqual(
      unitVerdict(show({ ...base, LoadState: 'not-found', ActiveState: 'inactive' })),
      {
        failed: 'the unit is not found',
      },
    );
  });
});
