"""A call by reflection to a grpcio server of a big real schema: googleapis' PredictionService/
Predict (the whole of googleapis served, 21 MB) and the Google Ads API's GoogleAdsService/Search
(0.9 MB, whose request and response reach most of it), rpcsh beside grpcurl and, with --before,
another build of rpcsh. The commands take turns in each run (a noisy machine slows them alike);
medians of RUNS of wall time and peak RSS. rpcsh's memory of the server (its cache folder) is
made by a first call, as a user's second call finds it. With --delay MS, the calls go through
bench/delay_proxy.py delaying each direction by MS: a link of 2 x MS a round trip, whose count
then shows in the wall times.

    target/py-venv/bin/python bench/reflection_calls.py RPCSH GRPCURL [--before OLD] [--runs 11]
        [--delay 10]

The schemas are those bench/real_schemas.sh compiles into target/bench-schemas (run it once).
"""
import argparse
import os
import pathlib
import statistics
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "py"))
sys.path.insert(0, str(HERE))
from delay_proxy import DelayProxy  # noqa: E402
from schema import measure  # noqa: E402
from set_server import SetServer  # noqa: E402

SCHEMAS = HERE.parent / "target" / "bench-schemas"
ROWS = [("googleapis.pb", "google.cloud.aiplatform.v1.PredictionService/Predict"),
        ("ads.pb", "google.ads.googleads.v25.services.GoogleAdsService/Search")]
BIG = 64 << 20


def main():
    args = argparse.ArgumentParser()
    args.add_argument("rpcsh")
    args.add_argument("grpcurl")
    args.add_argument("--before", help="another build of rpcsh, measured beside")
    args.add_argument("--runs", type=int, default=11)
    args.add_argument("--delay", type=float, help="ms added to each direction of the link")
    args = args.parse_args()
    os.environ["RPCSH_CONFIG"] = "/nonexistent"
    link = f", through a {2 * args.delay:g} ms round trip" if args.delay else ""
    print(f"medians of {args.runs}, the commands taking turns{link}; ratios to grpcurl's")
    for schema, method in ROWS:
        if not (SCHEMAS / schema).exists():
            sys.exit(f"bench: no {SCHEMAS / schema}: run bench/real_schemas.sh once")
        server = SetServer(SCHEMAS / schema)
        addr = DelayProxy(server.addr, args.delay / 1000).start().addr if args.delay else server.addr
        try:
            rpcshes = {"rpcsh": args.rpcsh, **({"before": args.before} if args.before else {})}
            commands = {name: [path, "call", "-a", addr, "--max-msg-size", str(BIG),
                               method, "{}"] for name, path in rpcshes.items()}
            commands["grpcurl"] = [args.grpcurl, "-plaintext", "-max-msg-sz", str(BIG), "-d",
                                   "{}", addr, method]
            # Each build its own memory of the server, made by a first call.
            caches = {name: tempfile.mkdtemp() for name in commands}
            runs = {name: [] for name in commands}
            for turn in range(args.runs + 1):
                for name, command in commands.items():
                    os.environ["RPCSH_CACHE_DIR"] = caches[name]
                    got = measure(command)
                    if turn:
                        runs[name].append(got)
            times = {n: statistics.median(t for t, _ in r) for n, r in runs.items()}
            rss = {n: statistics.median(m for _, m in r) for n, r in runs.items()}
            line = f"{method.split('/')[-1]:<8}"
            for name in commands:
                line += (f"  {name} {times[name] * 1000:.1f} ms {rss[name]:.1f} MiB "
                         f"({times[name] / times['grpcurl']:.2f}x, {rss[name] / rss['grpcurl']:.2f}x)")
            print(line, flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
