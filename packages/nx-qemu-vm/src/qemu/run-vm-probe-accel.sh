# shellcheck shell=sh
# probe_accel BINARY MACHINE CPU KERNEL: prints kvm or tcg. /dev/kvm can exist
# and still hang, or reject the CPU model, so KVM is used only after it has
# really run this kernel to a panic; the answer is kept until the host reboots.
probe_accel() {
  if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    echo tcg
    return
  fi
  set -- "$1" -machine "$2" -accel kvm -cpu "$3" -m 256 -nodefaults -display none -no-reboot \
    -kernel "$4" -append 'panic=-1 root=/dev/nx-qemu-vm-probe'
  key="$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown) $*"
  cache_dir=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/nx-qemu-vm
  cache=$cache_dir/accel-$(printf '%s' "$key" | cksum | cut -d' ' -f1)
  if [ -r "$cache" ] && [ "$(sed -n 1p "$cache")" = "$key" ]; then
    sed -n 2p "$cache"
    return
  fi
  result=tcg
  if timeout "${VM_ACCEL_PROBE_TIMEOUT:-5}" "$@" </dev/null >/dev/null 2>&1; then result=kvm; fi
  { mkdir -p "$cache_dir" && printf '%s\n%s\n' "$key" "$result" >"$cache.$$" && mv -f "$cache.$$" "$cache"; } 2>/dev/null || true
  echo "$result"
}
