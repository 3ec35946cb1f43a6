#!/usr/bin/env bash
# The whole test suite, as CI runs it: Rust unit and integration tests (which also build and run
# the examples), then the interop tests with real peers — the seed's Python grpcio clients and
# servers, grpcio-reflection, the gRPC interop TestService on grpcio, grpcurl, a grpc-js
# server and client, a connect-node server (Connect, gRPC-Web, gRPC) and gRPC-Web client, and
# from Debian's packages nginx and haproxy in front of servers and a C++ gRPC server. Python packages go into a venv inside the build tree (target/py-venv), npm
# packages into target/node-peers; nothing system-wide.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/py-venv.sh
source scripts/node-peers.sh
source scripts/debian-peers.sh

echo "== cargo test"
cargo test

echo "== interop tests (tests/py)"
RPCSH_BIN="$PWD/target/debug/rpcsh" "$venv/bin/python" -m pytest -q tests/py

echo "== soak and leak checks, small (bench/soak.sh runs the full 10,000 calls / 1,000 streams)"
python3 bench/soak.py target/debug/rpcsh 300 150
