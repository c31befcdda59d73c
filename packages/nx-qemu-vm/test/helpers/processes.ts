// Processes for the reliability tests: an Nx command started the way a
// terminal starts it (in a process group of its own, so Ctrl-C can be sent to
// the whole group), and a look at the process table afterwards.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RunningCommand {
  child: ChildProcess;
  output(): string;
  /** Resolves when the command has ended. */
  exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until the output matches, or fails with what it printed. */
  waitFor(pattern: RegExp, seconds: number): Promise<void>;
  /** Ctrl-C in a terminal: SIGINT to the whole process group. */
  interrupt(): void;
  /** SIGTERM or SIGKILL to the command's own process only. */
  signal(signal: NodeJS.Signals): void;
}

export function startCommand(
  file: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): RunningCommand {
  const child = spawn(file, args, {
    ...options,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (status, signal) => resolve({ status, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    output: () => output,
    exited,
    async waitFor(pattern, seconds) {
      const deadline = Date.now() + seconds * 1000;
      while (!pattern.test(output)) {
        if (done) throw new Error(`the command ended before printing ${pattern}:\n${output}`);
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${seconds} s:\n${output}`);
        await sleep(100);
      }
    },
    interrupt: () => process.kill(-(child.pid as number), 'SIGINT'),
    signal: (signal) => process.kill(child.pid as number, signal),
  };
}

export interface ProcessInfo {
  pid: number;
  command: string;
}

/**
 * Nx's own plugin workers: when Nx is killed while it builds the project
 * graph, a worker it started waits out its 30-second connect timeout, then
 * exits by itself. They are Nx's processes, not this plugin's.
 */
export const NX_PLUGIN_WORKER =
  /\/nx\/dist\/src\/project-graph\/plugins\/isolation\/plugin-worker\.js /;

/** Running processes (zombies and Nx's plugin workers aside) whose command line mentions `text`. */
export function processesMentioning(text: string): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(join('/proc', entry, 'stat'), 'utf8');
      if (/\) Z /.test(stat)) continue;
      const command = readFileSync(join('/proc', entry, 'cmdline'), 'utf8')
        .split('\0')
        .join(' ');
      if (command.includes(text) && !NX_PLUGIN_WORKER.test(command))
        found.push({ pid: Number(entry), command: command.slice(0, 160) });
    } catch {
      // it ended meanwhile
    }
  }
  return found;
}

/**
 * Waits until no process mentions `text`, and fails listing them if some
 * remain after `seconds`: what a command started must end with it.
 */
export async function waitForNoProcesses(text: string, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  let left = processesMentioning(text);
  while (left.length && Date.now() < deadline) {
    await sleep(250);
    left = processesMentioning(text);
  }
  if (left.length)
    throw new Error(
      `processes outlived their command:\n${left.map((p) => `  ${p.pid} ${p.command}`).join('\n')}`,
    );
}
