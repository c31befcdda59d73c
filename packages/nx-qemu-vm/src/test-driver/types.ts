// The option and result types of the test API's public methods.

export interface WaitOptions {
  /** Seconds; a command may run 900 s by default (as in NixOS's test driver), a wait tries for 120 s. */
  timeout?: number;
}

export interface CommandOptions extends WaitOptions {
  /**
   * 'sh' (default): `/bin/sh`. 'bash': `/bin/bash` with `set -euo pipefail`,
   * as NixOS's test driver runs commands. startMachines' `shell` sets the default.
   */
  shell?: 'sh' | 'bash';
}

interface ExecuteCommon extends CommandOptions {
  /** Bytes for the command's stdin; without it the command reads /dev/null. */
  input?: string | Buffer;
}

export interface ExecuteTextOptions extends ExecuteCommon {
  /** 'utf8' (default): stdout and stderr as strings. */
  encoding?: 'utf8';
  /** Called with each piece of stdout as it arrives. */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

export interface ExecuteBufferOptions extends ExecuteCommon {
  /** 'buffer': stdout and stderr as Buffers, byte for byte. */
  encoding: 'buffer';
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
}

export interface ExecuteResult<Output extends string | Buffer> {
  /** The exit status; 128 + N when signal N ended the command, as a shell reports it. */
  status: number;
  /** The signal that ended the command, e.g. 'SIGKILL'. */
  signal?: string;
  stdout: Output;
  stderr: Output;
}
