#!/usr/bin/env bash
# A Connect unary one-shot call: rpcsh vs buf curl (1.75, npm @bufbuild/buf), side by side in one
# run, against the same @connectrpc/connect-node server (tests/node/connect_server.js) on
# HTTP/1.1, both given the schema as a descriptor set: median wall time and peak RSS.
#   bench/connect.sh [RUNS]
# Needs GNU time for peak RSS (Debian: apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }
source scripts/py-venv.sh
source scripts/node-peers.sh
buf_dir=target/bench-buf
if ! cmp -s bench/buf/package-lock.json "$buf_dir/package-lock.json" 2>/dev/null; then
  rm -rf "$buf_dir" && mkdir -p "$buf_dir"
  cp bench/buf/package.json bench/buf/package-lock.json "$buf_dir/"
  (cd "$buf_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
cargo build --release -q
# The Go binary itself: node_modules/.bin/buf is a Node.js wrapper that adds ~100 ms to each run.
buf=$(ls "$buf_dir"/node_modules/@bufbuild/buf-*/bin/buf | head -1)
"$venv/bin/python" bench/connect_vs_buf.py target/release/rpcsh "$buf" "${1:-50}"
