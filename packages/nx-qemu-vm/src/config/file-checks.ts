// Checks on `files`: where each may be written in the guest (stage 1 writes
// them on the root before the init starts, so only what the root itself
// holds at that moment can take them), where its content comes from, and
// whose it is.
import { posix } from 'node:path';
import type { ValidMachine } from './valid-machine';
import { managedMountPoints } from './defaults';
import { isPlainPath, overlaps, plainPathMessage, within } from './mount-checks';
import { BUILT_IN_USERS, SEED_GROUP, SYSTEM_TREES } from './workload-checks';
import type { AddProblem as Add } from './errors';

/** The groups every guest has. */
export const BUILT_IN_GROUPS = SEED_GROUP.map((line) => line.split(':')[0]);
/** With the store at /usr, the root's merged-/usr links lead into the read-only store. */
const MERGED_USR_LINKS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
const NUMERIC_ID = /^[0-9]+$/;
const EXAMPLE = '"/etc/app/config.json"';

/** Where a file may not go: the first place that rules `path` out, and why. */
function forbiddenPlace(m: ValidMachine, path: string): string | undefined {
  const tree = SYSTEM_TREES.find((d) => within(path, d));
  if (tree) return `is inside ${tree}, which the guest's boot owns or empties`;
  if (m.store.target === '/usr') {
    const link = MERGED_USR_LINKS.find((d) => within(path, d));
    if (link) return `is inside ${link}, a link into the read-only store /usr`;
  }
  for (const [point, owner] of managedMountPoints(m))
    if (point !== '/' && overlaps(path, point))
      return `${within(path, point) ? 'is inside' : 'would be a directory holding'} ${point}, the mount point of ${owner} (the store and the shares are not the root's to write)`;
  const install = m.install.findIndex((e) => overlaps(path, e.to));
  if (install >= 0)
    return `${within(path, m.install[install].to) ? 'is inside' : 'would be a directory holding'} install[${install}].to (${m.install[install].to}), a read-only image`;
  for (const [point, fs] of Object.entries(m.fileSystems))
    if (point !== '/' && within(point, path))
      return `would be a directory holding fileSystems["${point}"]`;
    else if (point !== '/' && !fs.neededForBoot && within(path, point))
      return `is inside fileSystems["${point}"], which is mounted after the files are written (neededForBoot false) and would hide it`;
  return undefined;
}

/** Why an option that stage 1 applies cannot go with a machine's own initrd. */
export const ownInitrdMessage = (verb: string, initrd: string, instead: string) =>
  `are ${verb} by the initrd that nx-qemu-vm generates, and this machine boots its own (initrd ${initrd}); set "initrd" to null, or ${instead}.`;

export function checkFiles(m: ValidMachine, add: Add): void {
  const paths = Object.keys(m.files);
  if (paths.length && typeof m.initrd === 'string')
    add(
      ['files'],
      paths,
      ownInitrdMessage('written', m.initrd, "put the files into that initrd's root yourself"),
    );
  for (const [path, f] of Object.entries(m.files)) {
    const at = ['files', path];
    if (!path.startsWith('/')) {
      add(
        at,
        path,
        `must be an absolute guest path, e.g. "${posix.normalize(`/${path}`)}"; the file is written there on the guest's root.`,
      );
      continue;
    }
    if (!isPlainPath(path)) add(at, path, plainPathMessage(path, '/etc/app.conf'));
    else if (path === '/') add(at, path, `is the root directory; name a file such as ${EXAMPLE}.`);
    else {
      const why = forbiddenPlace(m, path);
      if (why) add(at, path, `${why}; choose a path on the root such as ${EXAMPLE}.`);
      const parent = paths.find((p) => p !== path && within(path, p));
      if (parent)
        add(
          at,
          path,
          `is inside files["${parent}"], which is a file; one of the two paths must change.`,
        );
    }
    if ((f.text === undefined) === (f.source === undefined))
      add(
        at,
        f,
        'needs its content as exactly one of "text" (the content itself) or "source" (a file of the workspace, relative to its root).',
      );
    if (f.source !== undefined) {
      const normal = posix.normalize(f.source);
      if (posix.isAbsolute(f.source) || normal === '..' || normal.startsWith('../'))
        add(
          [...at, 'source'],
          f.source,
          'must be a file inside the workspace, relative to its root, e.g. "apps/api/config.json"; copy a file from elsewhere into the workspace first.',
        );
      else if (/[*?[\]{}!\\]/.test(f.source))
        add(
          [...at, 'source'],
          f.source,
          'must not contain * ? [ ] { } ! or \\: it is also a pattern of the files Nx hashes; rename the file.',
        );
    }
    if (m.system.from === 'host') {
      if (!BUILT_IN_USERS.includes(f.user) && !NUMERIC_ID.test(f.user))
        add(
          [...at, 'user'],
          f.user,
          `a machine on the host's /usr has only the accounts ${BUILT_IN_USERS.join(' and ')}; use one of them, a numeric id, or a Debian image (system.from "debian") whose packages create the account.`,
        );
      if (f.group !== undefined && !BUILT_IN_GROUPS.includes(f.group) && !NUMERIC_ID.test(f.group))
        add(
          [...at, 'group'],
          f.group,
          `a machine on the host's /usr has only the groups ${BUILT_IN_GROUPS.join(' and ')}; use one of them or a numeric id.`,
        );
    }
  }
}
