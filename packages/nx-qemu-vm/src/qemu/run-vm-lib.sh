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
