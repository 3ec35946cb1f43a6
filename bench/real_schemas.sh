#!/usr/bin/env bash
# Real schemas (googleapis, the Google Ads API, a synthetic whole-closure chain), rpcsh beside
# grpcurl (1.8.6): bench/real_schemas.sh [RUNS=5]. Needs GNU time (Debian: apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
needs_gnu_time=1 source bench/setup.sh
source scripts/node-peers.sh
"$venv/bin/python" bench/real_schemas.py target/release/rpcsh "$grpcurl" "$node_peers/node_modules/google-proto-files" "$@"
