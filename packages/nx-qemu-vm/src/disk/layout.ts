// A stateful disk remembers the options it was created for, in a small stamp
// beside it (`<image>.layout.json`). When the config later disagrees, the user
// is told, and the disk is left alone: resizing or reformatting is their call.
import type { ResolvedMachine } from '../config/resolve';

export interface DiskLayout {
  /** Size in MiB when created. */
  sizeMiB: number;
  /** How the guest sees the disk. */
  interface: string;
  /** Root disks only: the device stage 1 formats and the file system it puts there. */
  rootDevice?: string;
  rootFsType?: string;
}

export const layoutStampPath = (image: string) => `${image}.layout.json`;

/** One line of JSON, written the same way by the root-disk target and the run script. */
export function renderLayoutStamp(layout: DiskLayout): string {
  return JSON.stringify(layout);
}

export function parseLayoutStamp(text: string): DiskLayout | undefined {
  try {
    const v = JSON.parse(text) as DiskLayout;
    return typeof v === 'object' && v !== null && typeof v.sizeMiB === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

export function rootDiskLayout(r: ResolvedMachine): DiskLayout | undefined {
  if (r.diskSize === null) return undefined;
  const root = r.fileSystems.find((f) => f.mountPoint === '/');
  return {
    sizeMiB: r.diskSize,
    interface: r.qemu.diskInterface,
    rootDevice: root?.device,
    rootFsType: root?.fsType,
  };
}

export function emptyDiskLayouts(r: ResolvedMachine): DiskLayout[] {
  return r.emptyDiskSizes.map((sizeMiB) => ({
    sizeMiB,
    interface: r.qemu.diskInterface,
  }));
}

const LABELS: Record<keyof DiskLayout, string> = {
  sizeMiB: 'size (MiB)',
  interface: 'interface',
  rootDevice: 'root device',
  rootFsType: 'root file system',
};

/**
 * How the disk differs from what the config asks for now. Without a stamp
 * (a disk made by hand, or by an older version) only the size can be compared.
 */
export function layoutDrift(
  wanted: DiskLayout,
  recorded: DiskLayout | undefined,
  actualSizeMiB: number | undefined,
): string[] {
  const out: string[] = [];
  const size = actualSizeMiB ?? recorded?.sizeMiB;
  if (size !== undefined && size !== wanted.sizeMiB)
    out.push(`${LABELS.sizeMiB}: the disk has ${size}, the config says ${wanted.sizeMiB}`);
  if (!recorded) return out;
  for (const key of ['interface', 'rootDevice', 'rootFsType'] as const)
    if (wanted[key] !== undefined && recorded[key] !== undefined && wanted[key] !== recorded[key])
      out.push(`${LABELS[key]}: created with ${recorded[key]}, the config says ${wanted[key]}`);
  return out;
}
