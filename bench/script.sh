#!/usr/bin/env bash
# A 10,000-call `rpcsh run` script against one-shot grpcurl runs and a Python grpcio loop
# (bench/script_vs_peers.py), against the same release `rpcsh serve`.
#   bench/script.sh [CALLS] [GRPCURL_SAMPLE]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/setup.sh
stubs=target/py-stubs
mkdir -p "$stubs"
"$venv/bin/python" -m grpc_tools.protoc -Iproto --python_out="$stubs" --grpc_python_out="$stubs" SimpleCal.proto
"$venv/bin/python" bench/script_vs_peers.py target/release/rpcsh "$grpcurl" "$stubs" "${1:-10000}" "${2:-200}"
