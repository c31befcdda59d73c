// What a poll of a guest's service or unit means for the wait that made it:
// done, try again, or a failure with its reason. Pure, so that the driver's
// semantics (NixOS's wait_for_unit) are unit-tested apart from any guest.

export type Verdict = 'done' | 'wait' | { failed: string };

/** The word `services status NAME` prints: starting, ready, failed or exited. */
export function serviceVerdict(stdout: string): Verdict {
  const word = stdout.trim();
  if (word === 'ready') return 'done';
  if (word === 'failed') return { failed: 'the service failed' };
  if (word === 'exited') return { failed: 'the service has exited' };
  return 'wait';
}

/** `systemctl show` properties (and our Jobs= count) as an object. */
export function parseProperties(stdout: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) props[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return props;
}

/**
 * As NixOS's wait_for_unit: active is done; failed, or inactive with no job
 * pending (it will not start by itself), or not found, fails; anything else waits.
 */
export function unitVerdict(stdout: string): Verdict {
  const p = parseProperties(stdout);
  if (p.ActiveState === 'active') return 'done';
  if (p.LoadState === 'not-found') return { failed: 'the unit is not found' };
  if (p.ActiveState === 'failed') return { failed: `the unit failed (${p.Result ?? 'no result'})` };
  if (p.ActiveState === 'inactive' && p.Jobs === '0')
    return { failed: 'the unit is inactive and no job for it is pending' };
  return 'wait';
}
