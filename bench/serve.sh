# Sourced by the bench scripts that load `rpcsh serve` (from the repository root): a release
# build, `rpcsh serve` on a free port ($addr), and a scratch folder ($tmp); both go on exit.
cargo build --release -q
tmp=$(mktemp -d)
target/release/rpcsh serve --listen 127.0.0.1:0 > "$tmp/out" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do addr=$(sed -n 's/^listening on //p' "$tmp/out"); [ -n "$addr" ] && break; sleep 0.1; done
[ -n "$addr" ] || { echo "bench: rpcsh serve did not start: $(cat "$tmp/out")" >&2; exit 1; }
