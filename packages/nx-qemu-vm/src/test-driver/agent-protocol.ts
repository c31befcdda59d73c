// The frames of the guest agent's channel (guest/agent.pl describes them):
// a type byte, a command id and a payload length, both unsigned 32-bit
// big-endian, then the payload. Pure: encoding, incremental decoding, and the
// meaning of the agent's hello and status payloads.
import { constants } from 'node:os';

import { AGENT_HELLO, MAX_COMMAND_BYTES, MAX_FRAME } from '../contract/host-guest';

const HEADER = 9;

export type HostFrameType = 'P' | 'X' | 'I' | 'K' | 'Y';
export type GuestFrameType = 'H' | 'O' | 'E' | 'S' | 'D';

export interface Frame {
  type: string;
  id: number;
  payload: Buffer;
}

export function encodeFrame(
  type: HostFrameType,
  id: number,
  payload: Buffer | string = '',
): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  if (body.length > MAX_FRAME) throw new RangeError(`frame of ${body.length} bytes is too long`);
  const header = Buffer.alloc(HEADER);
  header.write(type, 0, 1, 'latin1');
  header.writeUInt32BE(id, 1);
  header.writeUInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

/** The shell a command runs in: `/bin/sh`, or `/bin/bash` with `set -euo pipefail` as in NixOS's test driver. */
export type Shell = 'sh' | 'bash';

/** The exec frame: flags (1: the command reads stdin from the host; 2: bash) and the command. */
export function execPayload(command: string, withStdin: boolean, shell: Shell = 'sh'): Buffer {
  if (shell !== 'sh' && shell !== 'bash')
    throw new TypeError(`shell: ${JSON.stringify(shell)} is neither 'sh' nor 'bash'`);
  const text = Buffer.from(command);
  if (text.includes(0)) throw new TypeError('a command cannot hold a NUL byte');
  if (text.length > MAX_COMMAND_BYTES)
    throw new RangeError(
      `a command of ${text.length} bytes is longer than ${MAX_COMMAND_BYTES}; pass data on stdin (input) or with copyToVm`,
    );
  const flags = (withStdin ? 1 : 0) | (shell === 'bash' ? 2 : 0);
  return Buffer.concat([Buffer.from([flags]), text]);
}

/** A system call the agent makes itself (its Y frame): its number, or "reseed"; integers, or bytes passed by address. */
export interface SystemCall {
  call: number | 'reseed';
  args: (number | Buffer)[];
}

export function systemCallsPayload(calls: readonly SystemCall[]): Buffer {
  const word = (a: number | Buffer) => {
    if (Buffer.isBuffer(a)) return `x:${a.toString('hex')}`;
    if (!Number.isSafeInteger(a)) throw new TypeError(`not an integer argument: ${a}`);
    return `i:${a}`;
  };
  return Buffer.from(
    calls
      .map(({ call, args }) => {
        if (call !== 'reseed' && !(Number.isInteger(call) && call >= 0))
          throw new TypeError(`not a system call number: ${call}`);
        return [String(call), ...args.map(word)].join('\t');
      })
      .join('\n'),
  );
}

/** The agent's answer to a Y frame: the errno of each call, 0 for success. */
export function parseErrnos(stdout: Buffer, count: number): number[] {
  const lines = stdout.toString().split('\n').filter(Boolean);
  if (lines.length !== count || lines.some((l) => !/^[0-9]+$/.test(l)))
    throw new Error(
      `the agent answered ${count} system call(s) with ${JSON.stringify(stdout.toString())}`,
    );
  return lines.map(Number);
}

/** Splits a byte stream into frames, keeping a partial frame for the next chunk. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Frame[] = [];
    let at = 0;
    while (this.pending.length - at >= HEADER) {
      const length = this.pending.readUInt32BE(at + 5);
      if (length > MAX_FRAME) throw new Error(`the agent sent a frame of ${length} bytes`);
      if (this.pending.length - at < HEADER + length) break;
      frames.push({
        type: this.pending.toString('latin1', at, at + 1),
        id: this.pending.readUInt32BE(at + 1),
        payload: this.pending.subarray(at + HEADER, at + HEADER + length),
      });
      at += HEADER + length;
    }
    this.pending = this.pending.subarray(at);
    return frames;
  }

  /** Drops a frame begun and not ended. */
  reset(): void {
    this.pending = Buffer.alloc(0);
  }
}

export interface Hello {
  version: number;
  /** /proc/sys/kernel/random/boot_id: a new one after a reboot. */
  bootId: string;
}

export function parseHello(payload: Buffer): Hello | undefined {
  const m = new RegExp(`^${AGENT_HELLO} (\\d+) (\\S+)$`).exec(payload.toString());
  return m ? { version: Number(m[1]), bootId: m[2] } : undefined;
}

export interface ExitStatus {
  /** The exit status, or 128 + the signal number when a signal ended the command, as a shell reports it. */
  status: number;
  /** The signal that ended the command, e.g. 'SIGKILL'. */
  signal?: string;
}

const signalNames = new Map<number, string>(
  Object.entries(constants.signals).map(([name, n]) => [n, name]),
);

/** The agent did not start a command as asked (its shell is not in the guest). */
export class CommandRefusedError extends Error {}

export function parseStatus(payload: Buffer): ExitStatus {
  const refused = /^refused (.*)$/s.exec(payload.toString());
  if (refused) throw new CommandRefusedError(refused[1]);
  const m = /^(exit|signal) (\d+)$/.exec(payload.toString());
  if (!m) throw new Error(`the agent sent a status that makes no sense: ${payload.toString()}`);
  const n = Number(m[2]);
  if (m[1] === 'exit') return { status: n };
  return { status: 128 + n, signal: signalNames.get(n) ?? `signal ${n}` };
}
