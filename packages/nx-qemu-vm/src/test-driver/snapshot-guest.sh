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

# discard MOUNT_POINT...: before a restore, which throws this state away:
# what holds each share is killed, then it is unmounted, lazily as the last
# resort.
discard() {
  for mp; do
    tries=0
    until umount -- "$mp" 2>/dev/null; do
      tries=$((tries + 1))
      if [ $tries -gt 20 ]; then
        umount -l -- "$mp"
        break
      fi
      for p in $(holders "$mp" | sed 's/ ([^)]*)//g'); do kill -KILL "$p" 2>/dev/null || :; done
      sleep 0.1
    done
  done
}
