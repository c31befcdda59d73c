#!/bin/sh
# Runs this CI runner's share of the affected e2e targets (see shard.sh).
# Nx runs in a session of its own, and a SIGTERM, SIGINT or SIGHUP that
# reaches this script (a cancelled job signals the step's process, or its
# whole process group) is passed on to all of Nx's processes, which stop
# their machines, and the script waits until they have.
# Usage: run-shard.sh INDEX COUNT   (from the workspace root)
set -eu
here=$(dirname "$0")
target=${NX_SHARD_TARGET:-e2e}
projects=$("$here/shard.sh" "$1" "$2")
if [ -z "$projects" ]; then
  echo "shard $1 of $2: no affected $target targets"
  exit 0
fi
echo "shard $1 of $2: $target of $projects"
setsid ./node_modules/.bin/nx run-many -t "$target" --projects="$projects" --output-style=static &
nx=$!
# "-PID" is Nx's process group; dash's kill takes no "--" before it.
trap 'kill -TERM "-$nx" 2>/dev/null || :' TERM INT HUP
# wait returns early when a trapped signal arrives: wait again until Nx has ended.
status=0
wait "$nx" || status=$?
while kill -0 "$nx" 2>/dev/null; do
  status=0
  wait "$nx" || status=$?
done
exit "$status"
