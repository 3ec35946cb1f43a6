#!/usr/bin/env bash
# rpcsh bench --script against a release `rpcsh serve`: a three-step scenario (SayHello, then
# Cal/Add twice, the second using the first's sum through `let`, each checked by `expect`) run
# by 50 virtual users for DURATION, against the same calls one method at a time under plain
# `rpcsh bench -c 50`: runs/s, each step's p50/p99, and what a step costs over a plain call.
#   bench/scenario.sh [DURATION]   (10s by default)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}
source bench/serve.sh
cat > "$tmp/chain.rpcsh" <<'SCRIPT'
Greeter/SayHello {"name": "vu"}
expect {"message": "hello vu"}
Cal/Add {"number1": 1, "number2": 2}
let n = $.number
Cal/Add {"number1": ${n}, "number2": 10}
expect {"number": 13}
SCRIPT
cat > "$tmp/show.py" <<'PY'
import json, sys
r = json.load(sys.stdin)
p = r["percentiles_ms"]
if r.get("steps"):
    print(f"{r['rps']:.0f} runs/s ({r['rps'] * len(r['steps']):.0f} calls/s), {r['statuses']}, "
          f"run p50 {p['p50']:.2f} ms, p99 {p['p99']:.2f} ms")
    for s in r["steps"]:
        q = s["percentiles_ms"]
        print(f"  {s['step']}: p50 {q['p50']:.2f} ms, p99 {q['p99']:.2f} ms")
else:
    print(f"  {sys.argv[1]}: {r['rps']:.0f} calls/s, p50 {p['p50']:.2f} ms, p99 {p['p99']:.2f} ms")
PY
echo "== scenario of 3 steps, 50 virtual users, $duration"
target/release/rpcsh bench --addr "$addr" --script "$tmp/chain.rpcsh" -c 50 -z "$duration" --warmup 500 --output json |
  python3 "$tmp/show.py"
echo "== the same calls one method at a time, rpcsh bench -c 50 -z $duration"
for call in 'Greeter/SayHello {"name": "vu"}' 'Cal/Add {"number1": 1, "number2": 2}'; do
  method=${call%% *}; data=${call#* }
  target/release/rpcsh bench --addr "$addr" "$method" "$data" -c 50 -z "$duration" --warmup 500 --output json |
    python3 "$tmp/show.py" "$method"
done
