# shellcheck shell=sh
# probe_accel HOSTS BINARY MACHINE CPU KERNEL: sets accel (kvm or tcg) and
# accel_why (works, foreign, no-device, no-access or broken). /dev/kvm can exist and
# still hang, or reject the CPU model, so KVM is used only after it has
# really run this kernel to a panic; that answer is kept until the host
# reboots, in $cache. Whether the device is there and usable is looked at
# every time: it changes with a group membership, and costs nothing.
probe_accel() {
  accel=tcg
  # HOSTS: the `uname -m` of hosts whose KVM runs this machine's architecture.
  case " $1 " in
    *" $(uname -m) "*) shift ;;
    *)
      accel_why=foreign
      return
      ;;
  esac
  if [ ! -e /dev/kvm ]; then
    accel_why=no-device
    return
  fi
  if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    accel_why=no-access
    return
  fi
  set -- "$1" -machine "$2" -accel kvm -cpu "$3" -m 256 -nodefaults -display none -no-reboot \
    -kernel "$4" -append 'panic=-1 root=/dev/nx-qemu-vm-probe'
  key="$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown) $*"
  cache_dir=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/nx-qemu-vm
  cache=$cache_dir/accel-$(printf '%s' "$key" | cksum | cut -d' ' -f1)
  if [ -r "$cache" ] && [ "$(sed -n 1p "$cache")" = "$key" ]; then
    accel=$(sed -n 2p "$cache")
    accel_why=$(sed -n 3p "$cache")
    return
  fi
  accel_why=broken
  if timeout "${VM_ACCEL_PROBE_TIMEOUT:-5}" "$@" </dev/null >/dev/null 2>&1; then
    accel=kvm
    accel_why=works
  fi
  { mkdir -p "$cache_dir" && printf '%s\n%s\n%s\n' "$key" "$accel" "$accel_why" >"$cache.$$" && mv -f "$cache.$$" "$cache"; } 2>/dev/null || true
}
