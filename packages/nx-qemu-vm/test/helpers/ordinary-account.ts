// A throwaway ordinary account for tests that must not run as root: made
// with useradd (a home of its own, not in the kvm group), given a subordinate
// id range of its own in /etc/subuid and /etc/subgid, and removed afterwards
// with every process it still has. Only root can make one; other callers get
// the reason to skip.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCommand, type RunningCommand } from './processes';

/** Why a test that needs an ordinary account cannot run here, or undefined when it can. */
export const noOrdinaryAccount: string | undefined =
  process.getuid?.() === 0
    ? undefined
    : 'making a throwaway ordinary account needs root (useradd, /etc/subuid); this runs as an ordinary user';

/** Subordinate ids each account gets, as Debian's useradd gives. */
const SUB_COUNT = 65536;
/** Ranges start above the ones people's accounts get from useradd (100000 upwards). */
const SUB_FLOOR = 200000;

export interface OrdinaryAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** The first subordinate id of its range (the same for uids and gids). */
  subStart: number;
  /** The environment of a login: HOME, USER, a clean PATH with this Node first, plus `env`. */
  env(env?: Record<string, string>): Record<string, string>;
  /** Runs a command as the account (setpriv, clean environment). */
  run(
    argv: string[],
    options: { cwd: string; env?: Record<string, string>; timeoutSeconds?: number },
  ): { status: number | null; output: string };
  /** Starts a command as the account in a process group of its own. */
  start(argv: string[], options: { cwd: string; env?: Record<string, string> }): RunningCommand;
  /** Command lines of the account's running processes. */
  processes(): { pid: number; command: string }[];
  /** Ends its processes (SIGKILL, by pid) and removes it, its home and its ranges. */
  remove(): Promise<void>;
}

const ranges = (file: string): [number, number][] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .filter((f) => f.length === 3)
    .map(([, start, count]) => [Number(start), Number(start) + Number(count)]);

/** The first free range at or above a start derived from `seed`, clear of every range in both files. */
function freeSubRange(taken: [number, number][], seed: number): number {
  let start = SUB_FLOOR + (seed % 4096) * SUB_COUNT;
  for (;;) {
    const clash = taken.find(([a, b]) => start < b && a < start + SUB_COUNT);
    if (!clash) return start;
    start = clash[1];
  }
}

const must = (res: SpawnSyncReturns<string>, what: string): string => {
  if (res.status !== 0)
    throw new Error(`${what} failed (${res.status}): ${res.stdout}${res.stderr}`);
  return res.stdout;
};
const root = (argv: string[]) =>
  must(spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60_000 }), argv.join(' '));

function uidProcesses(uid: number): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(join('/proc', entry, 'status'), 'utf8');
      if (status.match(/^Uid:\s+\d+\s+(\d+)/m)?.[1] !== String(uid)) continue;
      if (/^State:\s+Z/m.test(status)) continue;
      const command = readFileSync(join('/proc', entry, 'cmdline'), 'utf8')
        .split('\0')
        .join(' ');
      found.push({ pid: Number(entry), command: command.slice(0, 200) });
    } catch {
      // it ended meanwhile
    }
  }
  return found;
}

export function createOrdinaryAccount(): OrdinaryAccount {
  if (noOrdinaryAccount) throw new Error(noOrdinaryAccount);
  const name = `nxvm-${process.pid}`;
  // No range from useradd (it would take the next free one after people's):
  // ours is set just after, above theirs.
  root([
    'useradd',
    '--create-home',
    '--shell',
    '/bin/sh',
    '-K',
    'SUB_UID_COUNT=0',
    '-K',
    'SUB_GID_COUNT=0',
    name,
  ]);
  const ids = { uid: Number(root(['id', '-u', name])), gid: Number(root(['id', '-g', name])) };
  const home = root(['getent', 'passwd', name]).trim().split(':')[5];
  const subStart = freeSubRange([...ranges('/etc/subuid'), ...ranges('/etc/subgid')], process.pid);
  const range = `${subStart}-${subStart + SUB_COUNT - 1}`;
  try {
    root(['usermod', '--add-subuids', range, '--add-subgids', range, name]);
  } catch (err) {
    root(['userdel', '--remove', name]);
    throw err;
  }

  const env = (extra: Record<string, string> = {}) => ({
    HOME: home,
    USER: name,
    LOGNAME: name,
    SHELL: '/bin/sh',
    LANG: 'C.UTF-8',
    // Debian's PATH for ordinary accounts (no sbin), this Node first.
    PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    ...extra,
  });
  const asAccount = (argv: string[], extra?: Record<string, string>) => [
    'setpriv',
    `--reuid=${ids.uid}`,
    `--regid=${ids.gid}`,
    '--init-groups',
    '--',
    'env',
    '-i',
    ...Object.entries(env(extra)).map(([k, v]) => `${k}=${v}`),
    ...argv,
  ];
  const account: OrdinaryAccount = {
    name,
    ...ids,
    home,
    subStart,
    env,
    run(argv, { cwd, env: extra, timeoutSeconds = 900 }) {
      const [file, ...args] = asAccount(argv, extra);
      const res = spawnSync(file, args, {
        cwd,
        encoding: 'utf8',
        timeout: timeoutSeconds * 1000,
        killSignal: 'SIGKILL',
      });
      return { status: res.status, output: `${res.stdout}${res.stderr}` };
    },
    start(argv, { cwd, env: extra }) {
      const [file, ...args] = asAccount(argv, extra);
      return startCommand(file, args, { cwd, env: {} });
    },
    processes: () => uidProcesses(ids.uid),
    async remove() {
      for (let round = 0; round < 20 && uidProcesses(ids.uid).length; round++) {
        for (const { pid } of uidProcesses(ids.uid))
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // it ended meanwhile
          }
        await sleep(100);
      }
      // userdel removes the account's lines from /etc/subuid and /etc/subgid too.
      root(['userdel', '--remove', name]);
    },
  };
  return account;
}
