import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serviceVerdict } from './readiness';

describe('readiness verdicts', () => {
  it('a declared service: ready is done, starting waits, failed and exited fail', () => {
    assert.equal(serviceVerdict('ready\n'), 'done');
    assert.equal(serviceVerdict('starting\n'), 'wait');
    assert.deepEqual(serviceVerdict('failed\n'), { failed: 'the service failed' });
    assert.deepEqual(serviceVerdict('exited\n'), { failed: 'the service has exited' });
  });
});
