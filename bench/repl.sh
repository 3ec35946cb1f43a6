#!/usr/bin/env bash
# The shell's start-up time, idle memory and typing latency under a busy watch (bench/repl.py),
# against a release `rpcsh serve`.
#   bench/repl.sh [STARTS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/serve.sh
python3 bench/repl.py target/release/rpcsh "$addr" "${1:-20}"
