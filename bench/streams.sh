#!/usr/bin/env bash
# rpcsh bench inside streams, against a release `rpcsh serve` whose Testing service paces its
# pushes: the measured gaps and rates against what the pacing makes.
# 1. held subscriptions: STREAMS streams of Generate at 50 ms held for HOLD: messages/s (expected
#    STREAMS × 20 + STREAMS / HOLD) and the gaps' p50/p99 against 50 ms;
# 2. server pushes as fast as they go: 20 calls of 100,000 blobs, messages/s;
# 3. bidi echo: Chat, 100 messages a call at once, each answer's latency from its send.
#   bench/streams.sh [STREAMS] [HOLD]   (1000 and 30s by default)
set -euo pipefail
cd "$(dirname "$0")/.."
streams=${1:-1000}
hold=${2:-30s}
source bench/serve.sh
bench() { target/release/rpcsh bench --addr "$addr" "$@" --output json; }

echo "== $streams held streams of Testing/Generate at 50 ms for $hold"
bench Testing/Generate '{"count": 100000000, "interval": "0.05s"}' --streams "$streams" --hold "$hold" |
  python3 -c '
import json, sys
r = json.load(sys.stdin); s = r["streams"]; n = int(sys.argv[1]); t = r["total_s"]
want, got, count, statuses = n * 20 + n / t, s["messages_per_s"], r["count"], r["statuses"]
p50, p99, top = s["gap"]["percentiles_ms"]["p50"], s["gap"]["percentiles_ms"]["p99"], s["gap"]["max_ms"]
first = s["first_message"]["percentiles_ms"]["p99"]
print(f"streams {count} {statuses}, {got:.0f} msg/s (pacing makes {want:.0f}: {got / want:.3f}x)")
print(f"gaps p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {top:.2f} ms (paced at 50 ms); first message p99 {first:.2f} ms")
' "$streams"

echo "== server pushes as fast as they go: 20 calls of 100,000 blobs, 4 at once"
bench Testing/Generate '{"count": 100000, "size": 16}' -n 20 -c 4 |
  python3 -c 'import json, sys; s = json.load(sys.stdin)["streams"]; m, g = s["messages_per_s"], s["gap"]["percentiles_ms"]["p99"]; print(f"{m:.0f} msg/s, gap p99 {g:.3f} ms")'

echo "== bidi echo: Testing/Chat, 100 messages a call at once, 1000 calls, 10 at once"
bench Testing/Chat '{"seq": 1, "payload": "eA=="}' --stream-messages 100 -n 1000 -c 10 |
  python3 -c 'import json, sys; s = json.load(sys.stdin)["streams"]; m, l = s["messages_per_s"], s["message_latency"]["percentiles_ms"]; p50, p99 = l["p50"], l["p99"]; print(f"{m:.0f} msg/s, answer from its send p50 {p50:.2f} ms, p99 {p99:.2f} ms")'
