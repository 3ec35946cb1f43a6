#!/usr/bin/env bash
# The shell's start-up time, idle memory and typing latency under a busy watch (bench/repl.py),
# against a release `rpcsh serve`.
#   bench/repl.sh [STARTS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
out=$(mktemp)
target/release/rpcsh serve --listen 127.0.0.1:0 > "$out" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do addr=$(sed -n 's/^listening on //p' "$out"); [ -n "$addr" ] && break; sleep 0.1; done
python3 bench/repl.py target/release/rpcsh "$addr" "${1:-20}"
