#!/bin/sh
# mmdebstrap's customize hook for the image target: runs once the packages are
# installed, outside the chroot (as root, or as root of a user namespace in
# unshare mode), and turns the chroot into the image target's outputs.
#   $1  the chroot          $2  the output directory
#   SOURCE_DATE_EPOCH       every file's timestamp in the image
#   IMAGE_UUID              the erofs file system's UUID (fixed: reproducible)
#   IMAGE_FACTORY           where the store keeps /etc and /var (share/nx-qemu-vm/factory)
set -eu
root=$1
out=$2

# The kernel boots from outside the image (QEMU's -kernel, GRUB's /boot).
set -- "$root"/boot/vmlinuz-*
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "image: expected one kernel in /boot, found: $*" >&2
  exit 1
fi
release=${1##*/vmlinuz-}
cp "$1" "$out/vmlinuz"
cp "$root/boot/config-$release" "$out/config-$release"
printf '%s\n' "$release" >"$out/kernel-release"

# What went in, a line per package, for people and for diffs between builds.
dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package} ${Version} ${Architecture}\n' |
  LC_ALL=C sort >"$out/manifest.txt"

# The store is /usr; /etc and /var ride along as a factory copy that stage 1
# puts on a new root disk. Logs, caches and apt's lists are this build's, not
# the system's: they are left out, so two builds give the same bytes.
factory=$root/usr/$IMAGE_FACTORY
mkdir -p "$factory"
cp -a "$root/etc" "$root/var" "$factory/"
find "$factory/var/log" "$factory/var/cache" "$factory/var/lib/apt/lists" -type f -delete
rm -f "$factory"/var/lib/dpkg/*-old "$factory"/etc/*- "$factory/etc/machine-id"
: >"$factory/etc/machine-id"

mkfs.erofs --quiet -zlz4hc -T"$SOURCE_DATE_EPOCH" -U"$IMAGE_UUID" "$out/store.erofs" "$root/usr"
