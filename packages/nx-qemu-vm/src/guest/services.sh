# shellcheck shell=sh
# The machine's declared services (the `services` option), in the guest. One
# program with one verb per job, so that stage 2's supervisor and systemd's
# units start, check and report a service the same way:
#
#   services run NAME        become the service: its directory, environment
#                            and account, then its command (sh -c)
#   services wait NAME       wait until the service is ready (systemd's ExecStartPost)
#   services supervise NAME  stage 2 as PID 1: start it, wait until it is ready,
#                            restart it by its policy; state in $state_dir/NAME
#   services start-all       stage 2: start every service in order and wait for
#                            each; a failure prints a report and exits 1
#   services status NAME     one word: starting, ready, failed or exited
#   services log NAME        the last lines of its log
#
# services.ts puts a header of quoted values before this file:
#   run_dir, state_dir, under_systemd, failed_marker, report_end,
#   report_to_kmsg   1 when the console is a display, not the serial port
#   service_names    the services in start order
#   service_vars     a function that sets command, directory, user, env_lines,
#                    ready_kind (port|file|command|none), ready_arg,
#                    ready_timeout, restart and unit for the service named $1
# shellcheck disable=SC2154

bb=$run_dir/busybox
self=$run_dir/services

# The shell's program that runs $NXVM_COMMAND and drops it first.
# shellcheck disable=SC2016 # expanded by that shell
run_command='eval "unset NXVM_COMMAND; $NXVM_COMMAND"'

# ready: true when the service counts as ready (one try).
ready() {
  case $ready_kind in
    none) ;;
    file) [ -e "$ready_arg" ] ;;
    port)
      # A listening TCP socket (state 0A) on the port, over IPv4 or IPv6.
      hex=$(printf '%04X' "$ready_arg")
      # shellcheck disable=SC2016 # awk's fields
      $bb cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        $bb awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }'
      ;;
    command)
      # The command reaches its shell in the environment, as the test agent's
      # do: in an argument, `pgrep -f` in it would find its own shell.
      if [ "$(id -u)" = 0 ] && [ "$user" != root ]; then
        NXVM_COMMAND=$ready_arg as_user /bin/sh -c "$run_command" >/dev/null 2>&1 </dev/null
      else
        NXVM_COMMAND=$ready_arg /bin/sh -c "$run_command" >/dev/null 2>&1 </dev/null
      fi
      ;;
  esac
}

# as_user CMD...: runs CMD as the service's account (from root).
as_user() {
  # shellcheck disable=SC2016 # awk's fields
  gid=$($bb awk -F: -v u="$user" '$1 == u { print $4 }' /etc/passwd)
  [ -n "$gid" ] || {
    echo "services: the account $user is not in /etc/passwd" >&2
    return 126
  }
  # util-linux's, by its path: this busybox runs its own applets first, and
  # its setpriv cannot change users.
  for setpriv in /usr/bin/setpriv /bin/setpriv ''; do [ -x "$setpriv" ] && break; done
  [ -n "$setpriv" ] || {
    echo "services: setpriv (Debian package util-linux) is missing; it runs a service as $user" >&2
    return 126
  }
  "$setpriv" --reuid="$user" --regid="$gid" --init-groups -- "$@"
}

what_is_ready() {
  case $ready_kind in
    none) echo 'started' ;;
    port) echo "listening on TCP port $ready_arg" ;;
    file) echo "$ready_arg exists" ;;
    command) echo "'$ready_arg' succeeded" ;;
  esac
}

log_tail() {
  if [ "$under_systemd" = 1 ]; then
    journalctl --no-pager -o cat -n 20 -u "$unit" 2>&1
  else
    $bb tail -n 20 "/var/log/$1.log" 2>&1
  fi
}

# report NAME WHY: the lines the host looks for, then the service's log.
report() {
  {
    echo "$failed_marker $1: $2"
    if [ "$under_systemd" = 1 ]; then
      echo "last lines of journalctl -u $unit:"
    else
      echo "last lines of /var/log/$1.log:"
    fi
    log_tail "$1" | $bb sed 's/^/  | /'
    echo "$report_end"
  } >"$run_dir/report.txt" 2>&1
  $bb cat "$run_dir/report.txt" >/dev/console
  # A machine with a display: the host watches the serial port, which the
  # kernel log reaches and /dev/console does not.
  if [ "$report_to_kmsg" = 1 ]; then
    # One write per line: the kernel reads a level only at the start of a write.
    while IFS= read -r line; do
      printf '<3>%s\n' "$line" >/dev/kmsg
    done <"$run_dir/report.txt" 2>/dev/null
  fi
}

verb=${1:-}
name=${2:-}
if [ "$verb" != start-all ]; then
  service_vars "$name" || {
    echo "services: no service named $name; services: $service_names" >&2
    exit 2
  }
fi
case $verb in
  run)
    cd "$directory" || exit 200
    # The account's home, as a login gives it (under systemd too, where the
    # unit's User= already switched accounts); the environment may override it.
    # shellcheck disable=SC2016 # awk's fields
    HOME=$($bb awk -F: -v u="$user" '$1 == u { print $6 }' /etc/passwd)
    export HOME="${HOME:-/}"
    eval "$env_lines"
    if [ "$(id -u)" = 0 ] && [ "$user" != root ]; then
      as_user /bin/sh -c "$command"
      exit $?
    fi
    exec /bin/sh -c "$command"
    ;;
  wait)
    while ! ready; do $bb sleep 0.2; done
    ;;
  supervise)
    $bb mkdir -p "$state_dir" /var/log
    state=$state_dir/$name
    log=/var/log/$name.log
    echo starting >"$state"
    waited=0
    while :; do
      # A session of its own, so that a timeout stops the whole command.
      $bb setsid "$self" run "$name" </dev/null >>"$log" 2>&1 &
      pid=$!
      while [ "$(cat "$state")" = starting ]; do
        if ready; then
          echo ready >"$state"
        elif ! kill -0 "$pid" 2>/dev/null; then
          status=0
          wait "$pid" || status=$?
          echo "failed: it exited with status $status before it was ready ($(what_is_ready))" >"$state"
          exit 1
        elif [ $waited -ge $((ready_timeout * 5)) ]; then
          kill -TERM -- "-$pid" 2>/dev/null
          echo "failed: it was not ready ($(what_is_ready)) within $ready_timeout s (readyTimeout)" >"$state"
          exit 1
        else
          $bb sleep 0.2
          waited=$((waited + 1))
        fi
      done
      status=0
      wait "$pid" || status=$?
      echo "services: $name exited with status $status" >>"$log"
      case $restart in
        always) ;;
        on-failure) [ "$status" -ne 0 ] || break ;;
        *) break ;;
      esac
      $bb sleep 1
    done
    echo "exited $status" >"$state"
    ;;
  start-all)
    for name in $service_names; do
      service_vars "$name"
      if [ "$under_systemd" = 1 ]; then
        # systemd starts the units; their ExecStartPost waits until each is ready.
        waited=0
        while :; do
          props=$(systemctl show -p ActiveState -p SubState -p NRestarts -p Result "$unit" 2>/dev/null)
          case $props in
            *ActiveState=active*) break ;;
          esac
          case $props in
            *ActiveState=failed* | *NRestarts=[1-9]* | *SubState=auto-restart*)
              report "$name" "the unit $unit failed before it was ready ($(what_is_ready)): $(echo "$props" | $bb tr '\n' ' ')"
              exit 1
              ;;
          esac
          if [ $waited -ge $((ready_timeout * 5 + 50)) ]; then
            report "$name" "the unit $unit was not ready ($(what_is_ready)) within $ready_timeout s (readyTimeout)"
            exit 1
          fi
          $bb sleep 0.2
          waited=$((waited + 1))
        done
      else
        "$self" supervise "$name" &
        while [ "$(cat "$state_dir/$name" 2>/dev/null)" != ready ]; do
          case $(cat "$state_dir/$name" 2>/dev/null) in
            failed*)
              report "$name" "$($bb sed 's/^failed: //' "$state_dir/$name")"
              exit 1
              ;;
          esac
          $bb sleep 0.1
        done
      fi
    done
    ;;
  status)
    if [ "$under_systemd" = 1 ]; then
      case $(systemctl is-active "$unit" 2>/dev/null) in
        active) echo ready ;;
        activating | reloading) echo starting ;;
        failed) echo failed ;;
        *) echo exited ;;
      esac
    else
      state=$(cat "$state_dir/$name" 2>/dev/null || echo starting)
      echo "${state%%[: ]*}"
    fi
    ;;
  log) log_tail "$name" ;;
  *)
    echo "usage: services run|wait|supervise|status|log NAME, or services start-all" >&2
    exit 2
    ;;
esac
