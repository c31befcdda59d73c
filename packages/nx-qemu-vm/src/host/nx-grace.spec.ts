import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stopTimeoutUnderNx } from './nx-grace';

describe('stopTimeoutUnderNx', () => {
  it("keeps a clean stop inside Nx's grace period, leaving time to clean up", () => {
    assert.equal(stopTimeoutUnderNx({}), '3');
    assert.equal(stopTimeoutUnderNx({ NX_PROCESS_KILL_GRACE_PERIOD: '30000' }), '10');
    assert.equal(
      stopTimeoutUnderNx({ NX_PROCESS_KILL_GRACE_PERIOD: '30000', VM_STOP_TIMEOUT: '20' }),
      '20',
    );
    assert.equal(stopTimeoutUnderNx({ VM_STOP_TIMEOUT: '20' }), '3');
    assert.equal(stopTimeoutUnderNx({ VM_STOP_TIMEOUT: '0' }), '0');
    assert.equal(stopTimeoutUnderNx({ NX_PROCESS_KILL_GRACE_PERIOD: '1000' }), '1');
    assert.equal(stopTimeoutUnderNx({ NX_PROCESS_KILL_GRACE_PERIOD: 'soon' }), '3');
  });
});
