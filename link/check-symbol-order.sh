#!/usr/bin/env bash
# Fails when link/symbol-order.txt no longer matches BINARY (a release build of rpcsh): fewer
# than 90% of its names among the binary's symbols means their hashes moved (a dependency or
# the toolchain changed) and the order does nothing; link/update-symbol-order.sh makes it anew.
#   link/check-symbol-order.sh [BINARY]      (target/release/rpcsh by default)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/rpcsh}
list=link/symbol-order.txt
total=$(sort -u "$list" | wc -l)
found=$(comm -12 <(sort -u "$list") <(nm --defined-only "$bin" | awk '{print $3}' | sort -u) | wc -l)
pct=$((100 * found / total))
if [ "$pct" -lt 90 ]; then
  echo "link/symbol-order.txt is stale: $found of its $total names ($pct%) are in $bin; run link/update-symbol-order.sh" >&2
  exit 1
fi
echo "link/symbol-order.txt: $found of its $total names ($pct%) are in $bin"
