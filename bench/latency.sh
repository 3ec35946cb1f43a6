#!/usr/bin/env bash
# Round trips of rpcsh and grpcurl (1.8.6) through a proxy that delays each direction:
#   bench/latency.sh [DELAY_MS=25] [RUNS=7] [--tls]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/setup.sh
"$venv/bin/python" bench/latency.py target/release/rpcsh "$grpcurl" "$@"
