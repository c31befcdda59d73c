# shellcheck shell=sh
# exec-<machine>-vm: boots the QEMU virtual machine once through its run
# script, runs one shell command as root in the guest, powers off, and exits
# with the command's status. The command's output arrives on a virtio console
# wired to stdout, apart from the kernel's console, which goes to a log shown
# only on failure.
#
# exec-script.ts puts a header of quoted values before this file:
#   prog, run_script     this script's name and the run script's, beside it
#   state_dir_rel        the machine's state directory, from the workspace root
#   serial_console       the kernel's name of the serial console
#   fw_cfg_mode          QEMU's fw_cfg item that tells stage 2 to run the command
#   serial_bus           the machine's virtio-serial bus, for the command's console
#   timeout_status, boot_failure_status: this script's own exit statuses
#   exec_subdir          the directory of the xchg share where host and guest
#                        exchange the command, its status and a service failure
#   exec_command, exec_status, exec_service_failure: those files' names
#   exec_flag            the kernel parameter that makes a direct boot an exec
#   warm_available       1 when the machine has warmStart (a warm target)
# shellcheck disable=SC2154
set -eu
if [ $# -eq 0 ]; then
  printf 'usage: %s COMMAND\n' "$prog" >&2
  exit 2
fi
script_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)
ws=${VM_WORKSPACE_ROOT:-$(CDPATH='' cd -- "$script_dir/../../../.." && pwd -P)}
state_dir=$ws/$state_dir_rel
timeout_s=${VM_EXEC_TIMEOUT:-600}

# A fresh scratch directory per run, removed afterwards; with USE_TMPDIR the
# caller's $TMPDIR is used and kept, so xchg can be inspected.
own_work=0
boot_mode='exec0'
if [ -n "${TMPDIR:-}" ] && [ -n "${USE_TMPDIR:-}" ]; then
  work=$TMPDIR
  # The caller can reach the guest agent's socket in $TMPDIR/control.
  boot_mode='exec1'
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/nx-qemu-vm-exec.XXXXXXXXXX")
  own_work=1
fi
child=
log=$work/console.log
# The console log of the last run stays in the state directory, however the run ended.
keep_log() {
  { mkdir -p -- "$state_dir" && cp -- "$log" "$state_dir/last-exec-console.log"; } 2>/dev/null || true
}
# shellcheck disable=SC2317 # run by traps
cleanup() {
  if [ "$own_work" = 1 ]; then rm -rf -- "$work"; fi
}
# A signal stops the machine cleanly (the run script powers the guest off),
# then this script leaves with the usual status for that signal.
# shellcheck disable=SC2317 # run by traps
on_signal() {
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null || :
    wait "$child" 2>/dev/null || :
  fi
  keep_log
  exit "$1"
}
trap cleanup EXIT
# A closed stdout (the terminal or Nx gone) must not end this script before
# the machine has stopped: writes there fail instead.
trap '' PIPE
trap 'on_signal 129' HUP
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
exchange=$work/xchg/$exec_subdir
mkdir -p -- "$exchange"
rm -f -- "$exchange/$exec_status"
printf '%s\n' "$*" >"$exchange/$exec_command"
log_q=$(printf '%s\n' "$log" | sed 's/,/,,/g')

# Warm starts (warmStart): the state the warm target saved, restored instead
# of a cold boot unless VM_WARM_START=0. VM_WARM_SAVE=FILE (the warm target)
# boots to the point where stage 1 waits to be saved, for the target to save.
warm_state=$script_dir/../warm/state
warm=
if [ -n "${VM_WARM_SAVE:-}" ]; then
  warm=save
  warm_file=$VM_WARM_SAVE
  # The guest reads its mode after a restore; the value's size must not change.
  boot_mode='exec0'
elif [ "$warm_available" = 1 ] && [ "${VM_WARM_START:-1}" != 0 ] && [ -f "$warm_state" ]; then
  warm=restore
  warm_file=$warm_state
fi

# timeout stops the run script (which powers the guest off) after
# VM_EXEC_TIMEOUT seconds, and kills it if that takes more than a minute;
# setpriv makes it stop the machine too if this script or timeout dies.
# VM_NO_SCREEN=1: no one sees the display here, so a machine with one boots
# through PVH too (faster; the warm state's key says which way it booted).
run_machine() {
  : >"$log"
  rm -f -- "$work/warm-restoring"
  TMPDIR=$work USE_TMPDIR=1 QEMU_KERNEL_PARAMS="${QEMU_KERNEL_PARAMS:-} console=$serial_console $exec_flag panic=-1" \
    VM_WARM=$warm VM_WARM_FILE=${warm_file:-} VM_NO_SCREEN=1 \
    setpriv --pdeathsig TERM -- timeout --kill-after=60 "$timeout_s" \
    setpriv --pdeathsig TERM -- "$script_dir/$run_script" \
    -no-reboot -display none -monitor none -serial "file:$log_q" -fw_cfg "name=$fw_cfg_mode,string=$boot_mode" \
    -chardev stdio,id=nxexec,signal=off -device "virtconsole,chardev=nxexec,bus=$serial_bus.0" </dev/null &
  child=$!
  qemu_status=0
  wait "$child" || qemu_status=$?
  child=
}
run_machine
# A state that did not restore: QEMU started restoring (the run script's
# marker; a stale state boots cold at once, and a refusal of the run script
# comes before) and stopped before the guest printed anything, so nothing of
# this run was touched. Once more, cold.
if [ "$warm" = restore ] && [ -e "$work/warm-restoring" ] && [ "$qemu_status" -ne 0 ] &&
  [ "$qemu_status" -ne 124 ] && [ ! -s "$log" ]; then
  printf '%s: the warm state %s did not restore (QEMU exit status %s); booting cold.\n' "$prog" "$warm_state" "$qemu_status" >&2
  warm=
  run_machine
fi
rm -f -- "$work/warm-restoring"
if [ "$warm" = save ]; then
  # A save is a build step: it leaves the machine's state directory alone.
  # The warm target saved the machine and told QEMU to quit; it checks the file.
  [ "$qemu_status" -eq 0 ] && exit 0
  printf '%s: no warm state was saved (QEMU exit status %s).\n' "$prog" "$qemu_status" >&2
  printf 'Last console lines:\n' >&2
  tail -n 25 "$log" 2>/dev/null | sed 's/^/  | /' >&2 || true
  exit "$boot_failure_status"
fi
keep_log

status_file=$exchange/$exec_status
# A command that timed out was stopped with the machine: 124 says so, whatever it returned.
if [ "$qemu_status" -ne 124 ] && [ -s "$status_file" ]; then
  # A declared service failed to start: the command never ran; stage 2 says why.
  if [ -s "$exchange/$exec_service_failure" ]; then
    printf '%s: the command did not run: a service of the machine failed to start.\n' "$prog" >&2
    cat "$exchange/$exec_service_failure" >&2
  fi
  exit "$(cat "$status_file")"
fi
if [ "$qemu_status" -eq 124 ]; then
  printf '%s: no result after %s s (VM_EXEC_TIMEOUT); the machine was stopped.\n' "$prog" "$timeout_s" >&2
  code=$timeout_status
else
  printf '%s: the guest stopped before the command finished (QEMU exit status %s).\n' "$prog" "$qemu_status" >&2
  code=$boot_failure_status
fi
printf 'Last console lines (full log: %s):\n' "$state_dir/last-exec-console.log" >&2
tail -n 25 "$log" 2>/dev/null | sed 's/^/  | /' >&2 || true
exit "$code"
