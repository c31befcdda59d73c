# shellcheck shell=sh
# The last part of every run-<machine>-vm: lock the root disk, start QEMU as
# a child that dies with this script, stop the machine cleanly on a signal,
# and leave nothing behind. run-script.ts sets before it: prog, disk_image,
# TMPDIR, own_tmpdir (1 when this run made TMPDIR), control_dir, the
# helpers of run-vm-lib.sh and run-vm-processes.sh, check_qcow2 (rendered
# from disk/disk-rules.ts), and the functions run_qemu and check_disks.
# shellcheck disable=SC2154

# One writer per root disk: an exclusive lock on the image (a shared one with
# -snapshot, whose writes go to a throwaway overlay), taken before QEMU starts
# and held by it for as long as it runs, so a second run is refused with the
# process that holds the disk instead of a failure deep inside QEMU.
lock_mode=-x
for arg in "$@"; do
  if [ "$arg" = -snapshot ]; then lock_mode=-s; fi
done
exec 8<"$disk_image" || die "cannot open the root disk $disk_image"
if ! flock -n "$lock_mode" 8; then
  die "root disk $disk_image is in use: $(holders "$disk_image")stop that machine first (poweroff in its guest, or Ctrl-A X on its console)."
fi
# Read before QEMU opens it: a damaged or foreign image is named, with its
# repair, instead of failing inside QEMU.
check_qcow2 "$disk_image" 'root disk'

# The control channel: QEMU reads control.in and hands each line to the
# guest's stage 2 (poweroff), which reads it from its control port. This
# script keeps the FIFO open itself, so writing to it never blocks. Sockets
# and FIFOs live in a directory only this user can enter.
rm -rf -- "$control_dir"
mkdir -m 0700 -- "$control_dir"
mkfifo -m 0600 -- "$control_dir/control.in" "$control_dir/control.out"
exec 7<>"$control_dir/control.in"

# shellcheck disable=SC2317 # run by traps
cleanup() {
  if [ "$own_tmpdir" = 1 ]; then rm -rf -- "$TMPDIR"; else rm -rf -- "$control_dir"; fi
}
trap cleanup EXIT

# stop_machine STATUS: asks the guest to power off (it syncs and leaves its
# root read-only), gives it VM_STOP_TIMEOUT seconds (default 10), then kills
# QEMU (it blocks SIGTERM, see run_qemu); a second signal, two seconds or more
# later, kills it at once.
# shellcheck disable=SC2317 # run by traps
stop_machine() {
  stop_asked=$(date +%s)
  trap second_signal INT TERM HUP
  # A signal between starting QEMU and noting its pid: the last child is QEMU.
  if [ -z "$qemu_pid" ] && [ -n "$sentinel" ] && [ "${!:-}" != "$sentinel" ]; then qemu_pid=${!:-}; fi
  if [ -n "$qemu_pid" ] && alive "$qemu_pid"; then
    printf 'poweroff\n' >&7 2>/dev/null || :
    wait_for_exit "$qemu_pid" "${VM_STOP_TIMEOUT:-10}" || kill -KILL "$qemu_pid" 2>/dev/null || :
  fi
  if [ -n "$qemu_pid" ]; then wait "$qemu_pid" 2>/dev/null || :; fi
  exit "$1"
}
# One interruption often arrives twice at once: a terminal's Ctrl-C reaches
# this script and its parent, which passes it on (exec, timeout, Nx). Only a
# signal that comes later is a request to stop at once.
# shellcheck disable=SC2317 # run by traps
second_signal() {
  if [ $(($(date +%s) - stop_asked)) -ge 2 ]; then kill -KILL "$qemu_pid" 2>/dev/null || :; fi
}

# QEMU runs as a child, not in this script's place, so that the scratch
# directory is removed afterwards and signals stop the guest cleanly. It
# keeps this script's stdin (the console of `start`), and dies if this script
# dies, however it dies (run_qemu: setpriv's parent-death signal).
#
# A sentinel, for those who stop a process tree from its leaves, as Nx does
# on Ctrl-C or SIGTERM: QEMU ignores their signal (see run_qemu), this leaf
# dies of it, and the machine is stopped cleanly. It reads a FIFO whose only
# writer is QEMU, so it also ends, with status 0, when QEMU does. Every end of
# the FIFO is opened here first (5 to read, 9 to write, 6 both ways so that
# neither open blocks), so no child ever waits in an open.
qemu_pid=
sentinel=
trap 'stop_machine 129' HUP
trap 'stop_machine 130' INT
trap 'stop_machine 143' TERM
mkfifo -m 0600 -- "$control_dir/running"
# shellcheck disable=SC2094 # the FIFO's ends, on purpose
exec 6<>"$control_dir/running" 9>"$control_dir/running" 5<"$control_dir/running"
setpriv --pdeathsig KILL -- cat 0<&5 4<&- 5<&- 6<&- 7<&- 8<&- 9>&- &
sentinel=$!
exec 3<&0
# A warm restore (run-vm-warm.sh): from here on a failure is QEMU's, so the
# exec script may boot cold instead; before, the run script itself refused.
if [ "${warm_restoring:-0}" = 1 ]; then : >"$TMPDIR/warm-restoring"; fi
(
  umask 0177
  # QEMU_OPTS is split into words on purpose; globbing stays off.
  set -f
  run_qemu "$@" 0<&3 3<&- 5<&- 6<&-
) &
qemu_pid=$!
# QEMU alone holds a warm state's descriptor (run-vm-warm.sh).
exec 3<&- 4<&- 5<&- 6<&- 9>&-
sentinel_status=0
# (2>/dev/null: the shell would print the signal that ended it.)
wait "$sentinel" 2>/dev/null || sentinel_status=$?
# Not 0: a signal meant for this machine ended the sentinel.
if [ "$sentinel_status" -ne 0 ]; then stop_machine 143; fi
status=0
wait "$qemu_pid" || status=$?
check_disks
exit "$status"
