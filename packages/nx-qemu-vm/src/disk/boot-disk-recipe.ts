// The boot disk of qemu-vm.nix's `bootDisk` (useBootLoader): a 60 MiB GPT
// disk with a BIOS boot partition and an ESP holding GRUB, the kernel and the
// initrd. Rendered as one POSIX sh script that runs unchanged in two places:
// in a throwaway VM against /dev/vda, or on the host against a raw image file
// without root, loop devices or mounts. Both modes address the ESP by byte
// offset (mkfs.fat --offset, mtools' img@@offset) instead of through /dev/vda2
// or a mount, so they produce the same bytes, and every value that tools
// would otherwise pick at random or from the clock is fixed here.
import { ESP_FONT, ESP_INITRD, ESP_KERNEL, renderGrubCfg } from './grub-cfg';
import { kernelParamProblem } from '../quote/kernel-cmdline';
import schema from '../../workspace-vm.schema.json';
import { shAssignments } from '../quote/shell';
import { shellFile } from '../host/shell-file';

/** The largest side of the boot loader's graphics mode; the config's schema holds the figure. */
const MAX_RESOLUTION = schema.definitions.machine.properties.resolution.properties.x.maximum;

export interface BootDiskRecipe {
  mode: 'vm' | 'host';
  /** vm: the block device (/dev/vda). host: the raw image file path. */
  target: string;
  /** Path readable by the script (in vm mode under /xchg). */
  kernel: string;
  initrd: string;
  /** The machine's resolved kernel params (console=..., init=...). */
  kernelParams: string[];
  resolution: { x: number; y: number };
  /** Also install GRUB x86_64-efi at \EFI\BOOT\BOOTX64.EFI. */
  efi: boolean;
  /**
   * aarch64: UEFI only, GRUB arm64-efi at \EFI\BOOT\BOOTAA64.EFI, its
   * modules from this directory (the image's /usr/lib/grub/arm64-efi); no
   * BIOS GRUB. Host mode only.
   */
  arm64GrubDir?: string;
  /** GRUB menu on the serial port too (machines with graphics: false). */
  serialConsole: boolean;
  sourceDateEpoch: number;
  /** Scratch directory the script may use. */
  workDir: string;
}

export const BOOT_DISK_SIZE_MIB = 60;

/** The seed's layout, with its "arbitrary but fixed GUIDs for reproducibility". */
export const BOOT_DISK_LAYOUT = {
  diskGuid: '97FD5997-D90B-4AA3-8D16-C1723AEA73C1',
  biosBoot: {
    number: 1,
    first: 34,
    last: 2047,
    type: 'EF02',
    name: 'BIOSBootPartition',
    guid: '1C06F03B-704E-4657-B9CD-681A087A2FDC',
    attributes: '1:set:1',
  },
  esp: {
    number: 2,
    first: 2048,
    type: 'EF00',
    name: 'EFISystem',
    guid: '970C694F-AFD0-4B99-B750-CDB7A329AB6F',
    attributes: '2:set:2',
  },
  /** The seed leaves the FAT serial to mkfs.fat (random); we take the ESP GUID's first half. */
  fatSerial: '970C694F',
  fatLabel: 'boot',
} as const;

/** Debian's GRUB module directories; grub-mkimage and grub-bios-setup read them. */
export const GRUB_PC_DIR = '/usr/lib/grub/i386-pc';
export const GRUB_EFI_DIR = '/usr/lib/grub/x86_64-efi';
const GRUB_FONT = '/usr/share/grub/unicode.pf2';
/** GRUB finds its modules and grub.cfg on the ESP; the disk part comes from the firmware's boot device. */
const GRUB_PREFIX = '(,gpt2)/grub';

// FAT stores local time from 1980 to 2107; mtools stamps files with
// SOURCE_DATE_EPOCH. Earlier epochs (0 is the usual "no time") become
// 1980-01-01 00:00, the earliest FAT time; later ones are refused.
export const FAT_EPOCH_MIN = Date.UTC(1980, 0, 1) / 1000;
const FAT_EPOCH_MAX = Date.UTC(2108, 0, 1) / 1000 - 2;

function check(r: BootDiskRecipe): void {
  const problems: string[] = [];
  if (r.mode !== 'vm' && r.mode !== 'host')
    problems.push(`mode ${JSON.stringify(r.mode)} is neither "vm" nor "host"`);
  for (const key of ['target', 'kernel', 'initrd', 'workDir'] as const) {
    const v = r[key];
    if (typeof v !== 'string' || v === '') problems.push(`${key} is empty`);
    else if (/[\x00-\x1f]/.test(v))
      problems.push(`${key} ${JSON.stringify(v)} contains a control character`);
  }
  if (r.arm64GrubDir !== undefined && r.mode !== 'host')
    problems.push('an arm64 boot disk is built on the host (mode "host")');
  // mtools reads "file@@offset"; a second "@@" would move the ESP.
  if (r.target?.includes('@@'))
    problems.push(
      `target ${JSON.stringify(r.target)} contains "@@", which mtools reads as an offset`,
    );
  r.kernelParams.forEach((p, i) => {
    const why = kernelParamProblem(p);
    if (why) problems.push(`kernelParams[${i}] ${JSON.stringify(p)} ${why}`);
  });
  for (const axis of ['x', 'y'] as const) {
    const n = r.resolution?.[axis];
    if (!Number.isInteger(n) || n < 1 || n > MAX_RESOLUTION)
      problems.push(
        `resolution.${axis} ${n} is not a whole number of pixels (1-${MAX_RESOLUTION})`,
      );
  }
  const e = r.sourceDateEpoch;
  if (!Number.isInteger(e) || e < 0 || e > FAT_EPOCH_MAX)
    problems.push(
      `sourceDateEpoch ${e} is not a whole number of seconds from 0 to ${FAT_EPOCH_MAX} (FAT stores no time after 2107)`,
    );
  if (problems.length) throw new Error(`boot disk recipe:\n  ${problems.join('\n  ')}`);
}

/** The script: a header of this disk's values, then the static program disk/boot-disk.sh. */
export function renderBootDiskScript(r: BootDiskRecipe): string {
  check(r);
  const L = BOOT_DISK_LAYOUT;
  const arm64 = r.arm64GrubDir !== undefined;
  const header = shAssignments({
    mode: r.mode,
    disk: r.target,
    kernel: r.kernel,
    initrd: r.initrd,
    work: r.workDir,
    SOURCE_DATE_EPOCH: Math.max(r.sourceDateEpoch, FAT_EPOCH_MIN),
    efi: r.efi || arm64,
    bios: !arm64,
    serial_console: r.serialConsole,
    grub_cfg: renderGrubCfg({
      kernelParams: r.kernelParams,
      resolution: r.resolution,
      serialConsole: r.serialConsole,
      arm64,
    }),
    size_mib: BOOT_DISK_SIZE_MIB,
    disk_guid: L.diskGuid,
    bios_first: L.biosBoot.first,
    bios_last: L.biosBoot.last,
    bios_name: L.biosBoot.name,
    bios_type: L.biosBoot.type.toLowerCase(),
    bios_guid: L.biosBoot.guid,
    bios_attributes: L.biosBoot.attributes,
    esp_first: L.esp.first,
    esp_name: L.esp.name,
    esp_type: L.esp.type.toLowerCase(),
    esp_guid: L.esp.guid,
    esp_attributes: L.esp.attributes,
    fat_serial: L.fatSerial,
    fat_label: L.fatLabel,
    grub_pc_dir: GRUB_PC_DIR,
    grub_efi_dir: r.arm64GrubDir ?? GRUB_EFI_DIR,
    grub_efi_format: arm64 ? 'arm64-efi' : 'x86_64-efi',
    grub_efi_missing: arm64
      ? `the image has no GRUB for arm64-efi (${r.arm64GrubDir}); rebuild it: nx run <machine>:image --skip-nx-cache (its package list includes grub-efi-arm64-bin)`
      : `${GRUB_EFI_DIR}/moddep.lst not found; install the Debian package grub-efi-amd64-bin (apt-get install grub-efi-amd64-bin)`,
    efi_boot_file: arm64 ? 'BOOTAA64.EFI' : 'BOOTX64.EFI',
    grub_font: GRUB_FONT,
    grub_prefix: GRUB_PREFIX,
    esp_kernel: ESP_KERNEL,
    esp_initrd: ESP_INITRD,
    esp_font: ESP_FONT,
  });
  return [
    '#!/bin/sh\n',
    `# nx-qemu-vm boot disk (${r.mode} mode): this disk's values, then disk/boot-disk.sh.\n`,
    header,
    shellFile('disk/boot-disk.sh'),
  ].join('');
}
