// Programs whose life ends with ours: the machine scripts, a nested Nx, a
// long host tool. setpriv (util-linux) gives the program SIGTERM if this
// process dies, however it dies; an interruption of this process (a signal,
// or Nx going away) is passed on to it as SIGTERM, on which the machine
// scripts power their guest off cleanly.
import { type Options, execa } from 'execa';
import { type AttachedResult, attachedArgv } from './attached-inherit';
import { whenInterrupted } from './interruption';

export { type AttachedResult, attachedArgv } from './attached-inherit';

export async function runAttached(
  file: string,
  args: readonly string[],
  options: Options = {},
): Promise<AttachedResult> {
  const [command, argv] = attachedArgv(file, args);
  // No forceKillAfterDelay: execa's SIGKILL 5 s after our SIGTERM would cut a
  // guest's power-off short; the scripts bound their own stop (VM_STOP_TIMEOUT).
  const child = execa(command, argv, { ...options, reject: false, forceKillAfterDelay: false });
  let interrupted: string | undefined;
  const stopListening = whenInterrupted((why) => {
    interrupted = why;
    child.kill('SIGTERM');
  });
  try {
    const result = await child;
    return { exitCode: result.exitCode, signal: result.signal, interrupted };
  } finally {
    stopListening();
  }
}
