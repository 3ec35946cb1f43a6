#!/usr/bin/env bash
# Big schemas, rpcsh beside grpcurl (1.8.6): bench/schema.sh [RUNS=7] [SIZES=10:10,100:100,1000:200]
# Needs GNU time (Debian: apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
needs_gnu_time=1 source bench/setup.sh
"$venv/bin/python" bench/schema.py target/release/rpcsh "$grpcurl" "$@"
