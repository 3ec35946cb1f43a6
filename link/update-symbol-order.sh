#!/usr/bin/env bash
# Regenerates link/symbol-order.txt, the functions build.rs asks the linker to lay side by side:
# every function that one-shot commands and the shell execute, as callgrind sees them in the
# release build itself. Rerun after large changes (stale names are harmless, only less useful).
#   link/update-symbol-order.sh        needs valgrind
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cargo build --release -q
bin=target/release/rpcsh
tmp=$(mktemp -d)
"$bin" serve --listen 127.0.0.1:0 --task-interval 0 > "$tmp/out" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do addr=$(sed -n 's/^listening on //p' "$tmp/out"); [ -n "$addr" ] && break; sleep 0.1; done
export RPCSH_CONFIG=/nonexistent
profile() { valgrind --tool=callgrind --demangle=no --callgrind-out-file="$tmp/cg.$RANDOM$RANDOM" "$@" > /dev/null 2>&1 || true; }
profile "$bin" call -a "$addr" Greeter/SayHello '{"name": "x"}'
profile "$bin" call -a "$addr" RouteGuide/ListFeature '{}'
profile "$bin" call -a "$addr" -v --format text Testing/Echo '{"code": 5, "message": "m"}'
echo '{"latitude": 1} {"latitude": 2}' | profile "$bin" call -a "$addr" RouteGuide/RecordRoute -
profile "$bin" call -a "$addr" --proto proto/helloworld.proto Greeter/SayHello '{}'
profile "$bin" call -a "$addr" Nope/Nothing '{}'
profile "$bin" call -a 127.0.0.1:1 Greeter/SayHello '{}'
profile "$bin" list -a "$addr"
profile "$bin" describe -a "$addr" RouteGuide
profile "$bin" template -a "$addr" RouteGuide/RouteChat
profile "$bin" health -a "$addr"
printf 'Greeter/SayHello {"name": "x"}\nuse RouteGuide\nGetFeature {}\n' | profile "$bin" connect "$addr"
cat "$tmp"/cg.* | sed -nE 's/^c?fn=\([0-9]+\) (_ZN|_R)/\1/p' | sort -u > link/symbol-order.txt
echo "link/symbol-order.txt: $(wc -l < link/symbol-order.txt) functions"
