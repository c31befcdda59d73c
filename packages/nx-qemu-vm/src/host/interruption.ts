// What happens when the command that started us goes away. Nx runs each
// executor in a process of its own; when Nx is interrupted (Ctrl-C, SIGTERM)
// or killed outright, the executor must stop what it started (a QEMU, a
// builder VM) and publish nothing. Signals reach us directly; the death of
// Nx shows as a change of our parent process.

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const PARENT_POLL_MS = 250;

let reason: string | undefined;
let installed = false;
const listeners = new Set<(why: string) => void>();

function interrupt(why: string): void {
  if (reason !== undefined) return;
  reason = why;
  for (const listener of listeners) listener(why);
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of STOP_SIGNALS) process.on(signal, () => interrupt(signal));
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) interrupt('the command that started it ended');
  }, PARENT_POLL_MS).unref();
}

/**
 * Calls `listener` once when this process is asked to stop (SIGINT, SIGTERM,
 * SIGHUP) or its parent dies; at once if that has happened already. From the
 * first call on, those signals no longer end the process by themselves: the
 * caller stops its work and returns. Returns the function that unsubscribes.
 */
export function whenInterrupted(listener: (why: string) => void): () => void {
  install();
  listeners.add(listener);
  if (reason !== undefined) listener(reason);
  return () => listeners.delete(listener);
}

export class InterruptedError extends Error {
  constructor(what: string, why: string) {
    super(`${what} was interrupted (${why}); nothing was published`);
    this.name = 'InterruptedError';
  }
}

/** Throws before an output is published when the step was interrupted meanwhile. */
export function throwIfInterrupted(what: string): void {
  if (reason !== undefined) throw new InterruptedError(what, reason);
}
