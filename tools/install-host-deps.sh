#!/bin/sh
# Installs the Debian packages nx-qemu-vm needs on the host (run as root).
# Each line says what the package is for.
set -eu
export DEBIAN_FRONTEND=noninteractive
# A quoted heredoc: nothing in the comments is ever expanded or run.
list=$(sed 's/#.*//' <<'PACKAGES' | tr -s ' \n' ' '
qemu-system-x86     # the emulator for x86_64 and i686 guests
qemu-system-arm     # the emulator for aarch64 guests
qemu-utils          # qemu-img: root, empty and boot-disk images
efibootmgr          # tests read the boot entry in an EFI guest (the host writes it)
qemu-efi-aarch64    # UEFI firmware for aarch64 guests
ovmf                # UEFI firmware for x86_64 guests
linux-image-amd64   # the default guest kernel (/boot/vmlinuz-*) and its modules
busybox-static      # the guest's stage-1 tools
e2fsprogs           # mke2fs and blkid for the guest's root disk
kmod                # module dependency data for the initrd
cpio                # initrd archives (tests extract them)
xz-utils            # XZ kernels unpacked for PVH boot, and .ko.xz modules
zstd                # kernels with .ko.zst modules
iproute2            # ss: tests check which address a forward listens on
tmux                # tests drive `nx run vm:start` in a real terminal
gdisk               # sgdisk: GPT boot disks
dosfstools          # mkfs.fat: the EFI system partition
mtools              # FAT file copies without mounting
grub-pc-bin         # BIOS boot loader
grub-efi-amd64-bin  # UEFI boot loader
netcat-openbsd      # guest-to-host port forwards (guestfwd)
curl                # tests fetch pages from guests with it, through the host's /usr
shellcheck          # tests lint the generated run scripts
qemu-guest-agent    # qemu-ga, started in guests that enable the guest agent
nginx               # tools/remote-cache: the shared Nx cache server (built with the WebDAV module)
mmdebstrap          # system.from "debian": builds a machine's store from Debian packages
uidmap              # newuidmap and newgidmap: mmdebstrap's unshare mode, when an ordinary account builds an image
erofs-utils         # mkfs.erofs and fsck.erofs: the store image, the initrd's files taken from it, and install images
tesseract-ocr       # the test API's getScreenText and waitForText read the screen by OCR
ssl-cert            # tests: machines on the host's /usr boot on a host with ssl-cert, as many hosts are
linux-libc-dev      # tests hold the agent's system call numbers to the kernel's headers, for every arch
PACKAGES
)
apt-get update -qq
# Debian starts nginx's own service on port 80 when it is installed; we only
# run it through tools/remote-cache/serve.sh. Unless the host already has a
# policy (containers do), one is put in place for this install only, refusing
# to start nginx and allowing everything else.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  # shellcheck disable=SC2016 # the $1 belongs to the policy script
  printf '#!/bin/sh\n[ "$1" = nginx ] && exit 101\nexit 0\n' > "$policy"
  chmod 0755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $list >/dev/null
echo "host packages installed: $list"
