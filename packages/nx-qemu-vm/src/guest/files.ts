// The machine's `files` in the initrd: each one's content as a member of the
// archive, and the calls by which stage 1 writes them on the root before the
// init starts, so that every service and postBootCommands find them.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';
import { ConfigError, type ConfigIssue, jsonPath } from '../config/errors';
import type { ValidFile } from '../config/valid-machine';
import { shCall } from '../quote/shell';

/** Where the initrd keeps the files' contents, one member each, by position. */
export const INITRD_FILES = '/nx-qemu-vm/files';

/** One entry of `files`, as the initrd carries it. */
export interface GuestFile {
  path: string;
  /** The archive member that holds the content. */
  member: string;
  mode: string;
  user: string;
  /** Empty: the owner's primary group. */
  group: string;
  content: { text: string } | { source: string };
}

export function guestFiles(files: Readonly<Record<string, ValidFile>>): GuestFile[] {
  return Object.entries(files).map(([path, f], i) => ({
    path,
    member: `${INITRD_FILES}/${i}`,
    mode: f.mode,
    user: f.user,
    group: f.group ?? '',
    content: f.source !== undefined ? { source: f.source } : { text: f.text ?? '' },
  }));
}

/** Stage 1's calls, in the config's order: put_file MEMBER PATH MODE USER GROUP. */
export function renderPutFiles(files: readonly GuestFile[]): string[] {
  return files.map((f) => shCall('put_file', f.member, f.path, f.mode, f.user, f.group));
}

/**
 * The bytes of a file of the workspace, read when the initrd is built: a
 * regular file whose real path (links followed) is inside the workspace.
 */
export function readSource(
  machine: string,
  guestPath: string,
  source: string,
  workspaceRoot: string,
): Buffer {
  const refuse = (message: string) =>
    new ConfigError('workspace-vm.json', [
      {
        machine,
        path: jsonPath(['machines', machine, 'files', guestPath, 'source']),
        value: source,
        message,
      },
    ]);
  let real: string;
  try {
    real = realpathSync(join(workspaceRoot, source));
  } catch {
    throw refuse(
      'no such file in the workspace; create it, or correct the path (relative to the workspace root).',
    );
  }
  const inside = relative(realpathSync(workspaceRoot), real);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside))
    throw refuse(
      `leads out of the workspace (to ${real}); copy the file into the workspace, as only its files are inputs of the build.`,
    );
  if (!statSync(real).isFile())
    throw refuse('is not a regular file; name a file of the workspace, not a directory.');
  return readFileSync(real);
}

const names = (table: string) => new Set(table.split('\n').map((line) => line.split(':')[0]));

/**
 * Owners and groups of `files` that are names missing from the image's
 * /etc/passwd or /etc/group (as its packages left them), with the fix.
 */
export function unknownFileOwners(
  machine: string,
  files: Readonly<Record<string, ValidFile>>,
  passwd: string,
  group: string,
): ConfigIssue[] {
  const tables = { user: names(passwd), group: names(group) };
  return Object.entries(files).flatMap(([path, f]) =>
    (['user', 'group'] as const).flatMap((field) => {
      const value = f[field];
      if (value === undefined || /^[0-9]+$/.test(value) || tables[field].has(value)) return [];
      const known = [...tables[field]].filter(Boolean);
      return [
        {
          machine,
          path: jsonPath(['machines', machine, 'files', path, field]),
          value,
          message: `no such ${field === 'user' ? 'account' : 'group'} in the image's /etc/${field === 'user' ? 'passwd' : 'group'} (${known.slice(0, 8).join(', ')}, ...); use one of them, a numeric id, or add the package that creates it to system.packages.`,
        },
      ];
    }),
  );
}
