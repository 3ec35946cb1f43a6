#!/usr/bin/env bash
# Soak and leak checks: the shell making CALLS calls of each style, the server under STREAMS
# concurrent streams whose clients are killed, Contact with a subscriber that never reads.
#   bench/soak.sh [CALLS] [STREAMS]      (defaults: 10000 1000; CI runs it small)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
exec python3 bench/soak.py target/release/rpcsh "${1:-10000}" "${2:-1000}"
