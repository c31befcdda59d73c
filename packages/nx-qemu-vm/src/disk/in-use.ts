// Is a disk image open in a running VM? Two independent answers: QEMU's own
// image lock (what qemu-img sees), and our scan of running processes for a
// QEMU whose command line names the file. The scan also names the process,
// which the lock cannot.
import { readFileSync, readdirSync, realpathSync } from 'node:fs';
import { runTool } from '../host/run-tool';
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

/** QEMU's write lock on the image, as qemu-img reports it; undefined when it is free. */
export async function qemuLockHolder(image: string): Promise<string | undefined> {
  const res = await runTool('qemu-img', ['info', '--output=json', image], {
    debianPackage: 'qemu-utils',
    allowFailure: true,
  });
  if (res.exitCode === 0) return undefined;
  return /lock/i.test(res.stderr) ? res.stderr.trim() : undefined;
}

export class ImageInUseError extends Error {}

/** Throws, saying who holds it and what to do, when a running VM has the image open. `label` names it for people. */
export async function refuseIfInUse(image: string, label: string, machine: string): Promise<void> {
  const users = findImageUsers(image);
  const lock = users.length ? undefined : await qemuLockHolder(image);
  if (!users.length && !lock) return;
  const who = users.length
    ? users.map((u) => `pid ${u.pid} (${u.command})`).join(', ')
    : `a process holding QEMU's lock (${lock})`;
  throw new ImageInUseError(
    `${label} is in use by a running VM: ${who}. Machine "${machine}" is probably running already; ` +
      `stop it first (poweroff in the guest, or Ctrl-A X on its console), then try again.`,
  );
}
