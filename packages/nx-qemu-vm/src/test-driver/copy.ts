// Files and directories between host and guest as tar streams over the
// agent's channel: binary-safe, modes kept, no shared directory needed (so it
// works for every machine, persistent or not). GNU tar packs on the host
// (Essential in Debian), and the guest's tar (GNU or busybox) unpacks.
import { spawn } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { tarInCommand, tarOutCommand } from './guest-commands';

/** What the copies need of a machine: one command with stdin and streamed stdout. */
export type RunInGuest = (
  command: string,
  options: { stdin?: AsyncIterable<Buffer>; onStdout?: (chunk: Buffer) => void },
) => Promise<{ status: number; stderr: Buffer }>;

function hostTar(args: string[], cwd?: string) {
  const child = spawn('tar', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  // A tar that died shows in `done`; writing to it must not throw on its own.
  child.stdin.on('error', () => undefined);
  const done = new Promise<void>((resolveDone, reject) => {
    child.once('error', (err) =>
      reject(new Error(`cannot run tar: ${err.message} (Debian package tar)`)),
    );
    child.once('close', (code) =>
      code === 0
        ? resolveDone()
        : reject(
            new Error(`tar ${args.join(' ')} failed: ${Buffer.concat(stderr).toString().trim()}`),
          ),
    );
  });
  return { child, done };
}

export async function copyToGuest(
  run: RunInGuest,
  hostPath: string,
  guestPath: string,
): Promise<void> {
  const source = resolve(hostPath);
  statSync(source); // a clear ENOENT before anything starts
  const name = basename(source);
  const tar = hostTar([
    '-C',
    dirname(source),
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-cf',
    '-',
    '--',
    name,
  ]);
  tar.child.stdin.end();
  const [result] = await Promise.all([
    run(tarInCommand(name, guestPath), {
      stdin: tar.child.stdout as Readable & AsyncIterable<Buffer>,
    }),
    tar.done,
  ]);
  if (result.status !== 0)
    throw new Error(
      `unpacking in the guest failed with status ${result.status}: ${result.stderr.toString().trim()}`,
    );
}

/** Copies a guest file or directory into hostDir; returns the path of the copy. */
export async function copyFromGuest(
  run: RunInGuest,
  guestPath: string,
  hostDir: string,
): Promise<string> {
  const command = tarOutCommand(guestPath);
  const target = resolve(hostDir);
  mkdirSync(target, { recursive: true });
  const tar = hostTar(['-C', target, '-xf', '-']);
  let result;
  try {
    result = await run(command, {
      onStdout: (chunk) => {
        tar.child.stdin.write(chunk);
      },
    });
  } finally {
    tar.child.stdin.end();
  }
  if (result.status !== 0) {
    await tar.done.catch(() => undefined);
    throw new Error(
      `packing in the guest failed with status ${result.status}: ${result.stderr.toString().trim()}`,
    );
  }
  await tar.done;
  return join(target, basename(guestPath.replace(/\/+$/, '')));
}
