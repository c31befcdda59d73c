// How long a machine may take to stop cleanly when it runs under Nx. On
// Ctrl-C or SIGTERM, Nx signals the task's process tree leaves first and,
// after a grace period (NX_PROCESS_KILL_GRACE_PERIOD, 5 s by default),
// SIGKILLs whatever is left: then no script could remove its scratch
// directory. The run script's own stop timeout (VM_STOP_TIMEOUT) is kept
// inside that period, so a guest that is slow to power off is stopped by us,
// and everything is cleaned up, before Nx's SIGKILL comes.

const NX_DEFAULT_GRACE_MS = 5000;
/** Time the scripts need after the guest is stopped: QEMU's exit, the log copy, the removals. */
const CLEANUP_SECONDS = 2;
const RUN_SCRIPT_DEFAULT_STOP_SECONDS = 10;

export function stopTimeoutUnderNx(env: NodeJS.ProcessEnv = process.env): string {
  const grace = Number(env.NX_PROCESS_KILL_GRACE_PERIOD);
  const graceMs = Number.isFinite(grace) && grace > 0 ? grace : NX_DEFAULT_GRACE_MS;
  const budget = Math.max(1, Math.floor(graceMs / 1000) - CLEANUP_SECONDS);
  const asked = Number(env.VM_STOP_TIMEOUT);
  const wanted = Number.isFinite(asked) && asked >= 0 ? asked : RUN_SCRIPT_DEFAULT_STOP_SECONDS;
  return String(Math.min(wanted, budget));
}
