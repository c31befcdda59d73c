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
#   timeout_status, boot_failure_status: this script's own exit statuses
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
if [ -n "${TMPDIR:-}" ] && [ -n "${USE_TMPDIR:-}" ]; then
  work=$TMPDIR
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/nx-qemu-vm-exec.XXXXXXXXXX")
  trap 'rm -rf -- "$work"' EXIT
fi
trap 'exit 130' INT TERM
mkdir -p -- "$work/xchg/.nx-qemu-vm"
rm -f -- "$work/xchg/.nx-qemu-vm/status"
printf '%s\n' "$*" >"$work/xchg/.nx-qemu-vm/command"
log=$work/console.log
log_q=$(printf '%s\n' "$log" | sed 's/,/,,/g')

set +e
TMPDIR=$work USE_TMPDIR=1 QEMU_KERNEL_PARAMS="${QEMU_KERNEL_PARAMS:-} console=$serial_console nxvm.exec panic=-1" \
  timeout --kill-after=5 "$timeout_s" "$script_dir/$run_script" \
  -no-reboot -display none -monitor none -serial "file:$log_q" -fw_cfg "name=$fw_cfg_mode,string=exec" \
  -device virtio-serial-pci,id=nxexec-bus -chardev stdio,id=nxexec,signal=off \
  -device virtconsole,chardev=nxexec,bus=nxexec-bus.0 </dev/null
qemu_status=$?
set -e
{ mkdir -p -- "$state_dir" && cp -- "$log" "$state_dir/last-exec-console.log"; } 2>/dev/null || true

status_file=$work/xchg/.nx-qemu-vm/status
if [ -s "$status_file" ]; then
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
