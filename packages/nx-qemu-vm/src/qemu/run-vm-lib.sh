# shellcheck shell=sh
# Helpers of every run-<machine>-vm script, which run-script.ts inlines after
# the script's header (prog is its name).
# shellcheck disable=SC2154
die() {
  printf '%s: %s\n' "$prog" "$*" >&2
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found. Install it: apt-get install $2"; }
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
# create_disk IMAGE SIZE_MIB STAMP: a new disk gets a stamp of the options it
# was made for (see the root-disk target); a run that lost the race to create
# it leaves the winner's stamp.
create_disk() {
  mkdir -p -- "$(dirname -- "$1")"
  qemu-img create -q -f qcow2 -- "$1.tmp.$$" "$2M" || die "qemu-img could not create $1"
  if publish_new "$1.tmp.$$" "$1"; then printf '%s\n' "$3" >"$1.layout.json"; fi
}
