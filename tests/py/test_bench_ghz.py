"""What ghz users have, in `rpcsh bench`: each call in a details file (CSV, JSON lines, line
protocol) and as `--output influx-details`; `-H` metadata and data filled per call with ghz's
placeholders as a recording proxy saw them reach the seed's grpcio server; client streams paced
and limited; the three ends of a duration; workers rising along a line; a run's options from a
TOML file; the threads of --cpus."""
import csv
import json
import os
import re
import subprocess
import time

import pytest
from conftest import DB, RPCSH, ROOT, rpcsh
from line_protocol_parser import parse_line
from test_bench_streams import bench, within
from test_relay import Relay
from test_relay_record import seed_server

HELLO = f"--proto={ROOT / 'proto' / 'helloworld.proto'}"
ROUTE = f"--proto={ROOT / 'proto' / 'routeguide.proto'}"
ECHO = "rpcsh.testing.v1.Testing/Echo"


def test_each_call_in_a_details_file_and_as_influx_lines(serve, tmp_path):
    server = serve("--task-interval", "0")
    data = tmp_path / "echo.jsonl"
    # Every third call fails, with a text that needs quoting in each format.
    data.write_text('{}\n{}\n' + json.dumps({"code": 5, "message": 'no "x", here\nat all'}) + "\n")
    reports = {}
    for ext in ("csv", "jsonl", "lp"):
        path = tmp_path / f"details.{ext}"
        reports[ext] = json.loads(rpcsh("bench", "-a", server.addr, ECHO, "--data-file", str(data),
                                        "-n", "30", "-c", "1", "--details", str(path), "--tag", "env=t",
                                        "--output", "json").stdout)
    with open(tmp_path / "details.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 30 == reports["csv"]["count"]
    assert [r["status"] for r in rows].count("NotFound") == 10
    failed = next(r for r in rows if r["status"] == "NotFound")
    assert failed["error"] == 'no "x", here at all', failed
    assert all(int(r["latency_ns"]) > 0 for r in rows)
    lines = [json.loads(line) for line in (tmp_path / "details.jsonl").read_text().splitlines()]
    assert len(lines) == 30 and set(lines[0]) == {"timestamp", "latency", "status", "error"}
    stamps = [line["timestamp"] for line in lines]
    assert stamps == sorted(stamps)
    parsed = [parse_line(line.encode()) for line in (tmp_path / "details.lp").read_text().splitlines()]
    assert len(parsed) == 30 and parsed[0]["measurement"] == "rpcsh_bench_call"
    assert parsed[0]["tags"]["env"] == "t" and parsed[0]["tags"]["method"] == "/" + ECHO
    bad = next(p for p in parsed if p["tags"]["status"] == "NotFound")
    assert bad["fields"]["error"] == 'no "x", here at all' and bad["fields"]["latency"] > 0
    # --output influx-details: the calls' lines, then the summary's.
    out = rpcsh("bench", "-a", server.addr, "Greeter/SayHello", '{"name": "i"}', "-n", "12",
                "--output", "influx-details").stdout.splitlines()
    kinds = [parse_line(line.encode())["measurement"] for line in out]
    assert kinds == ["rpcsh_bench_call"] * 12 + ["rpcsh_bench", "rpcsh_bench_status"], kinds


def test_metadata_and_data_are_filled_per_call_with_ghz_placeholders(started, stubs):
    seed = seed_server(started, stubs, DB)
    relay = started(Relay, seed.addr, HELLO, "-v")
    r = bench(relay.addr, "Greeter/SayHello", '{"name": "{{.MethodName}}-{{randomString 6}}"}', HELLO,
              "-n", "5", "-c", "1", "-H", "x-id: {{.UUID}}", "-H", "x-n: {{.RequestNumber}}-{{unix}}")
    assert r["statuses"] == {"OK": 5}
    printed = relay.printed("end Ok", count=5)
    ids = re.findall(r"> header x-id: (\S+)", printed)
    numbers = re.findall(r"> header x-n: (\d+)-(\d+)", printed)
    names = re.findall(r'> \{"name":"([^"]+)"\}', printed)
    assert len(set(ids)) == 5 and all(len(i) == 36 for i in ids), printed
    assert [n for n, _ in numbers] == ["0", "1", "2", "3", "4"], printed
    assert all(abs(int(t) - time.time()) < 60 for _, t in numbers)
    assert len(names) == 5 and all(re.fullmatch(r"SayHello-[A-Za-z0-9]{6}", n) for n in names), names
    bad = rpcsh("bench", "-a", seed.addr, HELLO, "Greeter/SayHello", "-H", "x: {{.Nope}}", "-n", "1",
                check=False)
    assert bad.returncode == 1 and "unknown placeholder {{.Nope}}" in bad.stderr, bad.stderr


def test_a_client_stream_is_paced_and_limited_against_grpcio(started, stubs):
    seed = seed_server(started, stubs, DB)
    relay = started(Relay, seed.addr, ROUTE)
    points = '[{"latitude": 1, "longitude": 1}, {"latitude": 2, "longitude": 2}]'
    r = bench(relay.addr, "RouteGuide/RecordRoute", points, ROUTE, "-n", "2", "-c", "1",
              "--stream-interval", "60ms", "--stream-call-count", "5")
    assert r["statuses"] == {"OK": 2}
    # Five messages, four pauses of 60 ms between them.
    assert r["fastest_ms"] >= 240 and r["slowest_ms"] < 600, r
    assert relay.printed("end Ok", count=2).count('"pointCount":5') == 2
    r = bench(relay.addr, "RouteGuide/RecordRoute", '{"latitude": 1}', ROUTE, "-n", "2", "-c", "1",
              "--stream-interval", "100ms", "--stream-messages", "1000",
              "--stream-call-duration", "350ms")
    assert r["statuses"] == {"OK": 2} and within(r["average_ms"], 350, 0.15), r
    # A server stream is ended at the duration and counts as OK.
    r = bench(seed.addr, "RouteGuide/ListFeature", '{"lo": {"latitude": 400000000, "longitude": -750000000},'
              ' "hi": {"latitude": 420000000, "longitude": -730000000}}', ROUTE, "-n", "3", "-c", "3",
              "--stream-call-duration", "1ms")
    assert r["statuses"] == {"OK": 3} and r["slowest_ms"] < 200, r


@pytest.mark.parametrize("stop, counted", [("wait", {"OK": 10}), ("close", {"OK": 5, "Cancelled": 5}),
                                           ("ignore", {"OK": 5})])
def test_what_becomes_of_calls_in_flight_when_the_duration_ends(serve, stop, counted):
    server = serve("--task-interval", "0")
    # Five workers, 0.6 s calls, 1 s: the second round is in flight at the end.
    r = bench(server.addr, ECHO, '{"delay": "0.6s"}', "-z", "1s", "-c", "5", "--duration-stop", stop)
    assert r["statuses"] == counted, r
    assert (r["total_s"] > 1.1) == (stop == "wait"), r["total_s"]


def test_workers_rise_along_a_line(serve):
    server = serve("--task-interval", "0")
    r = bench(server.addr, ECHO, '{"delay": "0.05s"}', "--concurrency-ramp", "1..10/3s")
    stages = r["stages"]
    assert len(stages) == 10 and stages[0]["stage"] == "c=1..2" and stages[-1]["stage"] == "c=9..10"
    rates = [s["rps"] for s in stages]
    # Each worker makes about 20 calls a second: the rate follows the line.
    assert within(rates[0], 20 * 1.4, 0.4) and within(rates[-1], 20 * 9.6, 0.2), rates
    assert rates[-1] > rates[4] > rates[0], rates


def test_a_runs_options_from_a_toml_file(started, stubs, tmp_path):
    seed = seed_server(started, stubs, DB)
    options = tmp_path / "run.toml"
    options.write_text(f'''
call = "Greeter/SayHello"
host = "{seed.addr}"
proto = "{ROOT / 'proto' / 'helloworld.proto'}"
total = 40
concurrency = 4
data = {{ name = "t-{{{{n}}}}" }}
tags = {{ env = "toml" }}
name = "from a file"
output = "json"
''')
    r = json.loads(rpcsh("bench", "--options", str(options)).stdout)
    assert (r["count"], r["name"], r["tags"], r["statuses"]) == (40, "from a file", {"env": "toml"}, {"OK": 40})
    # The command line's flags win over the file's.
    r = json.loads(rpcsh("bench", "--options", str(options), "-n", "7").stdout)
    assert r["count"] == 7
    options.write_text("totl = 3\n")
    bad = rpcsh("bench", "--options", str(options), check=False)
    assert bad.returncode == 1 and 'unknown option "totl"' in bad.stderr and "hint:" in bad.stderr


def threads(pid):
    names = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            pass
    return sum(n.startswith(("tokio-rt-worker", "tokio-runtime-w")) for n in names)


@pytest.mark.parametrize("cpus", [1, 3])
def test_cpus_sets_the_threads_that_make_the_calls(serve, cpus):
    server = serve("--task-interval", "0")
    proc = subprocess.Popen([RPCSH, "bench", "-a", server.addr, "Greeter/SayHello", "{}", "-z", "2s",
                             "--rps", "50", "--cpus", str(cpus)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    time.sleep(1)
    seen = threads(proc.pid)
    proc.communicate(timeout=30)
    assert proc.returncode == 0 and seen == cpus, seen
