# shellcheck shell=sh
# The boot disk of qemu-vm.nix's `bootDisk` (useBootLoader): a GPT disk with a
# BIOS boot partition and an EFI system partition holding GRUB, the kernel and
# the initrd. It runs unchanged in two places: in a throwaway VM against
# /dev/vda, or on the host against a raw image file, without root, loop
# devices or mounts. Both address the ESP by byte offset (mkfs.fat --offset,
# mtools' img@@offset) instead of through /dev/vda2 or a mount, so they write
# the same bytes, and every value that tools would otherwise take at random or
# from the clock is fixed.
#
# boot-disk-recipe.ts puts a header of quoted values before this file:
#   mode              vm (disk is a block device) or host (disk is an image file)
#   disk, kernel, initrd, work    paths; work is a scratch directory
#   SOURCE_DATE_EPOCH the time stamped on every FAT entry
#   bios              1: GRUB for BIOS (x86); 0 for an aarch64 disk
#   efi               1: GRUB for UEFI, at \EFI\BOOT\$efi_boot_file
#   grub_efi_dir, grub_efi_format: UEFI GRUB's modules and platform; grub_efi_missing: what to do without them
#   serial_console    1: no graphical terminal, so no GRUB font
#   grub_cfg          the text of grub.cfg
#   size_mib, the GPT layout (disk_guid, bios_* and esp_* fields), fat_serial,
#   fat_label, the GRUB directories and the kernel's and initrd's paths on the ESP.
# shellcheck disable=SC2154
set -eu

# Nothing from the caller's locale, time zone or mtools config may change
# the bytes: C collation fixes the glob order (= FAT directory order), UTC
# fixes the local time that FAT stores.
LC_ALL=C TZ=UTC
export LC_ALL TZ SOURCE_DATE_EPOCH MTOOLS_SKIP_CHECK=1 MTOOLS_NO_VFAT=0
unset MTOOLSRC
PATH=$PATH:/usr/sbin:/sbin

phase() { echo "boot-disk: $*"; }
fail() {
  echo "boot-disk: error: $*" >&2
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || fail "$1 not found; install the Debian package $2 (apt-get install $2)"; }
need_file() { [ -e "$1" ] || fail "$1 not found; install the Debian package $2 (apt-get install $2)"; }
# Runs one step quietly; on failure shows the tool's output and names the step.
run() {
  what=$1
  shift
  if ! "$@" >"$work/step.log" 2>&1; then
    cat "$work/step.log" >&2
    fail "$what failed: $*"
  fi
}

phase "checking host tools"
need sgdisk gdisk
need mkfs.fat dosfstools
for t in mmd mcopy mdir; do need "$t" mtools; done
need grub-mkimage grub-common
if [ "$bios" = 1 ]; then
  need_file "$grub_pc_dir/boot.img" grub-pc-bin
  bios_setup=$grub_pc_dir/grub-bios-setup
  [ -x "$bios_setup" ] || bios_setup=$(command -v grub-bios-setup) ||
    fail "grub-bios-setup not found; install the Debian package grub-pc-bin"
fi
if [ "$efi" = 1 ] && [ ! -e "$grub_efi_dir/moddep.lst" ]; then fail "$grub_efi_missing"; fi
if [ "$serial_console" != 1 ]; then need_file "$grub_font" grub-common; fi
[ -r "$kernel" ] || fail "cannot read the kernel $kernel"
[ -r "$initrd" ] || fail "cannot read the initrd $initrd"
# Absolute paths: grub-bios-setup runs in another directory (see below).
mkdir -p "$work" || fail "cannot create the work directory $work"
work=$(cd "$work" && pwd -P)
size_bytes=$((size_mib * 1024 * 1024))

if [ "$mode" = host ]; then
  phase "creating the image"
  case $disk in /*) ;; *) disk=$PWD/$disk ;; esac
  # Start from zeros, and leave no half-built image behind on failure.
  rm -f "$disk"
  trap 'rm -f "$disk"' EXIT
  run "creating $disk" truncate -s "$size_bytes" "$disk"
else
  phase "clearing the disk"
  [ -b "$disk" ] || fail "$disk is not a block device"
  size=$(blockdev --getsize64 "$disk") || fail "cannot read the size of $disk (blockdev, util-linux)"
  [ "$size" = "$size_bytes" ] || fail "$disk has $size bytes; the boot disk must be $size_bytes ($size_mib MiB)"
  # Old contents would end up in the image: zero it like a new file.
  run "zeroing $disk" dd if=/dev/zero of="$disk" bs=1M count="$size_mib" conv=fsync
fi

phase "partitioning"
run "partitioning (sgdisk)" sgdisk \
  --set-alignment=1 --new="1:$bios_first:$bios_last" --change-name="1:$bios_name" --typecode="1:$bios_type" \
  --set-alignment=512 --largest-new=2 --change-name="2:$esp_name" --typecode="2:$esp_type" \
  --attributes="$bios_attributes" --attributes="$esp_attributes" \
  --disk-guid="$disk_guid" --partition-guid="1:$bios_guid" --partition-guid="2:$esp_guid" \
  --hybrid 2 --recompute-chs "$disk"
# sgdisk sizes the ESP from the disk; read back where it ends.
esp=$(sgdisk -i 2 "$disk") || fail "sgdisk cannot read partition 2 of $disk"
printf '%s\n' "$esp" | grep -q "^First sector: $esp_first " || fail "the ESP does not start at sector $esp_first"
esp_last=$(printf '%s\n' "$esp" | sed -n 's/^Last sector: \([0-9][0-9]*\) .*/\1/p')
[ -n "$esp_last" ] || fail "cannot find the ESP's last sector in sgdisk -i 2"

phase "formatting the ESP (FAT16)"
# --invariant fixes the times and the serial; the -i after it sets our
# serial (mkfs.fat applies options in order). -h, -S and -g pin what
# mkfs.fat would read from /dev/vda2 or guess for a file, and -I lets it
# write to a whole disk at an offset.
run "formatting (mkfs.fat)" mkfs.fat -I -F 16 -n "$fat_label" --invariant -i "$fat_serial" -S 512 -g 8/32 \
  --offset "$esp_first" -h "$esp_first" "$disk" $(((esp_last - esp_first + 1) / 2))
fat="$disk@@$((esp_first * 512))"

phase "copying the kernel and initrd"
dirs="::/kernels ::/grub"
if [ "$bios" = 1 ]; then dirs="$dirs ::/grub/i386-pc"; fi
if [ "$efi" = 1 ]; then dirs="$dirs ::/grub/$grub_efi_format ::/EFI ::/EFI/BOOT"; fi
if [ "$serial_console" != 1 ]; then dirs="$dirs ::/grub/fonts"; fi
# shellcheck disable=SC2086 # a list of words without blanks of their own
run "creating directories (mmd)" mmd -i "$fat" $dirs
run "copying the kernel (mcopy)" mcopy -i "$fat" "$kernel" "::$esp_kernel"
run "copying the initrd (mcopy)" mcopy -i "$fat" "$initrd" "::$esp_initrd"

if [ "$bios" = 1 ]; then
  phase "installing GRUB (BIOS)"
  run "building the BIOS core image (grub-mkimage)" grub-mkimage -O i386-pc -d "$grub_pc_dir" -o "$work/core.img" \
    -p "$grub_prefix" biosdisk part_gpt fat
  run "copying the BIOS GRUB modules (mcopy)" mcopy -i "$fat" "$grub_pc_dir"/*.mod "$grub_pc_dir"/*.lst ::/grub/i386-pc/
  # grub-bios-setup writes boot.img into the MBR and core.img into the BIOS
  # boot partition, but first insists on opening the disk that holds its -d
  # directory (the "root device", unused when it embeds). For a file on the host
  # that is the host's disk, which a user cannot open; in the throwaway VM it is
  # a 9p or tmpfs share with no disk at all. GRUB takes that device from the
  # mount's source in /proc/self/mountinfo and resolves it relative to the
  # current directory. So: -d /proc, whose source is a plain word ("proc"), run
  # from a directory where that word is a symlink to our disk; the images are
  # named as /proc/../<path>. The device map names the same symlink (GRUB
  # resolves it, and its parser would split a path with blanks), so the root
  # device is the target itself: (hd0).
  proc_src=$(sed -n 's|^[^ ]* [^ ]* [^ ]* [^ ]* /proc .* - [^ ]* \([^ ]*\) .*$|\1|p' /proc/self/mountinfo | tail -n 1)
  case $proc_src in
    "" | */* | *\\* | . | ..) fail "cannot use the source of /proc (\"$proc_src\") for grub-bios-setup; is /proc mounted?" ;;
  esac
  rm -rf "$work/grub-setup" && mkdir "$work/grub-setup" && ln -s "$disk" "$work/grub-setup/$proc_src"
  printf '(hd0) %s\n' "$proc_src" >"$work/grub-setup/device.map"
  (cd "$work/grub-setup" && run "writing GRUB to the MBR and the BIOS boot partition (grub-bios-setup)" \
    "$bios_setup" -d /proc -b "..$grub_pc_dir/boot.img" -c "..$work/core.img" -m device.map '(hd0)')
fi

if [ "$efi" = 1 ]; then
  phase "installing GRUB (UEFI)"
  run "building the UEFI image (grub-mkimage)" grub-mkimage -O "$grub_efi_format" -d "$grub_efi_dir" \
    -o "$work/$efi_boot_file" -p "$grub_prefix" part_gpt fat
  # The removable-media path: the firmware boots it without any NVRAM entry.
  run "copying $efi_boot_file (mcopy)" mcopy -i "$fat" "$work/$efi_boot_file" "::/EFI/BOOT/$efi_boot_file"
  run "copying the UEFI GRUB modules (mcopy)" mcopy -i "$fat" "$grub_efi_dir"/*.mod "$grub_efi_dir"/*.lst "::/grub/$grub_efi_format/"
fi

phase "writing grub.cfg"
printf '%s' "$grub_cfg" >"$work/grub.cfg"
run "copying grub.cfg (mcopy)" mcopy -i "$fat" "$work/grub.cfg" ::/grub/grub.cfg
if [ "$serial_console" != 1 ]; then
  run "copying the GRUB font (mcopy)" mcopy -i "$fat" "$grub_font" "::$esp_font"
fi

phase "checking"
sgdisk -v "$disk" 2>&1 | grep -q "No problems found" || fail "sgdisk -v finds problems in the GPT of $disk"
checked="::$esp_kernel ::$esp_initrd ::/grub/grub.cfg"
if [ "$efi" = 1 ]; then checked="$checked ::/EFI/BOOT/$efi_boot_file"; fi
# shellcheck disable=SC2086 # a list of words without blanks of their own
run "reading back the ESP (mdir)" mdir -i "$fat" $checked

if [ "$mode" = host ]; then
  trap - EXIT
else
  # In the VM the disk must reach QEMU before the guest powers off.
  sync
fi
phase "done: $disk"
