#!/bin/sh
# Runs an Nx self-hosted remote cache with Debian's nginx, as the current user,
# everything (config, pid file, temporary files, logs, entries) in one data
# directory, so nothing under /etc/nginx or /var is touched.
#
#   serve.sh [start] --dir DIR [--port N] [--host ADDR] [--token TOKEN | --token-file FILE]
#                    [--read-only-token TOKEN | --read-only-token-file FILE]   (FILE - is stdin)
#                    [--max-body SIZE] [--foreground]
#   serve.sh stop    --dir DIR
#   serve.sh status  --dir DIR
#
# The token (read and write) may also come from
# NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN, the variable the Nx clients use;
# --token-file or the variable keep it out of ps. An optional second token
# only reads: uploads with it get 403, which Nx skips silently (e.g. for
# laptops, while CI holds the read-write token). A wrong or missing token
# reads as an empty cache (404) and its uploads get 403, so Nx builds locally
# instead of stopping at a 401; /v1/nx-qemu-vm/token-check answers it with
# 401, which is how the nx-qemu-vm plugin knows to warn.
# Defaults: --host 127.0.0.1 (this machine only; put a TLS proxy in front to
# serve a team), --port 3042, --max-body 2g. start returns once nginx is
# listening (nginx then runs in the background) unless --foreground is given,
# which suits a systemd service.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
template="$here/nginx.conf.template"

usage() {
  sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}
die() {
  echo "serve.sh: $*" >&2
  exit 1
}

command=start
case "${1:-}" in
  start | stop | status) command=$1; shift ;;
esac

dir=
host=127.0.0.1
port=3042
token=${NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN:-}
token_file=
ro_token=
ro_token_file=
max_body=2g
daemon=on
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=${2:?--dir needs a value}; shift 2 ;;
    --port) port=${2:?--port needs a value}; shift 2 ;;
    --host) host=${2:?--host needs a value}; shift 2 ;;
    --token) token=${2:?--token needs a value}; shift 2 ;;
    --token-file) token_file=${2:?--token-file needs a value}; shift 2 ;;
    --read-only-token) ro_token=${2:?--read-only-token needs a value}; shift 2 ;;
    --read-only-token-file) ro_token_file=${2:?--read-only-token-file needs a value}; shift 2 ;;
    --max-body) max_body=${2:?--max-body needs a value}; shift 2 ;;
    --foreground) daemon=off; shift ;;
    -h | --help) usage ;;
    *) echo "serve.sh: unknown argument: $1" >&2; usage ;;
  esac
done

[ -n "$dir" ] || die "--dir is required"
check_dir() {
  # The path goes into nginx.conf (and a unix socket URL) as it is.
  case "$1" in
    *[!A-Za-z0-9/._+-]*) die "the data directory path may only contain letters, digits and / . _ + - (got: $1)" ;;
  esac
}
check_dir "$dir"
[ "$command" != start ] || mkdir -p "$dir"
[ -d "$dir" ] || die "no such directory: $dir"
dir=$(cd "$dir" && pwd)
check_dir "$dir"
conf="$dir/nginx.conf"
pidfile="$dir/nginx.pid"

nginx_bin=$(command -v nginx || true)
[ -n "$nginx_bin" ] || nginx_bin=/usr/sbin/nginx
[ -x "$nginx_bin" ] || die "nginx is not installed (apt-get install nginx, or bash tools/install-host-deps.sh)"

running_pid() {
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

case "$command" in
  status)
    if pid=$(running_pid); then
      echo "running (pid $pid), $(sed -n 's/^ *listen \([0-9].*\);$/\1/p' "$conf" | head -n 1)"
      exit 0
    fi
    echo "not running"
    exit 3
    ;;
  stop)
    pid=$(running_pid) || { echo "not running"; exit 0; }
    # Graceful: finishes uploads in flight, then exits.
    kill -QUIT "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null; do
      i=$((i + 1))
      if [ "$i" -ge 100 ]; then
        kill -TERM "$pid" 2>/dev/null || true
      fi
      [ "$i" -lt 200 ] || die "nginx (pid $pid) did not stop"
      sleep 0.1
    done
    rm -f "$pidfile" "$dir/dav.sock"
    echo "stopped"
    exit 0
    ;;
esac

read_token_file() { # file, or - for stdin
  if [ "$1" = - ]; then
    IFS= read -r line || [ -n "$line" ] || die "no token on stdin"
  else
    [ -r "$1" ] || die "cannot read the token file $1"
    IFS= read -r line < "$1" || [ -n "$line" ] || die "the token file $1 is empty"
  fi
  printf '%s' "$line" | tr -d '\r'
}
check_token() { # name value
  # The characters RFC 6750 allows in a bearer token (and safe in nginx.conf).
  case "$2" in
    *[!A-Za-z0-9._~+/=-]*) die "the $1 may only contain letters, digits and . _ ~ + / = -" ;;
  esac
  [ "${#2}" -le 200 ] || die "the $1 is longer than 200 characters"
  [ "${#2}" -ge 16 ] || echo "serve.sh: warning: a $1 of ${#2} characters is easy to guess; use e.g. \$(openssl rand -hex 32)" >&2
}
# (Command substitutions run in a subshell: their die cannot end this script.)
if [ -n "$token_file" ]; then
  token=$(read_token_file "$token_file") || exit 1
fi
if [ -n "$ro_token_file" ]; then
  ro_token=$(read_token_file "$ro_token_file") || exit 1
  [ -n "$ro_token" ] || die "the read-only token file $ro_token_file is empty"
fi
[ -n "$token" ] || die "no token: give --token, --token-file or NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN"
check_token token "$token"
ro_line="# no read-only token"
if [ -n "$ro_token" ]; then
  check_token "read-only token" "$ro_token"
  [ "$ro_token" != "$token" ] || die "the read-only token must differ from the token"
  ro_line="\"Bearer $ro_token\" ro;"
fi
case "$port" in
  '' | *[!0-9]*) die "--port must be a number" ;;
esac
case "$(printf '%s' "$host" | tr -d '[]')" in
  '' | *[!A-Za-z0-9.:-]*) die "--host must be an address or host name" ;;
esac
case "$max_body" in
  '' | *[!0-9kKmMgG]*) die "--max-body must be a size such as 2g or 500m" ;;
esac

if pid=$(running_pid); then
  die "already running with pid $pid; run: $0 stop --dir $dir"
fi

umask 077
mkdir -p "$dir/store/v1/cache" "$dir/tmp" "$dir/logs"
chmod 700 "$dir"
rm -f "$dir/dav.sock"

# Run as root, nginx would switch its workers to "nobody", who cannot write
# the data directory; keep them as the current user instead.
user_line="# workers run as the user who started nginx"
if [ "$(id -u)" = 0 ]; then
  user_line="user $(id -un) $(id -gn);"
fi

# IPv6 addresses need brackets in listen.
case "$host" in
  *:*) case "$host" in \[*) listen="$host:$port" ;; *) listen="[$host]:$port" ;; esac ;;
  *) listen="$host:$port" ;;
esac

sed -e "s|@DIR@|$dir|g" \
    -e "s|@LISTEN@|$listen|g" \
    -e "s|@TOKEN@|$token|g" \
    -e "s|@READ_ONLY_TOKEN_LINE@|$ro_line|g" \
    -e "s|@USER@|$user_line|g" \
    -e "s|@DAEMON@|$daemon|g" \
    -e "s|@MAX_BODY@|$max_body|g" \
    "$template" > "$conf.new"
chmod 600 "$conf.new"
mv "$conf.new" "$conf"

# -e: nginx opens its built-in error log path before reading the config;
# point it into the data directory too.
"$nginx_bin" -q -t -p "$dir" -c "$conf" -e "$dir/logs/error.log" ||
  die "nginx rejected $conf (see above and $dir/logs/error.log)"

if [ "$daemon" = off ]; then
  echo "serving the Nx remote cache on http://$listen (data in $dir)" >&2
  exec "$nginx_bin" -p "$dir" -c "$conf" -e "$dir/logs/error.log"
fi

# The master forks once its sockets are bound, so success here means listening.
"$nginx_bin" -p "$dir" -c "$conf" -e "$dir/logs/error.log" ||
  die "nginx did not start (see $dir/logs/error.log)"
i=0
until pid=$(running_pid); do
  i=$((i + 1))
  [ "$i" -lt 50 ] || die "nginx did not write $pidfile"
  sleep 0.1
done
echo "serving the Nx remote cache on http://$listen (pid $pid, data in $dir)"
