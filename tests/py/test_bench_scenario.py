"""`rpcsh bench --script FILE`: an `rpcsh run` script as a scenario of virtual users. Against
the seed's grpcio server (calls chained through `let`, each run checked by `expect`), and
against `rpcsh serve`'s Testing service, whose `Echo` answers after a set delay: each step's
latency must be its delay and the shell's cost of a call (steps differ as their delays do, within
15%), the scenario's must be the sum with its `sleep`, and a
failing step must be counted under its status, ending its run."""
import json

from conftest import DB, ROOT, rpcsh
from test_bench_shapes import bench_mistakes
from test_bench_streams import within
from test_relay_record import seed_server

PROTOS = [f"--proto={ROOT / 'proto' / name}" for name in ("helloworld.proto", "SimpleCal.proto",
                                                            "routeguide.proto")]


def scenario(addr, script, *flags):
    out = rpcsh("bench", "-a", addr, "--script", str(script), *flags, "--output", "json",
                timeout=120).stdout
    return json.loads(out)


def test_a_chained_scenario_against_a_grpcio_server(started, stubs, tmp_path):
    seed = seed_server(started, stubs, DB)
    script = tmp_path / "chain.rpcsh"
    script.write_text("""connect localhost:1
Greeter/SayHello {"name": "vu"}
expect {"message": "hello vu"}
Cal/Add {"number1": 1, "number2": 2}
let n = $.number
Cal/Add {"number1": ${n}, "number2": 10}
expect {"number": 13}
RouteGuide/RecordRoute
{"latitude": 409146138, "longitude": -746188906}
{"latitude": 410248224, "longitude": -747127767}
end
expect {"pointCount": 2}
""")
    r = scenario(seed.addr, script, *PROTOS, "-n", "60", "-c", "4")
    # -a wins over the script's `connect`, as in `rpcsh run`; every run met every expect.
    assert r["statuses"] == {"OK": 60} and r["count"] == 60, r["errors"]
    steps = r["steps"]
    assert [s["step"] for s in steps] == ["chain.rpcsh:2 Greeter/SayHello", "chain.rpcsh:4 Cal/Add",
                                          "chain.rpcsh:6 Cal/Add",
                                          "chain.rpcsh:8 RouteGuide/RecordRoute"]
    assert all(s["count"] == 60 and s["statuses"] == {"OK": 60} for s in steps), steps
    # A run is at least its steps one after the other.
    assert r["average_ms"] >= sum(s["mean_ms"] for s in steps) * 0.95, (r["average_ms"], steps)


def test_step_latencies_match_the_server_delays(serve, tmp_path):
    server = serve()
    script = tmp_path / "paced.rpcsh"
    script.write_text("""Testing/Echo {"delay": "0.03s", "payload": "YQ=="}
sleep 20ms
Testing/Echo {"delay": "0.01s"}
Testing/Echo {"code": 5, "message": "no such thing"}
expect error NOT_FOUND
""")
    r = scenario(server.addr, script, "-n", "40", "-c", "4", "--warmup", "4")
    slow, fast, failing = r["steps"]
    # Each step takes its delay and the shell's own cost of a call (JSON in and out, the answer
    # kept for `expect`), the same for both: the steps differ by the 20 ms their delays differ.
    slow_p50, fast_p50 = slow["percentiles_ms"]["p50"], fast["percentiles_ms"]["p50"]
    assert 30 <= slow_p50 <= 40 and 10 <= fast_p50 <= 20, (slow_p50, fast_p50)
    assert within(slow_p50 - fast_p50, 20, 0.15), (slow_p50, fast_p50)
    # An expected error is the step doing what the script wants.
    assert failing["statuses"] == {"OK": 40} and r["statuses"] == {"OK": 40}, r
    # The run: its steps and the 20 ms of think time, which is in no step.
    steps = sum(s["mean_ms"] for s in r["steps"])
    assert within(r["average_ms"], steps + 20), (r["average_ms"], steps)

    script.write_text("""Testing/Echo {}
Testing/Echo {"code": 5, "message": "no such thing"}
Testing/Echo {}
""")
    r = scenario(server.addr, script, "-n", "10", "-c", "2")
    first, failing, never = r["steps"]
    assert first["statuses"] == {"OK": 10} and failing["statuses"] == {"NotFound": 10}, r["steps"]
    assert never["count"] == 0 and r["statuses"] == {"NotFound": 10}, r
    assert any("paced.rpcsh:2" in e and "no such thing" in e for e in r["errors"]), r["errors"]
    csv = rpcsh("bench", "-a", server.addr, "--script", str(script), "-n", "2",
                "--output", "csv").stdout
    rows = dict(line.split(",", 1) for line in csv.splitlines()[1:])
    assert rows["step2"] == "paced.rpcsh:2 Testing/Echo" and rows["step2_errors"] == "2", rows
    text = rpcsh("bench", "-a", server.addr, "--script", str(script), "-n", "2").stdout
    assert "Runs/sec:" in text and "paced.rpcsh:3 Testing/Echo" in text and "[NotFound]  2 runs" in text
    # Reports of scenarios merge step by step.
    paths = []
    for k, n in enumerate((3, 5)):
        paths.append(tmp_path / f"{k}.json")
        paths[-1].write_text(json.dumps(scenario(server.addr, script, "-n", str(n))))
    merged = json.loads(rpcsh("bench", "merge", *map(str, paths), "--output", "json").stdout)
    assert [s["statuses"] for s in merged["steps"]] == [{"OK": 8}, {"NotFound": 8}, {}], merged


def test_scenario_mistakes_are_one_error_line(serve, tmp_path):
    server = serve()
    bad = tmp_path / "bad.rpcsh"
    bad.write_text("Greeter/SayHello {\"name\": ${who}}\n")
    none = tmp_path / "none.rpcsh"
    none.write_text("sleep 1ms\n")
    unknown = tmp_path / "unknown.rpcsh"
    unknown.write_text("Nope/Nothing {}\n")
    bench_mistakes(server.addr, [
        (["--script", str(bad)], 1, "bad.rpcsh:1: undefined variable ${who}"),
        (["--script", str(none)], 1, "no calls"),
        (["--script", str(unknown)], 1, "Nope"),
        (["--script", str(tmp_path / "missing.rpcsh")], 1, "cannot read --script"),
        (["--script", str(bad), "Greeter/SayHello"], 1, "one METHOD too many"),
        (["--script", str(bad), "--rps", "5"], 2, "cannot be used"),
        ([], 1, "bench needs a METHOD, or --script FILE"),
    ])
