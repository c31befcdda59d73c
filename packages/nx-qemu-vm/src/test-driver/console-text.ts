// The serial console of one boot as text: what waitForConsoleText searches,
// and the tail that failure messages show. Carriage returns are dropped, so
// patterns see plain lines. A wait consumes the text up to the end of its
// match, as NixOS's test driver does: waiting twice for the same text waits
// for it to appear twice.
import { StringDecoder } from 'node:string_decoder';
import { reportBetween } from '../guest/services';

/** Text kept for matching; older text is dropped (the log file keeps all of it). */
const KEEP = 8 * 1024 * 1024;

export class ConsoleText {
  private text = '';
  private consumed = 0;
  private readonly decoder = new StringDecoder('utf8');
  private readonly listeners = new Set<() => void>();

  push(chunk: Buffer): void {
    this.text += this.decoder.write(chunk).replace(/\r/g, '');
    if (this.text.length > KEEP) {
      const drop = this.text.length - KEEP;
      this.text = this.text.slice(drop);
      this.consumed = Math.max(0, this.consumed - drop);
    }
    for (const l of [...this.listeners]) l();
  }

  /** The last lines of the console, for messages. */
  tail(lines = 30): string {
    return this.text.split('\n').slice(-lines).join('\n');
  }

  /** Whether the text kept so far contains `text`, consumed or not. */
  includes(text: string): boolean {
    return this.text.includes(text);
  }

  /** The guest's report between two marker lines, once complete (see reportBetween). */
  block(start: string, end: string): string | undefined {
    return reportBetween(this.text.replace(/\r/g, ''), start, end);
  }

  /** The first match of `pattern` in the text not yet consumed; consumes up to its end. */
  take(pattern: RegExp): RegExpExecArray | undefined {
    const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    const m = re.exec(this.text.slice(this.consumed));
    if (!m) return undefined;
    this.consumed += m.index + m[0].length;
    return m;
  }

  /** Calls `listener` after each new piece of text until the returned function is called. */
  onText(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
