#!/usr/bin/env bash
# Unary requests per second of `rpcsh serve` against the seed's Python grpcio server
# (tests/py/seed_server.py, as the blog runs it), measured in one run by h2load posting the same
# pre-encoded Greeter/SayHello frame to each. Prints both rates and the ratio.
#
#   bench/server_rps.sh [SECONDS] [CONNECTIONS] [STREAMS_PER_CONNECTION]
# Needs h2load (Debian: apt-get install nghttp2-client).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-50}
streams=${3:-10}
command -v h2load >/dev/null || { echo "bench: h2load not found (apt-get install nghttp2-client)" >&2; exit 1; }

source scripts/py-venv.sh
cargo build --release -q
stubs=target/py-stubs
mkdir -p "$stubs"
"$venv/bin/python" -m grpc_tools.protoc -Iproto --python_out="$stubs" --grpc_python_out="$stubs" \
  helloworld.proto routeguide.proto compute.proto SimpleCal.proto

tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT

# HelloRequest{name: "world"} in a gRPC frame: no compression, 4-byte length, then the message.
printf '\x00\x00\x00\x00\x07\x0a\x05world' > "$tmp/frame"

start() { # name, command...: starts a server, waits for its `listening on` line, sets $addr
  local name=$1; shift
  "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do
    addr=$(sed -n 's/^listening on //p' "$tmp/$name.out")
    [ -n "$addr" ] && return 0
    sleep 0.1
  done
  echo "bench: $name did not start: $(cat "$tmp/$name.err")" >&2
  exit 1
}

load() { # addr: prints requests/s of a $secs-second h2load run, after checking every call succeeded
  local out
  out=$(h2load -D "$secs" --warm-up-time 1 -c "$conns" -m "$streams" -t 1 \
    -H 'content-type: application/grpc' -H 'te: trailers' -d "$tmp/frame" \
    "http://$1/Greeter/SayHello")
  echo "$out" | grep -E '^(finished|requests|status codes)' >&2
  echo "$out" | grep -q ' 0 failed, 0 errored' || { echo "bench: some requests failed" >&2; exit 1; }
  echo "$out" | sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p'
}

start rpcsh target/release/rpcsh serve --listen 127.0.0.1:0
rust_addr=$addr
start python "$venv/bin/python" tests/py/seed_server.py --listen 127.0.0.1:0 --stubs "$stubs"
python_addr=$addr

echo "== rpcsh serve ($rust_addr), h2load -c $conns -m $streams for ${secs}s" >&2
rust=$(load "$rust_addr")
echo "== seed Python grpcio server ($python_addr), same load" >&2
python=$(load "$python_addr")
python3 -c 'import sys; r, p = map(float, sys.argv[1:])
print(f"rpcsh serve: {r:.0f} req/s\nseed Python grpcio: {p:.0f} req/s\nratio: {r / p:.1f}x")' "$rust" "$python"
