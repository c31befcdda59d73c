#!/bin/sh
# Prints the projects whose e2e target this CI runner runs: the affected
# ones (from $NX_BASE to $NX_HEAD, default origin/main..HEAD), sorted by
# name and dealt round-robin to the shards. Shard INDEX of COUNT, counted
# from 1; comma-separated on one line (nothing when the shard has none).
# Usage: shard.sh INDEX COUNT   (from the workspace root)
set -eu
index=${1:?usage: shard.sh INDEX COUNT}
count=${2:?usage: shard.sh INDEX COUNT}
case "$index$count" in *[!0-9]*) echo "shard.sh: INDEX and COUNT are numbers: $index $count" >&2; exit 2 ;; esac
if [ "$index" -lt 1 ] || [ "$index" -gt "$count" ]; then
  echo "shard.sh: INDEX is 1 to COUNT: $index of $count" >&2
  exit 2
fi
target=${NX_SHARD_TARGET:-e2e}
# Nx itself, not through npx (npx does not pass signals on).
./node_modules/.bin/nx show projects --affected -t "$target" \
  --base="${NX_BASE:-origin/main}" --head="${NX_HEAD:-HEAD}" |
  LC_ALL=C sort |
  awk -v i="$index" -v n="$count" '(NR - 1) % n == i - 1' |
  paste -sd, -
