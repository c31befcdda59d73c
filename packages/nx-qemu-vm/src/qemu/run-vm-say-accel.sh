# shellcheck shell=sh
# run-script.ts sets prog and accel_mark before this; cache is the probe's.
# shellcheck disable=SC2154
# say_accel ACCEL WHY: the one line on stderr that says which accelerator this
# run uses and, when it is TCG on a host with /dev/kvm, why and what to do.
# WHY is the probe's word, or where a fixed choice came from. The test API
# finds the line by its start, "$prog: $accel_mark" (accel-line.ts).
say_accel() {
  case $2 in
    works) why='' ;;
    foreign) why="KVM runs guests of this host's own architecture ($(uname -m)) only" ;;
    no-device) why='this host has no /dev/kvm (no hardware virtualisation, or the kvm module is not loaded)' ;;
    no-access)
      who=$(id -un 2>/dev/null || id -u)
      why="/dev/kvm is not readable and writable by $who; add the account to the kvm group (sudo usermod -aG kvm $who) and log in again"
      ;;
    broken) why="/dev/kvm is there, but KVM did not boot this machine's kernel within ${VM_ACCEL_PROBE_TIMEOUT:-5} s (nested virtualisation that hangs, or a CPU model KVM refuses); this answer is kept until the host reboots, in ${cache:-the cache}" ;;
    *) why=$2 ;;
  esac
  case $1 in
    kvm) name=KVM ;;
    tcg) name='TCG (software emulation, many times slower than KVM)' ;;
    *) name=$1 ;;
  esac
  if [ -n "$why" ]; then
    printf '%s: %s%s: %s\n' "$prog" "$accel_mark" "$name" "$why" >&2
  else
    printf '%s: %s%s\n' "$prog" "$accel_mark" "$name" >&2
  fi
}
