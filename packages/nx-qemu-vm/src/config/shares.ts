// 9p shares and the guest filesystem table that stage 1 mounts.
import type { ValidMachine } from './valid-machine';
import { RO_STORE, RW_STORE, SHARED_TARGET } from './defaults';
import { XCHG_TARGET } from '../contract/host-guest';
import { type Part, hostPath } from '../quote/argv-words';

export interface ResolvedShare {
  tag: string;
  /** Host directory as parts of a QEMU option value. */
  source: Part[];
  target: string;
  readOnly: boolean;
  securityModel: string;
}

export interface ResolvedFileSystem {
  mountPoint: string;
  device: string;
  fsType: string;
  options: string[];
  neededForBoot: boolean;
}

export const STORE_TAG = 'store';

/** The store is a 9p share of the host's directory unless a Debian image (a drive) carries it. */
export function resolveShares(m: ValidMachine, storeShare = true): ResolvedShare[] {
  const shares = new Map<string, ResolvedShare>();
  if (storeShare)
    shares.set(STORE_TAG, {
      tag: STORE_TAG,
      source: hostPath(m.store.source, true),
      target: m.store.target,
      readOnly: true,
      securityModel: 'none',
    });
  shares.set('xchg', {
    tag: 'xchg',
    source: [{ var: 'TMPDIR', qemu: true }, '/xchg'],
    target: XCHG_TARGET,
    readOnly: false,
    securityModel: 'none',
  });
  shares.set('shared', {
    tag: 'shared',
    source: [{ var: 'shared_dir', qemu: true }],
    target: SHARED_TARGET,
    readOnly: false,
    securityModel: 'none',
  });
  for (const [tag, s] of Object.entries(m.sharedDirectories))
    shares.set(tag, {
      tag,
      source: hostPath(s.source, true),
      target: s.target,
      readOnly: s.readOnly,
      securityModel: s.securityModel,
    });
  return [...shares.values()];
}

function mountOrder(a: ResolvedFileSystem, b: ResolvedFileSystem): number {
  // Root first, then the store's layers, the store overlay, then the rest with
  // parents before children.
  const rank = (f: ResolvedFileSystem) =>
    f.mountPoint === '/'
      ? 0
      : f.mountPoint.startsWith('/.nx-store/')
        ? 1
        : f.fsType === 'overlay'
          ? 2
          : 3;
  return (
    rank(a) - rank(b) ||
    (a.mountPoint + '/' < b.mountPoint + '/' ? -1 : a.mountPoint === b.mountPoint ? 0 : 1)
  );
}

export function resolveFileSystems(
  m: ValidMachine,
  shares: readonly ResolvedShare[],
  bootDevice: string,
  bootPartition: string | undefined,
  /** The guest device of a Debian image's store, which replaces the store share. */
  storeDevice?: string,
  installs: readonly { to: string; uuid: string }[] = [],
): ResolvedFileSystem[] {
  const ninep = (tag: string) => [
    'trans=virtio',
    'version=9p2000.L',
    `msize=${m.msize}`,
    ...(tag === STORE_TAG ? ['cache=loose'] : []),
  ];
  const fs: ResolvedFileSystem[] = [
    {
      mountPoint: '/',
      device: bootDevice,
      fsType: 'ext4',
      options: ['defaults'],
      neededForBoot: true,
    },
  ];
  if (storeDevice !== undefined)
    fs.push({
      mountPoint: m.writableStore ? RO_STORE : m.store.target,
      device: storeDevice,
      fsType: 'erofs',
      options: ['ro'],
      neededForBoot: true,
    });
  for (const share of shares) {
    const isStore = share.tag === STORE_TAG;
    fs.push({
      mountPoint: isStore && m.writableStore ? RO_STORE : share.target,
      device: share.tag,
      fsType: '9p',
      options: [...ninep(share.tag), ...(share.readOnly ? ['ro'] : [])],
      neededForBoot: true,
    });
  }
  if (m.writableStore) {
    if (m.writableStoreUseTmpfs)
      fs.push({
        mountPoint: RW_STORE,
        device: 'tmpfs',
        fsType: 'tmpfs',
        options: ['mode=0755'],
        neededForBoot: true,
      });
    fs.push({
      mountPoint: m.store.target,
      device: 'overlay',
      fsType: 'overlay',
      options: [`lowerdir=${RO_STORE}`, `upperdir=${RW_STORE}/upper`, `workdir=${RW_STORE}/work`],
      neededForBoot: true,
    });
  }
  if (m.tmpOnTmpfs)
    fs.push({
      mountPoint: '/tmp',
      device: 'tmpfs',
      fsType: 'tmpfs',
      options: ['mode=1777', 'strictatime', 'nosuid', 'nodev', `size=${m.tmpOnTmpfsSize}`],
      neededForBoot: true,
    });
  if (bootPartition)
    fs.push({
      mountPoint: '/boot',
      device: bootPartition,
      fsType: 'vfat',
      options: ['defaults'],
      neededForBoot: true,
    });
  // Mounted by stage 1 after a warm state is restored, like the root: a new
  // build of the files does not make a saved state stale.
  for (const install of installs)
    fs.push({
      mountPoint: install.to,
      device: `UUID=${install.uuid}`,
      fsType: 'erofs',
      options: ['ro'],
      neededForBoot: true,
    });
  for (const [mountPoint, f] of Object.entries(m.fileSystems))
    fs.push({
      mountPoint,
      device: f.device,
      fsType: f.fsType,
      options: f.options,
      neededForBoot: f.neededForBoot,
    });
  return fs.sort(mountOrder);
}
