# shellcheck shell=sh
# Stage 1 of an nx-qemu-vm guest, the /init of its generated initrd: NixOS's
# stage-1-init.sh reduced to what a VM with a shared store needs. It runs
# under busybox before any root exists. It loads the drivers, formats a blank
# root disk, mounts the root, the shares and the store, then starts the init.
#
# stage1.ts puts a header of quoted values before this file:
#   modules       kernel modules in load order; name:optional may fail to load
#   root_device, root_fstype, root_options, root_timeout (seconds)
#   store_target  where the store appears; ninep: the 9p mount options
#   merged_usr    1 when the store is /usr (the root gets /bin -> usr/bin, ...)
#   factory       a Debian image's root tree beside /usr as installed, copied to a new root; or empty
#   init          the default init; an init= kernel parameter overrides it
#   stage2_unit   with "init": "systemd", stage 2's unit in the initrd; or empty
#   network_unit  with "init": "systemd", the network's unit in the initrd; or empty
#   services_program  the declared services' program in the initrd; or empty
#   units_dir     with "init": "systemd", the services' units in the initrd; or empty
#   hosts_block   the lines of /etc/hosts that name this machine and its vlan peers
#   host_name     the machine's name, which its first-boot keys and certificate carry
#   gettys        with "init": "systemd", the virtual terminals that get a login prompt, e.g. "tty1 tty2"
#   seed_passwd, seed_group  the accounts and groups of a root without /etc/passwd (stage 2 writes them)
#   run_dir, stage2, agent, alternatives, failed_marker, fw_cfg_mode,
#   warm_item, warm_point, block_drivers: fixed names
#   exec_flag, warm_flag, builder_flag, fsck_check_flag: the kernel parameters
#                 that make a boot an exec, a warm save, a builder or a checked one
# and the functions mount_early, which mounts the file systems under the root,
# put_users, which makes the machine's `users` (put_user calls), and
# put_files, which writes the machine's `files` on it (put_file calls).
# shellcheck disable=SC2154

/bin/busybox mkdir -p /proc /sys /dev /tmp /mnt-root
/bin/busybox --install -s /bin
export PATH=/sbin:/bin
mount -t devtmpfs devtmpfs /dev
# The archive has no /dev/console node, so the kernel could not open one for us.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# The kernel command line, read once: a restored warm state has the saved one.
read -r cmdline </proc/cmdline
# has_param WORD: true when the command line has WORD as a whole parameter.
has_param() { case " $cmdline " in *" $1 "*) ;; *) false ;; esac; }

say() { echo "stage 1: $*"; }
# An exec boot: the kernel parameter (direct boot) or QEMU's fw_cfg (any boot).
is_exec() {
  has_param "$exec_flag" ||
    case $(cat "/sys/firmware/qemu_fw_cfg/by_name/$fw_cfg_mode/raw" 2>/dev/null) in exec*) ;; *) false ;; esac
}
fail() {
  echo "stage 1: error: $*"
  echo "$failed_marker"
  # The kernel log reaches every console, not only /dev/console: a machine
  # with a display shows the failure on its serial port too.
  printf '<3>stage 1: error: %s\n<3>%s\n' "$*" "$failed_marker" >/dev/kmsg 2>/dev/null
  # Nobody waits at an exec's or a builder's console: they power off at once.
  if ! is_exec && ! has_param "$builder_flag"; then
    echo "Starting an emergency shell; leaving it powers the machine off."
    setsid cttyhack sh
  fi
  sync
  poweroff -f
}
# insmod reports a module that is already there as an error; that is fine.
# One process per module: its message goes to a file, not through a command
# substitution, whose extra fork cost a tenth of a second under TCG.
load_module() {
  insmod "/lib/modules/$1.ko" 2>/tmp/insmod.err && return 0
  out=$(cat /tmp/insmod.err)
  case $out in
    *"File exists"*) ;;
    *) [ "${2:-}" = optional ] || fail "cannot load module $1: $out" ;;
  esac
}
# Block devices appear a moment after their driver loads.
wait_for_device() {
  tries=0
  while [ ! -b "$1" ]; do
    tries=$((tries + 1))
    [ $tries -le $((root_timeout * 10)) ] ||
      fail "device $1 did not appear within $root_timeout s; block devices: $(cd /sys/class/block && printf '%s ' *)"
    sleep 0.1
  done
}
# UUID=...: the device whose file system has that UUID (a store image's).
find_uuid() {
  tries=0
  while ! found=$(/sbin/blkid -U "$1" 2>/dev/null); do
    tries=$((tries + 1))
    [ $tries -le $((root_timeout * 10)) ] ||
      fail "no device with file system UUID $1 appeared within $root_timeout s; block devices: $(cd /sys/class/block && printf '%s ' *)"
    sleep 0.1
  done
  echo "$found"
}
mount_fs() {
  source=$1
  case $1 in
    /dev/*) wait_for_device "$1" ;;
    UUID=*) source=$(find_uuid "${1#UUID=}") || exit 1 ;;
  esac
  if ! { mkdir -p "$2" && mount -t "$3" -o "$4" "$source" "$2"; }; then
    fail "cannot mount $1 ($3) on $2 with options $4"
  fi
}

load_modules() {
  for module in "$@"; do
    case $module in
      *:optional) load_module "${module%:optional}" optional ;;
      *) load_module "$module" ;;
    esac
  done
}

# A warm start: the host boots this far once, saves the machine and
# restores that state for later runs. The save happens before anything that
# differs per run is touched: no block driver is loaded, so the kernel has
# read nothing of a disk, and no share is mounted. A restored copy finds
# warm_item set to 1, takes the time from the clock chip and goes on.
if has_param "$warm_flag"; then
  # shellcheck disable=SC2086 # word lists
  set -- $modules
  early='' late=''
  for module in "$@"; do
    case " $block_drivers " in
      *" ${module%:optional} "*) late="$late $module" ;;
      *) early="$early $module" ;;
    esac
  done
  # shellcheck disable=SC2086
  load_modules $early
  # What the save relies on, checked rather than assumed: a kernel with a
  # disk driver built in has read the disks already, and one without the
  # vmgenid driver would resume every copy with the same random state.
  for disk in /sys/class/block/vd* /sys/class/block/sd* /sys/class/block/hd* /sys/class/block/nvme*; do
    [ -e "$disk" ] && fail "no warm state: the kernel found the disk ${disk##*/} before the save (a disk driver built into the kernel); set warmStart to false for this kernel"
  done
  [ -e /sys/bus/acpi/drivers/vmgenid ] ||
    fail "no warm state: the kernel has no vmgenid driver (CONFIG_VMGENID=y), which reseeds its random generator after a restore; set warmStart to false for this kernel"
  # Through the kernel log, which reaches every console: the host watches the
  # serial port, which is not /dev/console on a machine with a display.
  printf '<3>%s\n' "$warm_point" >/dev/kmsg 2>/dev/null || echo "$warm_point"
  # The host saves the machine in this loop; nothing else sets the item, so
  # a boot that is never saved gives up after ten minutes.
  tries=0
  while [ "$(cat "/sys/firmware/qemu_fw_cfg/by_name/$warm_item/raw" 2>/dev/null)" != 1 ]; do
    tries=$((tries + 1))
    [ $tries -le 30000 ] || fail "no warm state was saved or restored within ten minutes"
    sleep 0.02
  done
  printf '<3>stage 1: %s\n' 'resumed from a warm state' >/dev/kmsg 2>/dev/null || say 'resumed from a warm state'
  hwclock -s -u 2>/dev/null || say "warning: cannot read the clock chip; the clock is the saved one"
  # shellcheck disable=SC2086
  load_modules $late
else
  # shellcheck disable=SC2086
  load_modules $modules
fi

# Builder mode, NixOS's runInLinuxVM: no root disk is touched. The host's
# store becomes the whole system, and a script from xchg works on the
# attached disks; its output and status go back through xchg.
if has_param "$builder_flag"; then
  b=/builder
  mount_fs tmpfs $b tmpfs mode=0755
  mount_fs store "$b$store_target" 9p "$ninep,cache=loose,ro"
  mount_fs xchg $b/xchg 9p "$ninep"
  for d in bin sbin lib lib32 lib64 libx32; do
    if [ -e "$b/usr/$d" ]; then ln -s "usr/$d" "$b/$d"; fi
  done
  mkdir -p $b/dev $b/proc $b/sys $b/tmp $b/etc $b/run
  if ! { mount -o bind /dev $b/dev && mount -o bind /proc $b/proc && mount -o bind /sys $b/sys; }; then
    fail "cannot prepare the builder root"
  fi
  cp -a "$alternatives" $b/etc/alternatives
  say "builder: running the build script"
  # shellcheck disable=SC2016 # expanded by the builder's shell
  chroot $b /bin/sh -c 'cd /tmp && PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/sh /xchg/builder.sh; echo $? > /xchg/status' 2>&1 |
    tee $b/xchg/builder.log
  sync
  poweroff -f
fi

root=$root_device
say "waiting for the root device $root"
wait_for_device "$root"
# A blank disk is formatted; a disk with any file system on it never is.
# e2fsprogs and util-linux, not the busybox applets of the same names.
fstype=$(/sbin/blkid -o value -s TYPE "$root" || true)
if [ -z "$fstype" ]; then
  say "formatting the blank root device $root as $root_fstype"
  /sbin/mke2fs -q -t "$root_fstype" "$root" || fail "mke2fs failed on $root"
fi

# The root is checked before it is mounted, as an init does, so that a
# machine stopped hard (a power cut, a full disk on the host) comes back
# repaired. nxvm.fsck=check first runs a read-only, forced check and says
# what it found: tests use it to see that a shutdown left the disk clean.
check_root() {
  case $fstype in ext2 | ext3 | ext4) ;; *) return 0 ;; esac
  mkdir -p /etc && ln -sf /proc/mounts /etc/mtab
  if has_param "$fsck_check_flag"; then
    if /sbin/e2fsck -fn "$root" >/tmp/fsck.log 2>&1; then
      say "e2fsck -fn $root: clean"
      return 0
    fi
    say "e2fsck -fn $root: problems:"
    cat /tmp/fsck.log
  fi
  fsck_status=0
  /sbin/e2fsck -p "$root" >/tmp/fsck.log 2>&1 || fsck_status=$?
  if [ "$fsck_status" -ge 4 ]; then
    cat /tmp/fsck.log
    say "e2fsck -p cannot repair $root by itself; repairing it with e2fsck -fy"
    fsck_status=0
    /sbin/e2fsck -fy "$root" || fsck_status=$?
    [ "$fsck_status" -lt 4 ] || fail "e2fsck could not repair $root (status $fsck_status)"
  elif [ "$fsck_status" -ne 0 ]; then
    cat /tmp/fsck.log
    say "e2fsck repaired $root"
  fi
}
check_root
mount_fs "$root" /mnt-root "$root_fstype" "$root_options"

mount_early

# What NixOS does after mounting: mark the system, fix /tmp, provide /boot.
mkdir -p /mnt-root/etc /mnt-root/tmp /mnt-root/boot /mnt-root/root /mnt-root/proc /mnt-root/sys /mnt-root/dev /mnt-root/run
: >/mnt-root/etc/NX-QEMU-VM
# First boot of a Debian image: the tree its packages installed beside /usr
# (/etc and /var with services configured and enabled, /srv, /opt, /root...);
# later boots keep the guest's changes.
if [ -n "$factory" ] && [ ! -e /mnt-root/etc/.nx-qemu-vm-factory ]; then
  [ -d "/mnt-root$factory/etc" ] || fail "the image has no $factory/etc"
  cp -a "/mnt-root$factory/." /mnt-root/ || fail "cannot copy the image's root tree to the root disk"
  : >/mnt-root/etc/.nx-qemu-vm-factory
fi
# First boot: the host's /etc/alternatives links, which the shared /usr relies on.
[ -e /mnt-root/etc/alternatives ] || cp -a "$alternatives" /mnt-root/etc/alternatives
chmod 1777 /mnt-root/tmp
# What programs and tests take for granted: a writable /var with its log and
# scratch directories (on the root disk, so they persist as /etc does).
mkdir -p /mnt-root/var/log /mnt-root/var/tmp /mnt-root/var/lib
chmod 1777 /mnt-root/var/tmp
# The host's /usr carries Debian's os-release; /etc/os-release points to it.
if [ ! -e /mnt-root/etc/os-release ] && [ ! -L /mnt-root/etc/os-release ] && [ -e "/mnt-root$store_target/lib/os-release" ]; then
  ln -s "..$store_target/lib/os-release" /mnt-root/etc/os-release
fi
# /etc/hosts belongs to the guest, except for the block between our markers,
# which names this machine and every machine it shares a vlan with, anew at
# each boot (the file's own lines are kept).
hosts=/mnt-root/etc/hosts
[ -e $hosts ] || printf '127.0.0.1 localhost\n::1 localhost\n' >$hosts
{
  sed '/^# nx-qemu-vm: begin/,/^# nx-qemu-vm: end/d' $hosts
  printf '# nx-qemu-vm: begin (rewritten at each boot)\n%s# nx-qemu-vm: end\n' "$hosts_block"
} >/tmp/hosts && cat /tmp/hosts >$hosts
if [ "$merged_usr" = 1 ]; then
  # The store is /usr: give the root the merged-/usr links that Debian programs expect.
  for d in bin sbin lib lib32 lib64 libx32; do
    if [ -e "/mnt-root/usr/$d" ] && [ ! -e "/mnt-root/$d" ] && [ ! -L "/mnt-root/$d" ]; then
      ln -s "usr/$d" "/mnt-root/$d"
    fi
  done
fi
# account_field FILE NAME FIELD: FIELD of NAME's line in the root's /etc/FILE
# (passwd or group); a numeric NAME is an id, looked up by its third field.
account_field() {
  key=1
  case $2 in
    *[!0-9]*) ;;
    *)
      [ "$3" = 3 ] && echo "$2" && return 0
      key=3
      ;;
  esac
  # A root without accounts yet (the host's /usr brings none; stage 2 writes
  # these on its first boot) has the ones every guest gets.
  if [ -e "/mnt-root/etc/$1" ]; then cat "/mnt-root/etc/$1"; elif [ "$1" = passwd ]; then printf '%s' "$seed_passwd"; else printf '%s' "$seed_group"; fi |
    awk -F: -v n="$2" -v k="$key" -v f="$3" '$k == n { print $f; found = 1; exit } END { exit !found }'
}
# put_file MEMBER PATH MODE USER GROUP: one of the machine's `files`, written
# anew at each boot (through a new file, renamed over the old one); an empty
# GROUP is the owner's primary group. A link in PATH must stay in the root.
put_file() {
  uid=$(account_field passwd "$4" 3) || fail "cannot write $2 (files): no account $4 in the guest's /etc/passwd"
  if [ -n "$5" ]; then
    gid=$(account_field group "$5" 3) || fail "cannot write $2 (files): no group $5 in the guest's /etc/group"
  else
    gid=$(account_field passwd "$4" 4) || gid=$uid
  fi
  target=/mnt-root$2
  mkdir -p "${target%/*}" 2>/dev/null
  case $(readlink -f "${target%/*}") in
    /mnt-root | /mnt-root/*) ;;
    *) fail "cannot write $2 (files): a link on its path leads out of the guest's root, or a file is in the way" ;;
  esac
  [ -d "$target" ] && [ ! -L "$target" ] && fail "cannot write $2 (files): the guest has a directory there"
  new="$target.nx-qemu-vm-new"
  if ! { cp "$1" "$new" && chown "$uid:$gid" "$new" && chmod "$3" "$new" && mv -f "$new" "$target"; }; then
    rm -f "$new"
    fail "cannot write $2 (files) on the root"
  fi
}
# put_user NAME HASH: one of the machine's `users`, made with the image's own
# tools: created when the root has no such account, and given the password
# hash anew at each boot. Before the files, which may belong to it.
put_user() {
  if ! account_field passwd "$1" 1 >/dev/null; then
    say "creating the account $1 (users)"
    chroot /mnt-root /usr/sbin/useradd --create-home --shell /bin/bash "$1" ||
      fail "cannot create the account $1 (users) with useradd"
  fi
  chroot /mnt-root /usr/sbin/usermod --password "$2" "$1" ||
    fail "cannot set the password of $1 (users) with usermod"
}
put_users
put_files

# Stage 2, its busybox and the test agent live in a fresh /run, so nothing is written to the root for them.
mount_fs tmpfs /mnt-root/run tmpfs mode=0755,nosuid,nodev
mkdir -p "/mnt-root$run_dir"
cp /bin/busybox "/mnt-root$run_dir/busybox"
cp "$stage2" "/mnt-root$run_dir/init"
chmod 0755 "/mnt-root$run_dir/init"
cp "$agent" "/mnt-root$run_dir/agent"
if [ -n "$services_program" ]; then
  cp "$services_program" "/mnt-root$run_dir/services"
  chmod 0755 "/mnt-root$run_dir/services"
fi
# With "init": "systemd", stage 2 is a service of the image's systemd, put in
# the fresh /run where systemd reads runtime units. The first-boot questions
# are masked, and so are the login prompts but those of `gettys`: stage 2 owns
# the other consoles, as it does as PID 1.
if [ -n "$stage2_unit" ]; then
  units=/mnt-root/run/systemd/system
  mkdir -p "$units/multi-user.target.wants"
  cp "$stage2_unit" "$units/nx-qemu-vm.service"
  ln -s ../nx-qemu-vm.service "$units/multi-user.target.wants/nx-qemu-vm.service"
  # The network, configured before network.target and network-online.target,
  # which the boot reaches: services ordered after either find it up.
  mkdir -p "$units/network-online.target.wants"
  cp "$network_unit" "$units/nx-qemu-vm-network.service"
  ln -s ../nx-qemu-vm-network.service "$units/network-online.target.wants/nx-qemu-vm-network.service"
  ln -s ../nx-qemu-vm-network.service "$units/multi-user.target.wants/nx-qemu-vm-network.service"
  ln -s /lib/systemd/system/network-online.target "$units/multi-user.target.wants/network-online.target"
  for unit in serial-getty@.service console-getty.service systemd-firstboot.service; do
    ln -s /dev/null "$units/$unit"
  done
  if [ -z "$gettys" ]; then
    for unit in getty.target getty@.service autovt@.service; do
      ln -s /dev/null "$units/$unit"
    done
  else
    # Exactly the terminals named: each one wanted by getty.target, every
    # other one masked (an image may enable tty1), and none started by
    # logind when a test switches to it (its autovt@ instances).
    mkdir -p "$units/getty.target.wants" /mnt-root/run/systemd/logind.conf.d
    n=1
    while [ $n -le 12 ]; do
      case " $gettys " in
        *" tty$n "*) ln -s /usr/lib/systemd/system/getty@.service "$units/getty.target.wants/getty@tty$n.service" ;;
        *) ln -s /dev/null "$units/getty@tty$n.service" ;;
      esac
      n=$((n + 1))
    done
    ln -s /usr/lib/systemd/system/getty.target "$units/multi-user.target.wants/getty.target"
    printf '[Login]\nNAutoVTs=0\nReserveVT=0\n' >/mnt-root/run/systemd/logind.conf.d/nx-qemu-vm.conf
  fi
  # The declared services, wanted by multi-user.target as enabled units are.
  if [ -n "$units_dir" ]; then
    for unit in "$units_dir"/*; do
      cp "$unit" "$units/"
      ln -s "../${unit##*/}" "$units/multi-user.target.wants/${unit##*/}"
    done
  fi
fi

set -f
for arg in $cmdline; do
  case $arg in init=*) init=${arg#init=} ;; esac
done
set +f
[ -e "/mnt-root$init" ] || [ -L "/mnt-root$init" ] || fail "init $init does not exist in the root file system"
mount -o move /dev /mnt-root/dev
mount -o move /proc /mnt-root/proc
mount -o move /sys /mnt-root/sys
# What makes this machine itself, made on its first boot and kept on its root
# disk: an image carries none of it (image/per-machine-files.txt), so that
# machines of one image differ and the image is safe to share.
hostname "$host_name"
if [ ! -s /mnt-root/etc/machine-id ]; then
  tr -d - </mnt-root/proc/sys/kernel/random/uuid >/mnt-root/etc/machine-id || fail "cannot write /etc/machine-id"
fi
# Keys and certificates only for a Debian image, whose /etc its packages set
# up: a machine on the host's /usr has the host's programs, not their configuration.
set -- /mnt-root/etc/ssh/ssh_host_*_key
if [ -n "$factory" ] && [ -e /mnt-root/etc/ssh/sshd_config ] && [ ! -e "$1" ] && [ -x /mnt-root/usr/bin/ssh-keygen ]; then
  say "making this machine's SSH host keys"
  chroot /mnt-root /usr/bin/ssh-keygen -A || fail "ssh-keygen -A cannot make the SSH host keys"
fi
if [ -n "$factory" ] && [ -x /mnt-root/usr/sbin/make-ssl-cert ] && [ ! -e /mnt-root/etc/ssl/private/ssl-cert-snakeoil.key ]; then
  say "making this machine's self-signed TLS certificate"
  chroot /mnt-root /usr/sbin/make-ssl-cert generate-default-snakeoil || fail "make-ssl-cert cannot make the snakeoil certificate"
fi
exec switch_root /mnt-root "$init"
