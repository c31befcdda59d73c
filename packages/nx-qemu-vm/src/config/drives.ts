// The drive list, in the order that gives guests their device names:
// root first, then the boot disk, the empty disks and the user's drives.
import { type ValidMachine, installsAfterRestore } from './valid-machine';
import { type Part, hostPath } from '../quote/argv-words';

export type DiskInterface = ValidMachine['qemu']['diskInterface'];

export interface ResolvedDrive {
  name?: string;
  /** Image path as parts of a QEMU option value (commas escaped). */
  file: Part[];
  format: string;
  driveExtraOpts: Record<string, string>;
  deviceExtraOpts: Record<string, string>;
  /** Guest device node, e.g. /dev/vdb. */
  device: string;
}

/** `/dev/vda` for the first virtio disk, `/dev/sdb` for the second scsi or ide disk, ... */
export function driveDeviceName(iface: DiskInterface, index: number): string {
  if (index < 0 || index >= 26)
    throw new Error(`drive index ${index} is out of range: at most 26 drives are supported`);
  const letter = String.fromCharCode(97 + index);
  return iface === 'virtio' ? `/dev/vd${letter}` : `/dev/sd${letter}`;
}

/** The drive that carries a Debian image's store (last, so the others keep their names). */
export const STORE_DRIVE = 'store';

/** The run script's variable that names install image N (a warm-state save points it at a scratch file). */
export const installVar = (i: number) => `install${i}`;

export function resolveDrives(
  name: string,
  m: ValidMachine,
  imageStore?: string,
  installs = 0,
): ResolvedDrive[] {
  const list: Omit<ResolvedDrive, 'device'>[] = [
    {
      name: 'root',
      file: [{ var: 'disk_image', qemu: true }],
      format: 'qcow2',
      driveExtraOpts: { cache: 'writeback', werror: 'report' },
      deviceExtraOpts: {},
    },
  ];
  if (m.useBootLoader)
    list.push({
      name: 'boot',
      file: [{ var: 'TMPDIR', qemu: true }, '/disk.img'],
      format: 'qcow2',
      driveExtraOpts: { media: 'disk' },
      deviceExtraOpts: { bootindex: '1' },
    });
  // The run script names each one (empty0, ...): it creates it when missing,
  // and a warm-state save points it at a scratch disk.
  m.emptyDiskImages.forEach((_, i) =>
    list.push({
      file: [{ var: `empty${i}`, qemu: true }],
      format: 'qcow2',
      driveExtraOpts: { werror: 'report' },
      deviceExtraOpts: {},
    }),
  );
  for (const d of m.qemu.drives)
    list.push({
      name: d.name,
      file: hostPath(d.file, true),
      format: d.format,
      driveExtraOpts: d.driveExtraOpts,
      deviceExtraOpts: d.deviceExtraOpts,
    });
  if (imageStore !== undefined)
    list.push({
      name: STORE_DRIVE,
      file: hostPath(imageStore, true),
      format: 'raw',
      // Read-only for QEMU too: a cached output must never change under Nx.
      driveExtraOpts: { readonly: 'on' },
      deviceExtraOpts: {},
    });
  // The workspace's files (install), after everything else for the same
  // reason. Swapped after a ready state's restore, each is seen through an
  // overlay of one size whatever the image's (run-script.ts): the guest
  // learned the disk's size before the save.
  for (let i = 0; i < installs; i++)
    list.push({
      name: installVar(i),
      file: [{ var: installVar(i), qemu: true }],
      format: installsAfterRestore(m) ? 'qcow2' : 'raw',
      driveExtraOpts: { readonly: 'on' },
      deviceExtraOpts: {},
    });
  return list.map((d, i) => ({ ...d, device: driveDeviceName(m.qemu.diskInterface, i) }));
}

/**
 * Where IDE disk number `index` goes. q35's AHCI controller has six ports of
 * one unit each; the i440fx ("pc") PIIX controller has two buses of two units,
 * and QEMU's default CD-ROM takes ide.1 unit 0.
 */
export function ideSlots(machine: string): string[] {
  const type = machine.split(',')[0];
  if (type === 'q35' || type.startsWith('pc-q35'))
    return [0, 1, 2, 3, 4, 5].map((i) => `bus=ide.${i}`);
  return ['bus=ide.0,unit=0', 'bus=ide.0,unit=1', 'bus=ide.1,unit=1'];
}

/** Finds the one drive with this name; a missing or repeated name is an error, never a guess. */
export function lookupDrive(drives: readonly ResolvedDrive[], name: string): ResolvedDrive {
  const found = drives.filter((d) => d.name === name);
  if (found.length === 0)
    throw new Error(
      `no drive is named "${name}"; named drives: ${drives.flatMap((d) => (d.name ? [d.name] : [])).join(', ') || 'none'}`,
    );
  if (found.length > 1)
    throw new Error(`${found.length} drives are named "${name}"; drive names must be unique`);
  return found[0];
}
