// Runs one host tool and collects its output, with errors that say which
// tool, why it failed and which Debian package provides it. All host tools
// of the plugin go through here (and so through execa).
import { execa } from 'execa';
import { attachedArgv } from './attached';
import { whenInterrupted } from './interruption';

export interface ToolResult<T extends string | Buffer> {
  stdout: T;
  stderr: string;
  exitCode: number;
}

export interface ToolOptions {
  /** Bytes written to the tool's stdin. */
  input?: Uint8Array;
  /** Resolve with the result on a non-zero exit instead of rejecting. */
  allowFailure?: boolean;
  /** Debian package to suggest when the tool is not installed. */
  debianPackage?: string;
  /**
   * A long-running tool: it dies with this process (setpriv's parent-death
   * signal) and is stopped when this process is interrupted.
   */
  attached?: boolean;
  /** Also show the tool's output as it comes (a long build the user watches). */
  echo?: boolean;
  /** Variables added to the environment. */
  env?: Record<string, string>;
}

export class ToolError extends Error {
  constructor(
    message: string,
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

async function run(
  command: string,
  args: readonly string[],
  opts: ToolOptions,
): Promise<ToolResult<Buffer>> {
  const shown = [command, ...args].join(' ');
  // LC_ALL=C: ldd and friends translate their messages ("not found"), and the
  // parsers match the English text.
  const [file, argv] = opts.attached ? attachedArgv(command, args) : [command, args];
  const child = execa(file, argv, {
    input: opts.input ?? new Uint8Array(),
    encoding: 'buffer',
    reject: false,
    env: { ...opts.env, LC_ALL: 'C' },
    stripFinalNewline: false,
    ...(opts.echo ? { stdout: ['pipe', 'inherit'], stderr: ['pipe', 'inherit'] } : {}),
  });
  const stopListening = opts.attached ? whenInterrupted(() => child.kill('SIGTERM')) : undefined;
  const r = await child.finally(() => stopListening?.());
  const stderr = Buffer.from(r.stderr ?? []).toString('utf8');
  if (r.failed && r.exitCode === undefined && !r.signal) {
    const missing = (r.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    const hint =
      missing && opts.debianPackage ? ` Install it: apt-get install ${opts.debianPackage}` : '';
    const reason = missing ? 'not found' : (r.shortMessage ?? 'failed').split('\n')[0];
    throw new ToolError(
      `${shown}: cannot run ${command}: ${reason}.${hint}`,
      command,
      undefined,
      '',
    );
  }
  const exitCode = r.exitCode ?? 128;
  if (exitCode !== 0 && !opts.allowFailure) {
    const why = r.signal ? `was killed by ${r.signal}` : `exited with status ${exitCode}`;
    throw new ToolError(
      `${shown} ${why}${stderr.trim() ? `: ${stderr.trim()}` : ''}`,
      command,
      exitCode,
      stderr,
    );
  }
  return { stdout: Buffer.from(r.stdout ?? []), stderr, exitCode };
}

/** Runs a tool and returns stdout as bytes (for decompressors). */
export function runToolBuffer(
  command: string,
  args: readonly string[],
  opts: ToolOptions = {},
): Promise<ToolResult<Buffer>> {
  return run(command, args, opts);
}

/** Runs a tool and returns stdout as UTF-8 text. */
export async function runTool(
  command: string,
  args: readonly string[],
  opts: ToolOptions = {},
): Promise<ToolResult<string>> {
  const r = await run(command, args, opts);
  return { ...r, stdout: r.stdout.toString('utf8') };
}
