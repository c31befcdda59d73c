# shellcheck shell=sh
# shellcheck disable=SC2154
# The processes that have a file open, this script and its children aside,
# for messages: "pid N (program); ...", a script named rather than its shell.
holders() {
  # shellcheck disable=SC2012 # ls is the one process that lists every fd's target
  ls -l /proc/[0-9]*/fd 2>/dev/null | awk -v file="$1" '
    /^\/proc\/[0-9]+\/fd:$/ { split($0, part, "/"); pid = part[3]; next }
    { at = index($0, " -> "); if (at && substr($0, at + 4) == file) print pid }' |
    sort -un | while read -r pid; do
    own_process "$pid" && continue
    program=$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" |
      awk 'NR == 1 { name = $0 } NR == 2 && name ~ /(^|\/)(ba|da)?sh$/ { name = $0 } END { print name }')
    [ -n "$program" ] && printf 'pid %s (%s); ' "$pid" "${program##*/}"
  done
}
# own_process PID: true for this script and the processes it started, which
# inherit its open files.
own_process() {
  ancestor=$1
  while [ -n "$ancestor" ] && [ "$ancestor" -gt 1 ]; do
    [ "$ancestor" = "$$" ] && return 0
    ancestor=$(awk '/^PPid:/ { print $2 }' "/proc/$ancestor/status" 2>/dev/null)
  done
  return 1
}
# alive PID: true while the process runs (a zombie waiting for us does not count).
alive() { [ -r "/proc/$1/stat" ] && ! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null; }
# wait_for_exit PID SECONDS: true when the process ended within that time.
wait_for_exit() {
  tenths=$(($2 * 10))
  while alive "$1"; do
    [ "$tenths" -gt 0 ] || return 1
    sleep 0.1
    tenths=$((tenths - 1))
  done
}
# check_space IMAGE: after the run, says so when the file system that holds a
# disk the guest writes to is full: the guest got I/O errors (werror=report).
check_space() {
  free_kib=$(df -Pk -- "$(dirname -- "$1")" 2>/dev/null | awk 'NR == 2 { print $4 }')
  if [ -n "$free_kib" ] && [ "$free_kib" -lt 1024 ]; then
    printf '%s: the file system holding %s is full (%s KiB free): the guest saw I/O errors on that disk. Free some space; the next boot checks and repairs its root file system.\n' \
      "$prog" "$1" "$free_kib" >&2
  fi
}
