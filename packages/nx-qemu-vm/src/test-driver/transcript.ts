// What a test did to its machines, in order: every command and wait, when it
// ended (seconds since the machines were asked for), how long it took and how
// it ended, indented under the subtests that ran it, as NixOS's test driver
// nests its log. A set of machines keeps one in memory and writes it beside
// the console log whenever it keeps artifacts, so a failure shows the way to it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { CommandError, TimeoutError } from './errors';

/** Longer descriptions are cut: a transcript line is read, not replayed. */
const MAX_WHAT = 300;

export interface TranscriptLine {
  /** Milliseconds since the transcript began, when the line was written. */
  at: number;
  /** How many subtests enclose it. */
  depth: number;
  machine?: string;
  what: string;
  /** How it ended ('ok', 'status 1', 'failed: ...') and in how many milliseconds; none for a beginning. */
  end?: { outcome: string; took: number };
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** One line of text: never a line break inside, never longer than it needs. */
export function formatLine(line: TranscriptLine): string {
  let what = line.what.replace(/\r?\n/g, '\\n');
  if (what.length > MAX_WHAT)
    what = `${what.slice(0, MAX_WHAT)}… (${what.length - MAX_WHAT} more characters)`;
  const who = line.machine ? `${line.machine}: ` : '';
  const end = line.end ? ` -> ${line.end.outcome} (${seconds(line.end.took)} s)` : '';
  return `${seconds(line.at).padStart(9)} ${'  '.repeat(line.depth)}${who}${what}${end}`;
}

/** How a step that threw ended, in a few words. */
export function failureOutcome(err: unknown): string {
  if (err instanceof CommandError)
    return `failed: status ${err.status}${err.signal ? ` (${err.signal})` : ''}`;
  if (err instanceof TimeoutError) return `failed: timed out after ${err.timeout} s`;
  return `failed: ${err instanceof Error ? err.name : String(err)}`;
}

/** The subtests around the code that runs now; concurrent subtests each see their own. */
const nesting = new AsyncLocalStorage<number>();
const depthNow = () => nesting.getStore() ?? 0;

export class Transcript {
  private readonly began: number;
  private readonly done: TranscriptLine[] = [];
  private readonly running = new Set<{ line: TranscriptLine; since: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {
    this.began = now();
  }

  /** The lines so far, as text. */
  get lines(): string[] {
    return this.done.map(formatLine);
  }

  /** Every line, then the steps still running (the one that failed, when artifacts are kept for it). */
  text(): string {
    const at = this.now() - this.began;
    const running = [...this.running].map(({ line, since }) =>
      formatLine({ ...line, at, end: { outcome: 'still running', took: this.now() - since } }),
    );
    return [...this.lines, ...running].map((l) => `${l}\n`).join('');
  }

  /** Writes a line now, e.g. the beginning of a subtest; returns its text. */
  note(what: string, machine?: string, end?: TranscriptLine['end']): string {
    const line = { at: this.now() - this.began, depth: depthNow(), machine, what, end };
    this.done.push(line);
    return formatLine(line);
  }

  /** Runs a step and writes its line when it ends, with how it ended. */
  async step<T>(
    machine: string | undefined,
    what: string,
    work: () => Promise<T>,
    outcome: (result: T) => string = () => 'ok',
  ): Promise<T> {
    const since = this.now();
    const entry = { line: { at: 0, depth: depthNow(), machine, what }, since };
    this.running.add(entry);
    const finish = (text: string) => {
      this.running.delete(entry);
      this.note(what, machine, { outcome: text, took: this.now() - since });
    };
    try {
      const result = await work();
      finish(outcome(result));
      return result;
    } catch (err) {
      finish(failureOutcome(err));
      throw err;
    }
  }
}

/** The transcripts of the sets of machines not yet shut down, and where each one's progress goes. */
const live = new Map<Transcript, ((text: string) => void) | undefined>();

export function openTranscript(log?: (text: string) => void): Transcript {
  const transcript = new Transcript();
  live.set(transcript, log);
  return transcript;
}

export function closeTranscript(transcript: Transcript): void {
  live.delete(transcript);
}

/** A line for people watching: to the `log` of each live set of machines that has one, else to stderr. */
function say(text: string): void {
  const logs = [...live.values()].filter((log) => log !== undefined);
  if (!logs.length) process.stderr.write(text);
  for (const log of logs) log(text);
}

/**
 * Runs `fn` as a named part of the test, as NixOS's `with subtest(name):`:
 * says when it begins and how long it took, and the transcripts of the live
 * sets of machines nest what it does under its name. Resolves or rejects as
 * `fn` does.
 */
export async function subtest<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const what = `subtest: ${name}`;
  const depth = depthNow();
  const indent = '  '.repeat(depth);
  const started = performance.now();
  for (const t of live.keys()) t.note(what);
  say(`${indent}${what}\n`);
  const end = (outcome: string) => {
    const took = performance.now() - started;
    for (const t of live.keys()) t.note(what, undefined, { outcome, took });
    say(`${indent}${what} -> ${outcome} (${seconds(took)} s)\n`);
  };
  try {
    const result = await nesting.run(depth + 1, fn);
    end('ok');
    return result;
  } catch (err) {
    end(failureOutcome(err));
    throw err;
  }
}
