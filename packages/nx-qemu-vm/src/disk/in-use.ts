// Is a disk image in use? Two scans of the running processes, both naming
// the process: a QEMU whose command line names the file, and any process
// that has the file open (a run script holds its root disk, locked, before
// QEMU starts). QEMU's own image lock and the run script's flock stand
// behind them: a check cannot race with a start, those locks do not.
import { readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { qemuEscape } from '../quote/qemu';

export interface ImageUser {
  pid: number;
  command: string;
}

/** Whether a QEMU argv opens `image` (in a -drive/-blockdev file= value, or a pflash). Pure. */
export function argvOpensImage(argv: readonly string[], images: readonly string[]): boolean {
  if (!/qemu-system-|qemu-kvm/.test(argv[0] ?? '')) return false;
  return argv.some((arg) =>
    images.some((image) => {
      const escaped = qemuEscape(image);
      for (
        let at = arg.indexOf(`file=${escaped}`);
        at !== -1;
        at = arg.indexOf(`file=${escaped}`, at + 1)
      ) {
        const end = at + 5 + escaped.length;
        // The value ends at a single comma (a doubled one is part of a longer name) or at the end.
        if (end === arg.length || (arg[end] === ',' && arg[end + 1] !== ',')) return true;
      }
      return false;
    }),
  );
}

/** Running QEMU processes that have `image` open, from /proc. */
export function findImageUsers(image: string, proc = '/proc'): ImageUser[] {
  const names = [image];
  try {
    const real = realpathSync(image);
    if (real !== image) names.push(real);
  } catch {
    // A missing image has no users.
    return [];
  }
  const users: ImageUser[] = [];
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let argv: string[];
    try {
      argv = readFileSync(`${proc}/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue; // the process ended meanwhile
    }
    if (argvOpensImage(argv, names))
      users.push({ pid: Number(entry), command: argv.slice(0, 3).join(' ') });
  }
  return users;
}

/**
 * Processes that have `file` open on one of their descriptors, from /proc: a
 * run script holds its machine's root disk open (and locked) before QEMU does.
 */
export function findFileHolders(file: string, proc = '/proc'): ImageUser[] {
  let target: string;
  try {
    target = realpathSync(file);
  } catch {
    return [];
  }
  const holders: ImageUser[] = [];
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const fds = readdirSync(`${proc}/${entry}/fd`);
      if (!fds.some((fd) => safeReadlink(`${proc}/${entry}/fd/${fd}`) === target)) continue;
      const argv = readFileSync(`${proc}/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      holders.push({ pid: Number(entry), command: argv.slice(0, 3).join(' ') });
    } catch {
      // the process ended meanwhile, or is not ours to look at
    }
  }
  return holders;
}

function safeReadlink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

export class ImageInUseError extends Error {}

/** Throws, saying who holds it and what to do, when a running VM has the image open. `label` names it for people. */
export function refuseIfInUse(image: string, label: string, machine: string): void {
  const qemus = findImageUsers(image);
  const users = qemus.length ? qemus : findFileHolders(image);
  if (!users.length) return;
  const who = users.map((u) => `pid ${u.pid} (${u.command})`).join(', ');
  throw new ImageInUseError(
    `${label} is in use by a running VM: ${who}. Machine "${machine}" is probably running already; ` +
      `stop it first (poweroff in the guest, or Ctrl-A X on its console), then try again.`,
  );
}
