// Checks on the guest paths where things are mounted: the user's file systems,
// the shares and the store. One place in the guest has one spelling here
// ("/data", never "/data/", "//data" or "/./data"), so that two options naming
// the same place are seen to collide, and no user mount hides one that the
// guest's boot makes itself.
import { posix } from 'node:path';
import type { ValidMachine } from './valid-machine';
import { RO_STORE, SHARED_TARGET } from './defaults';
import { XCHG_TARGET } from '../contract/host-guest';
import type { AddProblem as Add } from './errors';

export const within = (path: string, dir: string) =>
  path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);
export const overlaps = (a: string, b: string) => within(a, b) || within(b, a);

/** The one spelling of an absolute guest path: no "//", ".", ".." or trailing "/". */
export const isPlainPath = (path: string) =>
  path.startsWith('/') && posix.normalize(path) === path && (path === '/' || !path.endsWith('/'));

/** What to say about a path that is not plain, with its plain spelling as the example. */
export const plainPathMessage = (path: string, fallback: string) =>
  `must be a plain absolute path (no "//", ".", ".." or trailing "/"), e.g. "${posix.normalize(`/${path}`).replace(/(.)\/$/, '$1') || fallback}".`;

/** Where stage 1 keeps the store's layers. */
const STORE_LAYERS = posix.dirname(RO_STORE);
/**
 * Stage 1 mounts the kernel's file systems and a fresh /run over these after
 * the file systems needed for boot: a mount at or below them would be hidden.
 */
const KERNEL_TREES = ['/dev', '/proc', '/sys', '/run'];

/** A user mount point: where it sits in the config, and whether stage 1 mounts it. */
interface UserMount {
  path: (string | number)[];
  point: string;
  value: unknown;
  label: string;
  early: boolean;
}

export function checkMounts(m: ValidMachine, add: Add): void {
  const store = m.store.target;
  if (!isPlainPath(store)) add(['store', 'target'], store, plainPathMessage(store, '/usr'));
  else if (
    store === '/' ||
    [...KERNEL_TREES, STORE_LAYERS, XCHG_TARGET, SHARED_TARGET].some((t) => overlaps(store, t))
  )
    add(
      ['store', 'target'],
      store,
      `overlaps a directory the guest's boot mounts itself (/, ${[...KERNEL_TREES, STORE_LAYERS, XCHG_TARGET, SHARED_TARGET].join(', ')}); use "/usr" or a directory of its own.`,
    );

  if ('store' in m.sharedDirectories)
    add(
      ['sharedDirectories', 'store'],
      m.sharedDirectories.store,
      'the tag "store" belongs to the shared store; set the "store" option instead.',
    );

  // The mount points the plugin owns, each with the option that sets it.
  const owned = new Map<string, string>([
    ['/', 'bootDevice'],
    [store, 'store.target'],
  ]);
  if (!('xchg' in m.sharedDirectories)) owned.set(XCHG_TARGET, 'the xchg share');
  if (!('shared' in m.sharedDirectories)) owned.set(SHARED_TARGET, 'the shared share');
  if (m.tmpOnTmpfs) owned.set('/tmp', 'tmpOnTmpfs');
  if (m.useBootLoader) owned.set('/boot', 'useBootLoader');

  const mounts: UserMount[] = [
    ...Object.entries(m.sharedDirectories).map(([tag, share]) => ({
      path: ['sharedDirectories', tag, 'target'],
      point: share.target,
      value: share.target,
      label: `share "${tag}"`,
      early: true,
    })),
    ...Object.entries(m.fileSystems).map(([point, f]) => ({
      path: ['fileSystems', point],
      point,
      value: f,
      label: `fileSystems["${point}"]`,
      early: f.neededForBoot,
    })),
  ];
  const seen = new Map<string, string>();
  for (const { path, point, value, label, early } of mounts) {
    if (typeof point !== 'string' || !point.startsWith('/')) continue; // the schema says so
    if (!isPlainPath(point)) {
      add(path, value, plainPathMessage(point, '/mnt/data'));
      continue;
    }
    const owner = owned.get(point);
    const kernel = KERNEL_TREES.find((t) => (early ? within(point, t) : point === t));
    if (owner)
      add(
        path,
        value,
        `mount point ${point} is managed by nx-qemu-vm (${owner}); change that option instead.`,
      );
    else if (kernel)
      add(
        path,
        value,
        `is ${point === kernel ? '' : 'inside '}${kernel}, which stage 1 mounts itself after the file systems needed for boot and would hide this one; choose a directory elsewhere, such as "/mnt/data".`,
      );
    else if (overlaps(point, STORE_LAYERS) || within(store, point))
      add(
        path,
        value,
        `would hide the store (${within(store, point) ? store : STORE_LAYERS}), which stage 1 mounts before it; choose a directory elsewhere, such as "/mnt/data".`,
      );
    const other = seen.get(point);
    if (other !== undefined)
      add(
        path,
        value,
        `${other} is already mounted at ${point}; one mount point takes one file system.`,
      );
    else seen.set(point, label);
  }
}
