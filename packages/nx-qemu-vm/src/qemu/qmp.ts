// A minimal QMP (QEMU Machine Protocol) client over a unix socket: the test API
// uses it for screenshots, keys, links and forwards, and tests use it to ask a
// paused QEMU how it is and to tell it to quit. QMP is one JSON object per
// line: a greeting, then one reply per command in order, with asynchronous
// events ({"event": ...}) interleaved anywhere.
import { type Socket, createConnection } from 'node:net';

export class QmpError extends Error {}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class QmpClient {
  /** Events seen so far, kept for failure messages. */
  readonly events: unknown[] = [];
  private buffer = '';
  private readonly waiting: Pending[] = [];
  private readonly eventListeners = new Set<(event: Record<string, unknown>) => void>();
  private closedWith: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new QmpError('QMP connection closed')));
  }

  /**
   * Connects, reads the greeting and negotiates capabilities. Everything is
   * bounded by `timeoutMs`, so a QEMU that accepts but never talks cannot hang a test.
   */
  static async connect(path: string, timeoutMs: number): Promise<QmpClient> {
    const socket = createConnection({ path });
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      }),
      timeoutMs,
      `connecting to ${path}`,
    );
    return QmpClient.over(socket, timeoutMs);
  }

  /** The same as connect, over a socket that is connected already. */
  static async over(socket: Socket, timeoutMs: number): Promise<QmpClient> {
    const client = new QmpClient(socket);
    const hello = (await withTimeout(client.next(), timeoutMs, 'QMP greeting')) as {
      QMP?: unknown;
    };
    if (!hello || typeof hello !== 'object' || !('QMP' in hello))
      throw new QmpError(`expected a QMP greeting, got ${JSON.stringify(hello)}`);
    await client.execute('qmp_capabilities', undefined, timeoutMs);
    return client;
  }

  /** Runs one command and returns its `return` value; a QMP error reply rejects. */
  async execute(
    command: string,
    args: Record<string, unknown> | undefined,
    timeoutMs: number,
  ): Promise<unknown> {
    const reply = this.next();
    this.socket.write(
      JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n',
    );
    const msg = (await withTimeout(reply, timeoutMs, `QMP ${command}`)) as {
      return?: unknown;
      error?: { class: string; desc: string };
    };
    if (msg.error)
      throw new QmpError(`QMP ${command} failed: ${msg.error.class}: ${msg.error.desc}`);
    return msg.return;
  }

  /**
   * Sends `quit`. QEMU may close the socket right after (or even before) its
   * reply reaches us, so a closed connection counts as success here.
   */
  async quit(timeoutMs: number): Promise<void> {
    try {
      await this.execute('quit', undefined, timeoutMs);
    } catch (err) {
      if (!(err instanceof QmpError && /closed/.test(err.message))) throw err;
    } finally {
      this.close();
    }
  }

  close(): void {
    this.socket.destroy();
  }

  /**
   * The first event from now on that `filter` accepts. A closed connection
   * rejects; so does `timeoutMs` passing.
   */
  waitForEvent(
    filter: (event: Record<string, unknown>) => boolean,
    timeoutMs: number,
  ): Promise<Record<string, unknown>> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    let listener: ((event: Record<string, unknown>) => void) | undefined;
    let onClose: (() => void) | undefined;
    const found = new Promise<Record<string, unknown>>((resolve, reject) => {
      listener = (event) => {
        if (filter(event)) resolve(event);
      };
      onClose = () => reject(this.closedWith ?? new QmpError('QMP connection closed'));
      this.eventListeners.add(listener);
      this.socket.once('close', onClose);
    });
    return withTimeout(found, timeoutMs, 'a QMP event').finally(() => {
      if (listener) this.eventListeners.delete(listener);
      if (onClose) this.socket.off('close', onClose);
    });
  }

  private next(): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        this.fail(new QmpError(`QMP sent a line that is not JSON: ${line}`));
        return;
      }
      if ('event' in msg) {
        this.events.push(msg);
        for (const listener of this.eventListeners) listener(msg);
      } else this.waiting.shift()?.resolve(msg);
    }
  }

  private fail(err: Error): void {
    this.closedWith ??= err instanceof QmpError ? err : new QmpError(err.message);
    for (const w of this.waiting.splice(0)) w.reject(this.closedWith);
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
