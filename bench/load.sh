#!/usr/bin/env bash
# rpcsh bench as a load tool, against the same release `rpcsh serve`:
# 1. unary requests/s of `rpcsh bench` vs h2load posting the same pre-encoded gRPC frame, at the
#    same concurrency (50 requests in flight): rpcsh's default connections against h2load -c 50,
#    then both over 10 connections, then rpcsh on one; and the ratios;
# 2. scaling: requests/s and p99 of `rpcsh bench` at c = 1, 10, 100, 1000.
#   bench/load.sh [REQUESTS]
# Needs h2load (Debian: apt-get install nghttp2-client).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
command -v h2load >/dev/null || { echo "bench: h2load not found (apt-get install nghttp2-client)" >&2; exit 1; }
source bench/serve.sh

# HelloRequest{name: "world"} in a gRPC frame, the same request rpcsh bench sends.
printf '\x00\x00\x00\x00\x07\x0a\x05world' > "$tmp/frame"
rps() { python3 -c 'import json, sys; r = json.load(sys.stdin); print("%.0f %.2f %d" % (r["rps"], r["percentiles_ms"]["p99"], r["statuses"].get("OK", 0)))'; }

# 1. The defaults against h2load -c 50 (50 connections, one request in flight on each), which is
#    what the issue compares; 2. both with the same 10 connections, 5 requests in flight on each.
compare() {  # label, rpcsh flags..., --, h2load flags...
  local label=$1; shift
  local ours=() theirs=()
  while [ "$1" != -- ]; do ours+=("$1"); shift; done; shift; theirs=("$@")
  read -r r _ ok < <(target/release/rpcsh bench --addr "$addr" Greeter/SayHello '{"name": "world"}' \
    -n "$n" -c 50 --warmup 2000 "${ours[@]}" --output json | rps)
  [ "$ok" = "$n" ] || { echo "bench: only $ok of $n calls succeeded" >&2; exit 1; }
  t=$(h2load -n "$n" "${theirs[@]}" -t 1 -H 'content-type: application/grpc' -H 'te: trailers' \
    -d "$tmp/frame" "http://$addr/Greeter/SayHello" | sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p')
  python3 -c "import sys; o, t = map(float, sys.argv[2:]); print(f'{sys.argv[1]}: rpcsh bench {o:.0f} req/s, h2load {t:.0f} req/s: {o / t:.2f}x')" "$label" "$r" "$t"
}
echo "== unary Greeter/SayHello, $n requests, 50 in flight"
compare "rpcsh -c 50 (default connections) vs h2load -c 50" -- -c 50 -m 1
compare "both over 10 connections" --connections 10 -- -c 10 -m 5
compare "rpcsh on 1 connection vs h2load -c 50" --connections 1 -- -c 50 -m 1

echo "== scaling: rpcsh bench Greeter/SayHello, $n requests"
echo "| concurrency | connections | requests/s | p99 (ms) |"
echo "|---|---|---|---|"
for c in 1 10 100 1000; do
  k=$(( c < 10 ? c : 10 ))
  read -r r p99 ok < <(target/release/rpcsh bench --addr "$addr" Greeter/SayHello '{"name": "world"}' \
    -n "$n" -c "$c" --connections "$k" --warmup 1000 --output json | rps)
  echo "| $c | $k | $r | $p99 |"
done
