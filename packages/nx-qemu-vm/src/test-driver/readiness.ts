// What a poll of a guest's service or unit means for the wait that made it:
// done, try again, or a failure with its reason. Pure, so it is unit-tested
// apart from any guest (systemd units: systemd.ts).

export type Verdict = 'done' | 'wait' | { failed: string };

/** The word `services status NAME` prints: starting, ready, failed or exited. */
export function serviceVerdict(stdout: string): Verdict {
  const word = stdout.trim();
  if (word === 'ready') return 'done';
  if (word === 'failed') return { failed: 'the service failed' };
  if (word === 'exited') return { failed: 'the service has exited' };
  return 'wait';
}
