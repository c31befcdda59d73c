# shellcheck shell=sh
# Stage 2 of an nx-qemu-vm guest, its default init: a minimal system on top of
# the store. It runs as PID 1 from the run directory, with busybox as its
# toolbox, and ends in a root shell or, for `exec`, in one command and a
# power-off. With "init": "systemd" it runs as a service of the image's
# systemd instead (guest/nx-qemu-vm.service), which owns mounts and power.
#
# stage2.ts puts a header of quoted values before this file:
#   run_dir          where stage 1 put this script and busybox
#   host_name (stage 1 writes /etc/hosts)
#   seed_passwd, seed_group  the first boot's /etc/passwd and /etc/group
#   guest_ip, gateway, dns: the user network's addresses
#   vlan_nics        one dev:address:vlan word per vlan NIC, e.g. eth1:192.168.1.3:1
#   guest_agent      1 to start qemu-ga on the port named guest_agent_port
#   post_boot_commands   run by /bin/sh before the shell or the command
#   stage2_reached, root_shell_banner: lines the host waits for on the console
#   exec_dir         where xchg holds the command and gets its status
#   exec_command, exec_status, exec_service_failure: the files there
#   exec_flag        the kernel parameter of an exec boot
#   fw_cfg_mode      QEMU's fw_cfg item that marks an exec boot
#   control_port     the virtio port on which the host asks for a power-off
#   agent_port       the virtio port of the test API's agent (run_dir/agent)
#   under_systemd    1 when systemd is PID 1 and this script its service
#   shell_tty        the terminal of the root shell, or empty for the console
#   service_failed_status  an exec's status when a service failed to start
# and the function mount_late, which mounts the file systems stage 1 left.
# shellcheck disable=SC2154

bb=$run_dir/busybox
# The console is a getty's terminal (`gettys`): what stage 2 says goes to the
# serial port, with its root shell, rather than over the login prompt.
if [ -n "$shell_tty" ]; then exec >"$shell_tty" 2>&1; fi
# Busybox's ip: the store need not have iproute2. Each failure is reported
# and the others still tried; the status says whether any failed.
setup_network() {
  net_status=0
  $bb ip link set lo up
  # The user network's NIC is eth0 when it exists; the vlan NICs follow in order.
  if [ -e /sys/class/net/eth0 ]; then
    if ! { $bb ip addr add "$guest_ip/24" dev eth0 && $bb ip link set eth0 up && $bb ip route add default via "$gateway"; }; then
      echo "stage 2: warning: eth0 setup failed"
      net_status=1
    fi
  fi
  for nic in $vlan_nics; do
    dev=${nic%%:*}
    rest=${nic#*:}
    address=${rest%%:*}
    vlan=${rest#*:}
    # The vlan transport echoes a VM's own frames back to it, which IPv6 would take for a duplicate address.
    echo 0 >"/proc/sys/net/ipv6/conf/$dev/accept_dad" 2>/dev/null
    if ! { $bb ip addr add "$address/24" dev "$dev" && $bb ip link set "$dev" up; }; then
      echo "stage 2: warning: $dev (vlan $vlan) setup failed"
      net_status=1
    fi
  done
  return $net_status
}
# Under systemd the network is a unit of its own (nx-qemu-vm-network.service,
# `init network`), ordered before network.target and network-online.target.
# (As PID 1, the arguments are the kernel's leftover words: never this one.)
if [ "$under_systemd" = 1 ] && [ "${1:-}" = network ]; then
  setup_network
  exit
fi
$bb mkdir -p "$run_dir/bin" "$run_dir/sbin"
# Busybox fills in, last on PATH, what the store lacks.
$bb --install -s "$run_dir/bin"
# As PID 1, this script is not a real init: power-off and reboot act directly.
# Like an init, they first stop every other process, then write everything out
# and leave the root read-only, so the next boot finds a clean file system.
# Under systemd they are systemd's.
power() {
  if [ "$under_systemd" = 1 ]; then
    systemctl --no-block "$1"
    exit 0
  fi
  exec "$run_dir/sbin/$1"
}
[ "$under_systemd" = 1 ] || for cmd in poweroff reboot halt; do
  flag=$cmd
  [ $cmd = halt ] && flag=poweroff
  {
    printf '#!%s sh\n' "$bb"
    # The shell's own kill: kill -1 spares its caller, and the caller must be this script.
    printf 'trap "" HUP TERM\n'
    # Processes get up to 0.2 s to end after TERM, but no longer than they take:
    # a user process has an exe link, a kernel thread or a zombie has none.
    # shellcheck disable=SC2016 # expanded by the power-off script
    printf 'others() { for p in /proc/[0-9]*; do p=${p#/proc/}; [ "$p" = 1 ] || [ "$p" = $$ ] || [ ! -e "/proc/$p/exe" ] || return 0; done; return 1; }\n'
    # shellcheck disable=SC2016 # expanded by the power-off script
    printf 'kill -TERM -1 2>/dev/null; n=0; while [ $n -lt 20 ] && others; do %s sleep 0.01; n=$((n + 1)); done; kill -KILL -1 2>/dev/null\n' "$bb"
    printf 'sync\n%s mount -o remount,ro / 2>/dev/null\nexec %s %s -f\n' "$bb" "$bb" "$flag"
  } >"$run_dir/sbin/$cmd"
  $bb chmod 0755 "$run_dir/sbin/$cmd"
done
export PATH="$run_dir/sbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$run_dir/bin"
export HOME=/root TERM="${TERM:-linux}"
umask 022
cd /root || cd /
if [ "$under_systemd" != 1 ]; then
  $bb mkdir -p /dev/pts /dev/shm
  $bb mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
  $bb mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
fi
mount_fs() {
  $bb mkdir -p "$2" && $bb mount -t "$3" -o "$4" "$1" "$2" || echo "stage 2: warning: cannot mount $1 on $2"
}
mount_late
$bb hostname "$host_name"

[ "$under_systemd" = 1 ] || setup_network

# /etc is seeded on first boot only; afterwards it belongs to the guest. (A
# Debian image's /etc has users, but no name or resolver: they are this machine's.)
if [ ! -e /etc/passwd ]; then
  printf '%s' "$seed_passwd" >/etc/passwd
  printf '%s' "$seed_group" >/etc/group
fi
[ -e /etc/hostname ] || printf '%s\n' "$host_name" >/etc/hostname
[ -e /etc/resolv.conf ] || printf 'nameserver %s\n' "$dns" >/etc/resolv.conf

# Name the virtio ports as udev would, for the guest agent and for users.
$bb mkdir -p /dev/virtio-ports
for port in /sys/class/virtio-ports/*; do
  [ -e "$port/name" ] && $bb ln -sf "../$($bb basename "$port")" "/dev/virtio-ports/$($bb cat "$port/name")"
done
# An exec boot runs one command and powers off. Its mode says whether anyone
# can reach the guest agent: exec1 when the caller keeps the run's directory
# (USE_TMPDIR), where the agent's socket is, exec0 otherwise.
mode=$($bb cat "/sys/firmware/qemu_fw_cfg/by_name/$fw_cfg_mode/raw" 2>/dev/null)
exec_boot=0
if $bb grep -qw "$exec_flag" /proc/cmdline || [ "${mode%[01]}" = exec ]; then
  exec_boot=1
fi
# qemu-ga starts beside the boot, not before it goes on: waiting for it to
# daemonize cost half a second under TCG. An exec boot whose agent no one
# can reach does not start it: on one vCPU it would take that half second from
# the command. It reports its own failures. Under the test API it starts
# after the test agent, which the host waits for.
start_qemu_ga() {
  if [ "$guest_agent" = 1 ] && { [ "$exec_boot" = 0 ] || [ "$mode" = exec1 ]; } && [ -x /usr/sbin/qemu-ga ] && [ -e "/dev/virtio-ports/$guest_agent_port" ]; then
    /usr/sbin/qemu-ga --pidfile=/run/qemu-ga.pid --statedir=/run -m virtio-serial -p "/dev/virtio-ports/$guest_agent_port" </dev/null &
  fi
}
[ -e "/dev/virtio-ports/$agent_port" ] || start_qemu_ga
# The host's requests arrive one line each on the control port: the run script
# asks for a clean power-off when it is interrupted.
if [ -e "/dev/virtio-ports/$control_port" ]; then
  (
    while read -r request; do
      case $request in
        poweroff | reboot) power "$request" ;;
      esac
    done <"/dev/virtio-ports/$control_port"
  ) &
fi
if [ -n "$post_boot_commands" ]; then
  /bin/sh -c "$post_boot_commands" || echo "stage 2: warning: postBootCommands exited with status $?"
fi
# The declared services, in order, each waited for until it is ready. One
# that fails prints a report (the host watches for it) and the boot goes on
# without it: an exec boot does not run its command but returns the report.
services_failed=0
if [ -x "$run_dir/services" ]; then
  "$run_dir/services" start-all || services_failed=1
fi
# The command channel of nx-qemu-vm/testing, when the host added its port: the
# machine is ready for tests once postBootCommands are done.
# A failed service leaves the agent off: the host reads stage 2's report instead.
if [ -e "/dev/virtio-ports/$agent_port" ] && [ "$services_failed" = 0 ]; then
  if [ -x /usr/bin/perl ]; then
    NXVM_AGENT_READY=$run_dir/agent-ready /usr/bin/perl "$run_dir/agent" "/dev/virtio-ports/$agent_port" </dev/null &
    # The host waits for the agent: qemu-ga and the login shell start once it
    # is up (or after 5 s), as under TCG they took its CPU for most of a second.
    tries=0
    while [ ! -e "$run_dir/agent-ready" ] && [ $tries -lt 250 ]; do
      $bb sleep 0.02
      tries=$((tries + 1))
    done
  else
    echo "stage 2: warning: no /usr/bin/perl, which the test agent needs (Debian package perl-base)"
  fi
  start_qemu_ga
fi
echo "$stage2_reached"

if [ "$exec_boot" = 1 ] && [ "$services_failed" = 1 ]; then
  $bb cp "$run_dir/report.txt" "$exec_dir/$exec_service_failure"
  echo "$service_failed_status" >"$exec_dir/$exec_status.tmp" && $bb mv "$exec_dir/$exec_status.tmp" "$exec_dir/$exec_status"
elif [ "$exec_boot" = 1 ]; then
  # One command, output on the first virtio console, status through xchg.
  /bin/sh "$exec_dir/$exec_command" </dev/null >/dev/hvc0 2>&1
  status=$?
  echo "$status" >"$exec_dir/$exec_status.tmp" && $bb mv "$exec_dir/$exec_status.tmp" "$exec_dir/$exec_status"
else
  echo "$root_shell_banner $host_name. Leave with 'poweroff' (or Ctrl-A X on a serial console)."
  shell=/bin/sh
  [ -x /bin/bash ] && shell=/bin/bash
  # poweroff kills this shell, and busybox sh would say so ("Killed") as the
  # machine goes down: while it waits, its own stderr is /dev/null, and the
  # shell gets the console back as its stderr (fd 9).
  if [ -n "$shell_tty" ]; then
    # Opened after setsid, the terminal becomes the shell's controlling one.
    # shellcheck disable=SC2016 # expanded by the wrapper
    "$bb" setsid "$bb" sh -c 'exec "$1" -l <>"$2" >&0 2>&0' sh "$shell" "$shell_tty" 2>/dev/null
  else
    # shellcheck disable=SC2016 # expanded by the wrapper
    $bb sh -c 'exec 2>&9 9>&-; exec "$@"' sh "$bb" setsid "$bb" cttyhack "$shell" -l 9>&2 2>/dev/null
  fi
fi
power poweroff
