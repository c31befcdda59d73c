// The host's end of the guest agent's channel: many commands at once, each
// with its stdout and stderr apart, streamed as they come, and its exact exit
// status. The stream is a unix socket to QEMU's chardev in a machine, or the
// agent's stdin and stdout in the unit tests.
import type { Duplex } from 'node:stream';
import { CHUNK } from '../contract/host-guest';
import {
  type ExitStatus,
  FrameDecoder,
  type Hello,
  type Shell,
  type SystemCall,
  encodeFrame,
  execPayload,
  parseErrnos,
  parseHello,
  parseStatus,
  systemCallsPayload,
} from './agent-protocol';

export interface RunOptions {
  /** Bytes for the command's stdin; without it the command reads /dev/null. */
  stdin?: Buffer | AsyncIterable<Buffer>;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Default 'sh'. */
  shell?: Shell;
}

export interface CommandExit extends ExitStatus {
  stdout: Buffer;
  stderr: Buffer;
}

export interface RunningCommand {
  result: Promise<CommandExit>;
  /** Sends a signal to the command's process group in the guest. */
  kill(signal: number): void;
}

/** The channel ended (the guest went down, QEMU stopped, or we closed it) while commands ran. */
export class ChannelClosedError extends Error {}

interface Pending {
  stdout: Buffer[];
  stderr: Buffer[];
  options: RunOptions;
  resolve: (exit: CommandExit) => void;
  reject: (err: Error) => void;
}

export class AgentChannel {
  private readonly decoder = new FrameDecoder();
  private readonly pending = new Map<number, Pending>();
  private readonly helloWaiters: ((hello: Hello) => void)[] = [];
  private readonly onEnd: ((err: Error) => void)[] = [];
  private nextId = 1;
  private closedWith: Error | undefined;
  /** The last hello: the agent sends one when it starts and on every ping. */
  hello: Hello | undefined;

  /**
   * `wentDown` is told when the agent says the guest goes down (a power-off
   * or reboot inside it) and gives the error the running commands reject with.
   */
  constructor(
    private readonly stream: Duplex,
    private readonly wentDown: () => Error = () =>
      new ChannelClosedError('the guest is going down'),
  ) {
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (err) => this.end(new ChannelClosedError(`agent channel: ${err.message}`)));
    stream.on('close', () => this.end(new ChannelClosedError('the agent channel closed')));
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Commands sent and not yet ended. */
  get running(): number {
    return this.pending.size;
  }

  /**
   * After the guest was set back to a saved state: what it sent from the
   * state left behind (a frame cut off at the stop) is dropped, and the
   * hello is asked for again, as the saved state's boot may be another.
   */
  async resync(): Promise<Hello> {
    this.decoder.reset();
    this.hello = undefined;
    return this.waitForHello();
  }

  /** Resolves with the next hello whose boot id is not `notBootId`; pings until then. */
  waitForHello(notBootId?: string, pingEverySeconds = 5): Promise<Hello> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.hello && this.hello.bootId !== notBootId) return Promise.resolve(this.hello);
    return new Promise((resolve, reject) => {
      const ping = () => {
        if (!this.closedWith) this.stream.write(encodeFrame('P', 0));
      };
      const timer = setInterval(ping, pingEverySeconds * 1000).unref();
      ping();
      const waiter = (hello: Hello) => {
        if (hello.bootId === notBootId) return;
        clearInterval(timer);
        this.helloWaiters.splice(this.helloWaiters.indexOf(waiter), 1);
        resolve(hello);
      };
      this.helloWaiters.push(waiter);
      this.onEnd.push((err) => {
        clearInterval(timer);
        reject(err);
      });
    });
  }

  run(command: string, options: RunOptions = {}): RunningCommand {
    const { id, result } = this.request(
      'X',
      () => execPayload(command, options.stdin !== undefined, options.shell),
      options,
    );
    if (options.stdin !== undefined)
      this.sendStdin(id, options.stdin).catch((err: Error) => {
        this.kill(id, 9);
        this.pending.get(id)?.reject(err);
      });
    return { result, kill: (signal) => this.kill(id, signal) };
  }

  /** Has the agent make `calls` itself, in order; the errno of each, 0 for success. */
  async systemCalls(calls: readonly SystemCall[]): Promise<number[]> {
    const { result } = this.request('Y', () => systemCallsPayload(calls), {});
    return parseErrnos((await result).stdout, calls.length);
  }

  /** Sends a frame that the agent answers as a command: output frames, then a status. */
  private request(
    type: 'X' | 'Y',
    payload: () => Buffer,
    options: RunOptions,
  ): { id: number; result: Promise<CommandExit> } {
    const id = this.nextId++;
    const result = new Promise<CommandExit>((resolve, reject) => {
      if (this.closedWith) return reject(this.closedWith);
      const bytes = payload();
      this.pending.set(id, { stdout: [], stderr: [], options, resolve, reject });
      this.stream.write(encodeFrame(type, id, bytes));
    });
    return { id, result };
  }

  /** Rejects what is pending; the agent sent D (the guest goes down) or the channel ended. */
  end(err: Error): void {
    this.closedWith ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const f of this.onEnd.splice(0)) f(err);
  }

  /** Rejects the running commands with `err`, but keeps the channel for a guest that comes back (reboot). */
  interrupt(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  close(): void {
    this.end(new ChannelClosedError('the agent channel was closed'));
    this.stream.destroy();
  }

  private kill(id: number, signal: number): void {
    if (this.pending.has(id) && !this.closedWith)
      this.stream.write(encodeFrame('K', id, String(signal)));
  }

  private async sendStdin(id: number, stdin: Buffer | AsyncIterable<Buffer>): Promise<void> {
    const chunks: AsyncIterable<Buffer> | Buffer[] = Buffer.isBuffer(stdin) ? [stdin] : stdin;
    for await (const chunk of chunks)
      for (let at = 0; at < chunk.length; at += CHUNK) {
        if (!this.pending.has(id)) return;
        if (!this.stream.write(encodeFrame('I', id, chunk.subarray(at, at + CHUNK))))
          await new Promise((resolve) => this.stream.once('drain', resolve));
      }
    if (this.pending.has(id)) this.stream.write(encodeFrame('I', id));
  }

  private onData(chunk: Buffer): void {
    let frames;
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.end(new ChannelClosedError((err as Error).message));
      this.stream.destroy();
      return;
    }
    for (const frame of frames) {
      if (frame.type === 'H') {
        const hello = parseHello(frame.payload);
        if (!hello) continue;
        this.hello = hello;
        for (const w of [...this.helloWaiters]) w(hello);
        continue;
      }
      if (frame.type === 'D') {
        this.interrupt(this.wentDown());
        continue;
      }
      const p = this.pending.get(frame.id);
      if (!p) continue;
      if (frame.type === 'O') {
        p.stdout.push(frame.payload);
        p.options.onStdout?.(frame.payload);
      } else if (frame.type === 'E') {
        p.stderr.push(frame.payload);
        p.options.onStderr?.(frame.payload);
      } else if (frame.type === 'S') {
        this.pending.delete(frame.id);
        try {
          p.resolve({
            ...parseStatus(frame.payload),
            stdout: Buffer.concat(p.stdout),
            stderr: Buffer.concat(p.stderr),
          });
        } catch (err) {
          p.reject(err as Error);
        }
      }
    }
  }
}
