#!/usr/bin/env bash
# Two builds of rpcsh side by side (a refactor's before and after): unary Greeter/SayHello,
# 200,000 requests, 50 in flight, alternating the builds ROUNDS times so that the machine's
# drift falls on both.
# 1. clients: each build's `rpcsh bench` against the same `rpcsh serve` (OLD's);
# 2. servers: each build's `rpcsh serve` under h2load -c 50 and under NEW's `rpcsh bench`.
#   bench/ab.sh OLD_BINARY NEW_BINARY [ROUNDS]
# Needs h2load (Debian: apt-get install nghttp2-client).
set -euo pipefail
old=$1 new=$2 rounds=${3:-3} n=200000
command -v h2load >/dev/null || { echo "bench: h2load not found (apt-get install nghttp2-client)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
printf '\x00\x00\x00\x00\x07\x0a\x05world' > "$tmp/frame"
serve() {  # binary -> $addr, $server
  "$1" serve --listen 127.0.0.1:0 > "$tmp/out" & server=$!
  addr=
  for _ in $(seq 50); do addr=$(sed -n 's/^listening on //p' "$tmp/out"); [ -n "$addr" ] && break; sleep 0.1; done
}
rps() {  # client binary -> requests/s of rpcsh bench against $addr
  "$1" bench --addr "$addr" Greeter/SayHello '{"name": "world"}' -n "$n" -c 50 --warmup 2000 \
    --output json | python3 -c 'import json, sys; print(round(json.load(sys.stdin)["rps"]))'
}
echo "== clients against $old serve (req/s, round by round)"
serve "$old"
for _ in $(seq "$rounds"); do echo "old $(rps "$old")  new $(rps "$new")"; done
kill "$server"; wait "$server" 2>/dev/null || true
echo "== servers under h2load -c 50 and new's rpcsh bench (req/s)"
for _ in $(seq "$rounds"); do
  for side in old new; do
    bin=$old; [ "$side" = new ] && bin=$new
    serve "$bin"
    h=$(h2load -n "$n" -c 50 -m 1 -t 1 -H 'content-type: application/grpc' -H 'te: trailers' \
      -d "$tmp/frame" "http://$addr/Greeter/SayHello" | sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p')
    echo "$side serve: h2load $h  rpcsh bench $(rps "$new")"
    kill "$server"; wait "$server" 2>/dev/null || true
  done
done
