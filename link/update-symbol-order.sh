#!/usr/bin/env bash
# Regenerates link/symbol-order.txt, the functions build.rs asks the linker to lay side by side:
# every function that one-shot commands and the shell execute, as callgrind sees them in the
# release build itself — those of a one-shot unary call first (the command most often run, and
# the one whose peak RSS bench/client.sh measures), then the rest. Then relinks the release
# build with the new list, checks it (link/check-symbol-order.sh) and records in
# link/symbol-order.inputs what the names' hashes depend on (rustc and the locked crates), which
# a cargo test compares with the build's: a dependency or toolchain change fails until this is
# rerun.
#   link/update-symbol-order.sh        needs valgrind
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
# Where cargo builds, whatever CARGO_TARGET_DIR or a config file says.
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin=$target/release/rpcsh
cargo build --release -q
tmp=$(mktemp -d)
"$bin" serve --listen 127.0.0.1:0 --task-interval 0 > "$tmp/out" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do addr=$(sed -n 's/^listening on //p' "$tmp/out"); [ -n "$addr" ] && break; sleep 0.1; done
export RPCSH_CONFIG=/nonexistent
profile() {  # out-name, command...
  local out=$1; shift
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$tmp/cg.$out" "$@" > /dev/null 2>&1 || true
}
# callgrind marks a function's recursion levels as NAME'2, NAME'3: not symbols the linker knows.
names() { cat "$@" | sed -nE 's/^c?fn=\([0-9]+\) (_ZN|_R)/\1/p' | sed -E "s/'[0-9]+\$//" | sort -u; }
profile first "$bin" call -a "$addr" Greeter/SayHello '{"name": "x"}'
profile 1 "$bin" call -a "$addr" RouteGuide/ListFeature '{}'
profile 2 "$bin" call -a "$addr" -v --format text Testing/Echo '{"code": 5, "message": "m"}'
echo '{"latitude": 1} {"latitude": 2}' | profile 3 "$bin" call -a "$addr" RouteGuide/RecordRoute -
profile 4 "$bin" call -a "$addr" --proto proto/helloworld.proto Greeter/SayHello '{}'
profile 5 "$bin" call -a "$addr" Nope/Nothing '{}'
profile 6 "$bin" call -a 127.0.0.1:1 Greeter/SayHello '{}'
profile 7 "$bin" list -a "$addr"
profile 8 "$bin" describe -a "$addr" RouteGuide
profile 9 "$bin" template -a "$addr" RouteGuide/RouteChat
profile 10 "$bin" health -a "$addr"
printf 'Greeter/SayHello {"name": "x"}\nuse RouteGuide\nGetFeature {}\n' | profile 11 "$bin" connect "$addr"
names "$tmp/cg.first" > "$tmp/first"
names "$tmp"/cg.[0-9]* | comm -23 - "$tmp/first" > "$tmp/rest"
cat "$tmp/first" "$tmp/rest" > link/symbol-order.txt
echo "link/symbol-order.txt: $(wc -l < "$tmp/first") functions of a unary call, then $(wc -l < "$tmp/rest") more"
# What the names' hashes depend on; tests/cli/link.rs compares it with the build's.
{ rustc -V; sed -n '/^\[profile.release\]/,/^$/p' Cargo.toml | grep -v '^#'
  awk '/^name = /{n=$3} /^version = /{print n, $3}' Cargo.lock | tr -d '"'; } > link/symbol-order.inputs
# build.rs reruns when the list changes, and the binary is linked again with it.
cargo build --release -q
link/check-symbol-order.sh "$bin"
