#!/usr/bin/env bash
# Servers that flood rpcsh with schema (tests/py/flood_reflection.py): wall time and peak RSS of
# one-shot `call` and of the shell, rpcsh beside grpcurl (1.8.6): bench/hostile.sh.
# Needs GNU time (Debian: apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
needs_gnu_time=1 source bench/setup.sh
GRPC_ENABLE_FORK_SUPPORT=false "$venv/bin/python" bench/hostile.py target/release/rpcsh "$grpcurl"
