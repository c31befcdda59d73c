# shellcheck shell=sh
# Helpers of every run-<machine>-vm script, which run-script.ts inlines after
# the script's header (prog is its name).
# shellcheck disable=SC2154
die() {
  printf '%s: %s\n' "$prog" "$*" >&2
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found. Install it: apt-get install $2"; }
# has_arg WORD ARGS...: true when WORD is one of ARGS.
has_arg() {
  want=$1
  shift
  for arg in "$@"; do [ "$arg" = "$want" ] && return 0; done
  return 1
}
# check_vlan_net A.B.C: the first three numbers of a multicast group (224 to 239).
check_vlan_net() {
  case $1 in
    *[!0-9.]* | *.*.*.* | *..* | .* | *.) ;;
    22[4-9].*.* | 23[0-9].*.*) return 0 ;;
  esac
  die "VM_VLAN_NET must be the first three numbers of a multicast group, e.g. 230.1.2, not '$1'"
}
abs_path() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }
qemu_escape() { printf '%s\n' "$1" | sed 's/,/,,/g'; }
# Publishes a finished file with a hard link, which fails when the name exists:
# a user's image is never replaced, not even by a concurrent run. Returns 1
# when the name was taken already.
publish_new() {
  if ln -- "$1" "$2" 2>/dev/null; then
    rm -f -- "$1"
    return 0
  fi
  rm -f -- "$1"
  [ -e "$2" ] || die "cannot create $2"
  return 1
}
# shown PATH: as messages name it, from the workspace root when it is inside.
shown() { case $1 in "$ws"/*) printf '%s\n' "${1#"$ws"/}" ;; *) printf '%s\n' "$1" ;; esac; }
# create_disk IMAGE SIZE_MIB STAMP LABEL: a new disk gets a stamp of the
# options it was made for (see the root-disk target); a run that lost the
# race to create it leaves the winner's stamp.
create_disk() {
  mkdir -p -- "$(dirname -- "$1")"
  qemu-img create -q -f qcow2 -- "$1.tmp-$$" "$2M" || die "qemu-img could not create $1"
  if publish_new "$1.tmp-$$" "$1"; then
    printf '%s\n' "$3" >"$1.layout.json"
    printf '%s: created %s %s (%s MiB qcow2)\n' "$prog" "$4" "$(shown "$1")" "$2" >&2
  fi
}
# check_qcow2 IMAGE LABEL: refuses an image that is not qcow2, or damaged,
# naming the repair (qemu-img check reads it, and never writes).
check_qcow2() {
  magic=$(od -An -N4 -tx1 "$1" 2>/dev/null | tr -d ' \n')
  [ "$magic" = 514649fb ] ||
    die "$2 $(shown "$1") is not a qcow2 image (its first bytes say otherwise); it was left as it is. Move it away to start afresh, or convert it: qemu-img convert -O qcow2 $1 <new image>."
  check_status=0
  check_log=$(qemu-img check -f qcow2 "$1" 2>&1) || check_status=$?
  case $check_status in
    # 3: leaked clusters only, which waste space and harm nothing.
    0 | 3) ;;
    2) die "$2 $(shown "$1") is damaged: qemu-img check finds corruptions (truncated, or written by something other than QEMU). It was left as it is. Keep a copy, then repair it with: qemu-img check -r all $1; or move it away to start afresh." ;;
    *) die "$2 $(shown "$1") cannot be read as a qcow2 image: $(printf '%s\n' "$check_log" | head -n 1)" ;;
  esac
}
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
