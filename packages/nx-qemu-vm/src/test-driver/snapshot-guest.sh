# shellcheck shell=sh
# The guest's side of a snapshot where the agent's own system calls are not
# enough (test-driver/snapshot-commands.ts sends these functions and the one
# call that follows them): a share that would not unmount because something
# uses it. QEMU refuses to save a machine while a 9p share is mounted in it.

# The processes that use files under $1 (their working directory, root or an
# open file), as "pid (name) ...". One Perl reads every link: a readlink
# each would cost a program per open file. fuser is not in every image.
holders() {
  perl -e 'my $dir = $ARGV[0];
    opendir(my $proc, "/proc") or die "/proc: $!\n";
    for my $pid (grep { /^[0-9]+$/ } readdir($proc)) {
      opendir(my $fds, "/proc/$pid/fd") or next;
      for my $link ("cwd", "root", map { "fd/$_" } grep { /^[0-9]+$/ } readdir($fds)) {
        my $to = readlink("/proc/$pid/$link");
        next unless defined $to && ($to eq $dir || index($to, "$dir/") == 0);
        open(my $comm, "<", "/proc/$pid/comm") or next;
        chomp(my $name = <$comm> // "?");
        print "$pid ($name) ";
        last;
      }
    }' "$1"
}

# in_use MOUNT_POINT...: what uses each, on stderr.
in_use() {
  for mp; do echo "$mp is in use by: $(holders "$mp")" >&2; done
}

# swap_installs MOUNT_POINT...: after a ready state's restore, this run's
# install images in place of those it was saved with. The drives are the
# same devices, now over other files: the units in $units (the declared
# services, in start order; names without spaces) are stopped, each image is
# unmounted (the kernel drops the device's cached blocks once no one holds
# it; --flushbufs makes sure), mounted again, and the units started, each
# waited for until ready; so is any other service that stopping them stopped.
swap_installs() {
  active=$(systemctl list-units --type=service --state=active --plain --no-legend | awk '{ print $1 }')
  # shellcheck disable=SC2086 # one word per unit
  if [ -n "$units" ] && ! systemctl stop $units; then
    echo "could not stop $units" >&2
    return 1
  fi
  for mp; do
    # /proc/mounts writes a space in a path as \040.
    dev=$(MP=$(printf '%s' "$mp" | sed 's/ /\\040/g') awk '$2 == ENVIRON["MP"] { dev = $1 } END { print dev }' /proc/mounts)
    if [ -z "$dev" ]; then
      echo "$mp: no install image is mounted there" >&2
      return 1
    fi
    if ! umount -- "$mp"; then
      in_use "$mp"
      return 1
    fi
    # Mounted elsewhere too (a bind mount): the old file system would stay.
    if awk -v dev="$dev" '$1 == dev { found = 1 } END { exit !found }' /proc/mounts; then
      echo "$mp: its image $dev is mounted elsewhere too: $(awk -v dev="$dev" '$1 == dev { printf "%s ", $2 }' /proc/mounts)" >&2
      return 1
    fi
    if ! blockdev --flushbufs "$dev" || ! mount -t erofs -o ro -- "$dev" "$mp"; then
      echo "$mp: could not mount this run's image ($dev)" >&2
      return 1
    fi
  done
  again=
  for unit in $active; do
    systemctl is-active --quiet "$unit" || again="$again $unit"
  done
  # shellcheck disable=SC2086
  [ -z "$units$again" ] || systemctl start $units $again
}
