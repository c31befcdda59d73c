#!/bin/sh
# mmdebstrap's customize hook for the image target: runs once the packages are
# installed, outside the chroot (as root, or as root of a user namespace in
# unshare mode), and turns the chroot into the image target's outputs.
#   $1  the chroot          $2  the output directory (inside the chroot, copied
#                               out by mmdebstrap's sync-out as the calling account)
#   SOURCE_DATE_EPOCH       every file's timestamp in the image
#   IMAGE_UUID              the erofs file system's UUID (fixed: reproducible)
#   IMAGE_FACTORY           where the store keeps the rest of the root (share/nx-qemu-vm/factory)
#   IMAGE_PER_MACHINE_FILES the list of what the factory copy must not carry
#   IMAGE_UNPACKED_ONLY     1 when the packages were only unpacked (another
#                           architecture): this hook does what the store needs
#                           of their maintainer scripts
set -eu
root=$1
out=$2
mkdir -p "$out"

if [ "$IMAGE_UNPACKED_ONLY" = 1 ]; then
  # Merged /usr, as Debian's bootstrap makes it: the store is /usr alone.
  for d in bin sbin lib; do
    if [ -d "$root/$d" ] && [ ! -L "$root/$d" ]; then
      mkdir -p "$root/usr/$d"
      cp -a "$root/$d/." "$root/usr/$d/"
      rm -rf "${root:?}/$d"
      ln -s "usr/$d" "$root/$d"
    fi
  done
  # The user database that base-passwd's postinst would write.
  [ -e "$root/etc/passwd" ] || cp "$root/usr/share/base-passwd/passwd.master" "$root/etc/passwd"
  [ -e "$root/etc/group" ] || cp "$root/usr/share/base-passwd/group.master" "$root/etc/group"
fi

# The kernel boots from outside the image (QEMU's -kernel, GRUB's /boot).
set -- "$root"/boot/vmlinuz-*
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "image: expected one kernel in /boot, found: $*" >&2
  exit 1
fi
release=${1##*/vmlinuz-}
# The module index, which the kernel's postinst makes (depmod reads any architecture).
[ -e "$root/usr/lib/modules/$release/modules.dep" ] || depmod -b "$root" "$release"
cp "$1" "$out/vmlinuz"
cp "$root/boot/config-$release" "$out/config-$release"
printf '%s\n' "$release" >"$out/kernel-release"

# What went in, a line per package, for people and for diffs between builds:
# dpkg's database, or the unpacked packages themselves.
# shellcheck disable=SC2016 # dpkg's format strings, not the shell's
if [ "$IMAGE_UNPACKED_ONLY" = 1 ]; then
  for deb in "$root"/var/cache/apt/archives/*.deb; do
    dpkg-deb --show --showformat '${Package} ${Version} ${Architecture}\n' "$deb"
  done
else
  dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package} ${Version} ${Architecture}\n'
fi | LC_ALL=C sort >"$out/manifest.txt"

# The store is /usr; the rest of the tree the packages installed (/etc, /var,
# /srv, /opt, /root, /home, ...) rides along as a factory copy that stage 1
# lays down on a new root disk. Left out: what the kernel and stage 1 provide
# (/boot, /dev, /proc, /sys, /run, /tmp, the merged-/usr links), the kernel's
# links beside them, and this hook's outputs.
factory=$root/usr/$IMAGE_FACTORY
mkdir -p "$factory"
for entry in "$root"/* "$root"/.[!.]*; do
  name=${entry##*/}
  case $name in
    usr | boot | dev | proc | sys | run | tmp | vmlinuz* | initrd.img* | "${out##*/}") continue ;;
  esac
  if [ -L "$entry" ]; then
    case $(readlink "$entry") in usr/*) continue ;; esac
  elif [ ! -e "$entry" ]; then
    continue
  fi
  cp -a "$entry" "$factory/"
done
# Logs, caches and apt's lists are this build's, not the system's: they are
# left out, so two builds give the same bytes.
for d in var/log var/cache var/lib/apt/lists; do
  if [ -d "$factory/$d" ]; then find "$factory/$d" -type f -delete; fi
done
rm -f "$factory"/var/lib/dpkg/*-old "$factory"/etc/*-
# Secrets and identities that packages made for this build (SSH host keys, the
# machine ID, ...): the list says why each is there; every machine makes its
# own on its first boot.
grep -v -e '^#' -e '^$' "$IMAGE_PER_MACHINE_FILES" | while read -r pattern; do
  # shellcheck disable=SC2086 # a shell pattern, expanded on purpose
  rm -f "$factory"/$pattern
done
# The snakeoil certificate's hash link, whose name comes from the build host's name.
if [ -d "$factory/etc/ssl/certs" ]; then find "$factory/etc/ssl/certs" -lname ssl-cert-snakeoil.pem -delete; fi

mkfs.erofs --quiet -zlz4hc -T"$SOURCE_DATE_EPOCH" -U"$IMAGE_UUID" "$out/store.erofs" "$root/usr"
