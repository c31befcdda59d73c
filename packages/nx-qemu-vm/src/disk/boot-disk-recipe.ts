// The boot disk of qemu-vm.nix's `bootDisk` (useBootLoader): a 60 MiB GPT
// disk with a BIOS boot partition and an ESP holding GRUB, the kernel and the
// initrd. Rendered as one POSIX sh script that runs unchanged in two places:
// in a throwaway VM against /dev/vda, or on the host against a raw image file
// without root, loop devices or mounts. Both modes address the ESP by byte
// offset (mkfs.fat --offset, mtools' img@@offset) instead of through /dev/vda2
// or a mount, so they produce the same bytes, and every value that tools
// would otherwise pick at random or from the clock is fixed here.
import { ESP_FONT, ESP_INITRD, ESP_KERNEL, kernelParamProblem, renderGrubCfg } from './grub-cfg';
import { shQuote } from '../quote/shell';

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
    if (!Number.isInteger(n) || n < 1 || n > 16384)
      problems.push(`resolution.${axis} ${n} is not a whole number of pixels (1-16384)`);
  }
  const e = r.sourceDateEpoch;
  if (!Number.isInteger(e) || e < 0 || e > FAT_EPOCH_MAX)
    problems.push(
      `sourceDateEpoch ${e} is not a whole number of seconds from 0 to ${FAT_EPOCH_MAX} (FAT stores no time after 2107)`,
    );
  if (problems.length) throw new Error(`boot disk recipe:\n  ${problems.join('\n  ')}`);
}

/** A quoted here-document: its body reaches the file byte for byte, nothing in it is expanded. */
function heredoc(text: string, dest: string): string {
  const end = 'NX_QEMU_VM_EOF';
  if (text.split('\n').includes(end))
    throw new Error(`boot disk recipe: a line of ${dest} is ${end}`);
  return `cat >${dest} <<'${end}'\n${text}${end}`;
}

const PRELUDE = String.raw`# Nothing from the caller's locale, time zone or mtools config may change
# the bytes: C collation fixes the glob order (= FAT directory order), UTC
# fixes the local time that FAT stores.
LC_ALL=C TZ=UTC
export LC_ALL TZ SOURCE_DATE_EPOCH MTOOLS_SKIP_CHECK=1 MTOOLS_NO_VFAT=0
unset MTOOLSRC
PATH=$PATH:/usr/sbin:/sbin

phase() { echo "boot-disk: $*"; }
fail() { echo "boot-disk: error: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || fail "$1 not found; install the Debian package $2 (apt-get install $2)"; }
need_file() { [ -e "$1" ] || fail "$1 not found; install the Debian package $2 (apt-get install $2)"; }
# Runs one step quietly; on failure shows the tool's output and names the step.
run() {
  what=$1; shift
  if ! "$@" >"$work/step.log" 2>&1; then
    cat "$work/step.log" >&2
    fail "$what failed: $*"
  fi
}
`;

export function renderBootDiskScript(r: BootDiskRecipe): string {
  check(r);
  const L = BOOT_DISK_LAYOUT;
  const bytes = BOOT_DISK_SIZE_MIB * 1024 * 1024;
  const espOffset = L.esp.first * 512;
  const grubCfg = renderGrubCfg({
    kernelParams: r.kernelParams,
    resolution: r.resolution,
    serialConsole: r.serialConsole,
  });
  const out: string[] = [
    '#!/bin/sh',
    `# nx-qemu-vm boot disk (${r.mode} mode): GPT with a BIOS boot partition and an ESP,`,
    `# GRUB for BIOS${r.efi ? ' and UEFI' : ''}, the kernel and the initrd. Generated; do not edit.`,
    'set -eu',
    `SOURCE_DATE_EPOCH=${Math.max(r.sourceDateEpoch, FAT_EPOCH_MIN)}`,
    `disk=${shQuote(r.target)}`,
    `kernel=${shQuote(r.kernel)}`,
    `initrd=${shQuote(r.initrd)}`,
    `work=${shQuote(r.workDir)}`,
    PRELUDE,
    'phase "checking host tools"',
    'need sgdisk gdisk',
    'need mkfs.fat dosfstools',
    'for t in mmd mcopy mdir; do need "$t" mtools; done',
    'need grub-mkimage grub-common',
    `need_file ${GRUB_PC_DIR}/boot.img grub-pc-bin`,
    `bios_setup=${GRUB_PC_DIR}/grub-bios-setup`,
    '[ -x "$bios_setup" ] || bios_setup=$(command -v grub-bios-setup) || fail "grub-bios-setup not found; install the Debian package grub-pc-bin"',
    ...(r.efi ? [`need_file ${GRUB_EFI_DIR}/moddep.lst grub-efi-amd64-bin`] : []),
    ...(r.serialConsole ? [] : [`need_file ${GRUB_FONT} grub-common`]),
    '[ -r "$kernel" ] || fail "cannot read the kernel $kernel"',
    '[ -r "$initrd" ] || fail "cannot read the initrd $initrd"',
    // Absolute paths: grub-bios-setup runs in another directory (see below).
    'mkdir -p "$work" || fail "cannot create the work directory $work"',
    'work=$(cd "$work" && pwd -P)',
    '',
  ];
  if (r.mode === 'host') {
    out.push(
      'phase "creating the image"',
      'case $disk in /*) ;; *) disk=$PWD/$disk ;; esac',
      // Start from zeros, and leave no half-built image behind on failure.
      'rm -f "$disk"',
      'trap \'rm -f "$disk"\' EXIT',
      `run "creating $disk" truncate -s ${bytes} "$disk"`,
    );
  } else {
    out.push(
      'phase "clearing the disk"',
      '[ -b "$disk" ] || fail "$disk is not a block device"',
      'size=$(blockdev --getsize64 "$disk") || fail "cannot read the size of $disk (blockdev, util-linux)"',
      `[ "$size" = ${bytes} ] || fail "$disk has $size bytes; the boot disk must be ${bytes} (${BOOT_DISK_SIZE_MIB} MiB)"`,
      // Old contents would end up in the image: zero it like a new file.
      `run "zeroing $disk" dd if=/dev/zero of="$disk" bs=1M count=${BOOT_DISK_SIZE_MIB} conv=fsync`,
    );
  }
  out.push(
    '',
    'phase "partitioning"',
    'run "partitioning (sgdisk)" sgdisk \\',
    `  --set-alignment=1 --new=1:${L.biosBoot.first}:${L.biosBoot.last} --change-name=1:${L.biosBoot.name} --typecode=1:${L.biosBoot.type.toLowerCase()} \\`,
    `  --set-alignment=512 --largest-new=2 --change-name=2:${L.esp.name} --typecode=2:${L.esp.type.toLowerCase()} \\`,
    `  --attributes=${L.biosBoot.attributes} --attributes=${L.esp.attributes} \\`,
    `  --disk-guid=${L.diskGuid} --partition-guid=1:${L.biosBoot.guid} --partition-guid=2:${L.esp.guid} \\`,
    '  --hybrid 2 --recompute-chs "$disk"',
    // sgdisk sizes the ESP from the disk; read back where it ends.
    'esp=$(sgdisk -i 2 "$disk") || fail "sgdisk cannot read partition 2 of $disk"',
    `printf '%s\\n' "$esp" | grep -q '^First sector: ${L.esp.first} ' || fail "the ESP does not start at sector ${L.esp.first}"`,
    `esp_last=$(printf '%s\\n' "$esp" | sed -n 's/^Last sector: \\([0-9][0-9]*\\) .*/\\1/p')`,
    '[ -n "$esp_last" ] || fail "cannot find the ESP\'s last sector in sgdisk -i 2"',
    '',
    'phase "formatting the ESP (FAT16)"',
    // --invariant fixes the times and the serial; the -i after it sets our
    // serial (mkfs.fat applies options in order). -h, -S and -g pin what
    // mkfs.fat would read from /dev/vda2 or guess for a file, and -I lets it
    // write to a whole disk at an offset.
    `run "formatting (mkfs.fat)" mkfs.fat -I -F 16 -n ${L.fatLabel} --invariant -i ${L.fatSerial} -S 512 -g 8/32 \\`,
    `  --offset ${L.esp.first} -h ${L.esp.first} "$disk" $(((esp_last - ${L.esp.first} + 1) / 2))`,
    `fat="$disk@@${espOffset}"`,
    '',
    'phase "copying the kernel and initrd"',
    `run "creating directories (mmd)" mmd -i "$fat" ::/kernels ::/grub ::/grub/i386-pc${r.efi ? ' ::/grub/x86_64-efi ::/EFI ::/EFI/BOOT' : ''}${r.serialConsole ? '' : ' ::/grub/fonts'}`,
    `run "copying the kernel (mcopy)" mcopy -i "$fat" "$kernel" ::${ESP_KERNEL}`,
    `run "copying the initrd (mcopy)" mcopy -i "$fat" "$initrd" ::${ESP_INITRD}`,
    '',
    'phase "installing GRUB (BIOS)"',
    `run "building the BIOS core image (grub-mkimage)" grub-mkimage -O i386-pc -d ${GRUB_PC_DIR} -o "$work/core.img" -p '${GRUB_PREFIX}' biosdisk part_gpt fat`,
    `run "copying the BIOS GRUB modules (mcopy)" mcopy -i "$fat" ${GRUB_PC_DIR}/*.mod ${GRUB_PC_DIR}/*.lst ::/grub/i386-pc/`,
    // grub-bios-setup writes boot.img into the MBR and core.img into the BIOS
    // boot partition, but first insists on opening the disk that holds its
    // -d directory (the "root device", unused when it embeds). For a file
    // on the host that is the host's disk, which a user cannot open; in the
    // throwaway VM it is a 9p or tmpfs share with no disk at all. GRUB takes
    // that device from the mount's source in /proc/self/mountinfo and
    // resolves it relative to the current directory. So: -d /proc, whose
    // source is a plain word ("proc"), run from a directory where that word
    // is a symlink to our disk; the images are named as /proc/../<path>.
    // The device map names the same symlink (GRUB resolves it, and its
    // parser would split a path with blanks), so the root device is the
    // target itself: (hd0).
    `proc_src=$(sed -n 's|^[^ ]* [^ ]* [^ ]* [^ ]* /proc .* - [^ ]* \\([^ ]*\\) .*$|\\1|p' /proc/self/mountinfo | tail -n 1)`,
    'case $proc_src in ""|*/*|*\\\\*|.|..) fail "cannot use the source of /proc (\\"$proc_src\\") for grub-bios-setup; is /proc mounted?" ;; esac',
    'rm -rf "$work/grub-setup" && mkdir "$work/grub-setup" && ln -s "$disk" "$work/grub-setup/$proc_src"',
    'printf \'(hd0) %s\\n\' "$proc_src" >"$work/grub-setup/device.map"',
    '(cd "$work/grub-setup" && run "writing GRUB to the MBR and the BIOS boot partition (grub-bios-setup)" \\',
    `  "$bios_setup" -d /proc -b "..${GRUB_PC_DIR}/boot.img" -c "..$work/core.img" -m device.map '(hd0)')`,
    '',
  );
  if (r.efi) {
    out.push(
      'phase "installing GRUB (UEFI)"',
      `run "building the UEFI image (grub-mkimage)" grub-mkimage -O x86_64-efi -d ${GRUB_EFI_DIR} -o "$work/BOOTX64.EFI" -p '${GRUB_PREFIX}' part_gpt fat`,
      // The removable-media path: OVMF boots it without any NVRAM entry.
      'run "copying BOOTX64.EFI (mcopy)" mcopy -i "$fat" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI',
      `run "copying the UEFI GRUB modules (mcopy)" mcopy -i "$fat" ${GRUB_EFI_DIR}/*.mod ${GRUB_EFI_DIR}/*.lst ::/grub/x86_64-efi/`,
      '',
    );
  }
  out.push(
    'phase "writing grub.cfg"',
    heredoc(grubCfg, '"$work/grub.cfg"'),
    'run "copying grub.cfg (mcopy)" mcopy -i "$fat" "$work/grub.cfg" ::/grub/grub.cfg',
    ...(r.serialConsole
      ? []
      : [`run "copying the GRUB font (mcopy)" mcopy -i "$fat" ${GRUB_FONT} ::${ESP_FONT}`]),
    '',
    'phase "checking"',
    'sgdisk -v "$disk" 2>&1 | grep -q "No problems found" || fail "sgdisk -v finds problems in the GPT of $disk"',
    `run "reading back the ESP (mdir)" mdir -i "$fat" ::${ESP_KERNEL} ::${ESP_INITRD} ::/grub/grub.cfg${r.efi ? ' ::/EFI/BOOT/BOOTX64.EFI' : ''}`,
    // In the VM the disk must reach QEMU before the guest powers off.
    ...(r.mode === 'host' ? ['trap - EXIT'] : ['sync']),
    'phase "done: $disk"',
    '',
  );
  return out.join('\n');
}
