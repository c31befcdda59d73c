// The host's side of mmdebstrap's unshare mode (image/unshare-checks.ts): the
// account, its subordinate ids, the uidmap tools and the kernel's switches.
import { accessSync, constants, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { delimiter, join } from 'node:path';

export interface UnshareFacts {
  user: string;
  uid: number;
  /** /etc/subuid and /etc/subgid as text, or undefined when missing. */
  subuid: string | undefined;
  subgid: string | undefined;
  /** Whether newuidmap and newgidmap (Debian package uidmap) are on the PATH. */
  newuidmap: boolean;
  newgidmap: boolean;
  /** /proc/sys/kernel/unprivileged_userns_clone (Debian's switch), when present. */
  unprivilegedUsernsClone: string | undefined;
  /** /proc/sys/kernel/apparmor_restrict_unprivileged_userns (newer Ubuntu), when present. */
  apparmorRestrictUserns: string | undefined;
  /** /proc/sys/user/max_user_namespaces. */
  maxUserNamespaces: string | undefined;
}

const readOrUndefined = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function readUnshareFacts(): UnshareFacts {
  return {
    user: userInfo().username,
    uid: process.getuid?.() ?? 0,
    subuid: readOrUndefined('/etc/subuid'),
    subgid: readOrUndefined('/etc/subgid'),
    newuidmap: onPath('newuidmap'),
    newgidmap: onPath('newgidmap'),
    unprivilegedUsernsClone: readOrUndefined('/proc/sys/kernel/unprivileged_userns_clone')?.trim(),
    apparmorRestrictUserns: readOrUndefined(
      '/proc/sys/kernel/apparmor_restrict_unprivileged_userns',
    )?.trim(),
    maxUserNamespaces: readOrUndefined('/proc/sys/user/max_user_namespaces')?.trim(),
  };
}
