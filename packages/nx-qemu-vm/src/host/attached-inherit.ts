// The part of host/attached.ts that needs no execa: the argv under setpriv,
// and a run that shares our terminal. execa is an ES module, which our
// CommonJS loads through require(); that load costs an executor about 0.2 s
// of CPU, and exec pays it on every call for nothing but a spawn.
import { spawn } from 'node:child_process';
import { whenInterrupted } from './interruption';

export interface AttachedResult {
  exitCode?: number;
  signal?: string;
  /** Set when the program was stopped because this process was interrupted. */
  interrupted?: string;
}

/** The argv that runs `file args` under setpriv's parent-death signal. */
export function attachedArgv(file: string, args: readonly string[]): [string, string[]] {
  return ['setpriv', ['--pdeathsig', 'TERM', '--', file, ...args]];
}

/**
 * runAttached (host/attached.ts) with the terminal inherited and `env` added
 * to ours: an interruption of this process is passed on as SIGTERM, and the
 * result comes once the program has exited. A program that cannot be started
 * is an error, not a status.
 */
export function runAttachedInheriting(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<AttachedResult> {
  const [command, argv] = attachedArgv(file, args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: 'inherit', env: { ...process.env, ...env } });
    let interrupted: string | undefined;
    const stopListening = whenInterrupted((why) => {
      interrupted = why;
      child.kill('SIGTERM');
    });
    child.once('error', (err) => {
      stopListening();
      reject(err);
    });
    child.once('close', (code, signal) => {
      stopListening();
      resolve({ exitCode: code ?? undefined, signal: signal ?? undefined, interrupted });
    });
  });
}
