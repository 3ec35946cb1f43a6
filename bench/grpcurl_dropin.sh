#!/usr/bin/env bash
# grpcurl's command lines (tests/py/grpcurl_corpus.py) through grpcurl 1.8.6 and through
# `rpcsh grpcurl`, on the same servers: the corpus's wall time for each and the ratio.
#   bench/grpcurl_dropin.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/setup.sh
"$venv/bin/python" bench/grpcurl_dropin.py target/release/rpcsh "$grpcurl" "${1:-3}"
