"""`rpcsh bench` load shapes and request data: rates in steps against the seed's grpcio server
(its stages must reach the rates asked, within 10%), workers in steps against a paced `Echo`
(each stage's rate follows its workers), a linear ramp (it sends its area and rises stage by
stage), and requests from a JSON-lines `--data-file`, in turn or at random, with placeholders,
as a recording proxy saw them arrive."""
import json
import re

from conftest import DB, ROOT, rpcsh
from test_bench_streams import bench, within
from test_relay import Relay
from test_relay_record import seed_server

HELLO = f"--proto={ROOT / 'proto' / 'helloworld.proto'}"
CAL = f"--proto={ROOT / 'proto' / 'SimpleCal.proto'}"


def test_rate_steps_reach_each_rate_against_a_grpcio_server(started, stubs):
    seed = seed_server(started, stubs, DB)
    r = bench(seed.addr, "Greeter/SayHello", '{"name": "steps"}', HELLO,
              "--rps-steps", "50,150/2s")
    assert r["statuses"] == {"OK": r["count"]}, r["statuses"]
    first, second = r["stages"]
    assert (first["stage"], second["stage"]) == ("50/s", "150/s")
    assert (first["from_s"], first["to_s"], second["to_s"]) == (0, 2, 4)
    assert within(first["rps"], 50) and within(second["rps"], 150), r["stages"]
    # What the server kept up with: calls that ended OK within each stage.
    assert within(first["ok_per_s"], 50) and within(second["ok_per_s"], 150), r["stages"]
    assert first["count"] + second["count"] == r["count"]
    # Open loop: the run lasts the steps, not as long as a slow server makes it.
    assert within(r["total_s"], 4, 0.05), r["total_s"]
    csv = rpcsh("bench", "-a", seed.addr, HELLO, "Greeter/SayHello", '{"name": "c"}',
                "--rps-steps", "20,40/1s", "--output", "csv").stdout
    rows = dict(line.split(",", 1) for line in csv.splitlines()[1:])
    assert rows["stage1"] == "20/s" and rows["stage2"] == "40/s", rows
    assert within(float(rows["stage2_rps"]), 40) and "stage2_p99_ms" in rows


def test_concurrency_steps_set_the_workers_of_each_stage(serve):
    server = serve()
    r = bench(server.addr, "Testing/Echo", '{"delay": "0.02s"}', "--concurrency-steps", "1,4/1s")
    first, second = r["stages"]
    assert (first["stage"], second["stage"]) == ("c=1", "c=4")
    # Calls of 20 ms: one worker makes about 50 a second, four about 200.
    assert 35 <= first["rps"] <= 50 and 140 <= second["rps"] <= 200, r["stages"]
    assert first["percentiles_ms"]["p50"] >= 20 and second["percentiles_ms"]["p50"] >= 20
    # Open loop with too few workers: what could not be sent when due is said, not hidden.
    short = rpcsh("bench", "-a", server.addr, "Testing/Echo", '{"delay": "0.05s"}', "-c", "2",
                  "--rps-steps", "100/1s", "--output", "json")
    assert json.loads(short.stdout)["count"] <= 45, short.stdout
    assert re.search(r"note: \d+ of the 100 requests due were not sent: all 2 workers", short.stderr)
    text = rpcsh("bench", "-a", server.addr, "Testing/Echo", "{}", "--concurrency-steps",
                 "2,3/0.5s").stdout
    assert re.search(r"0-0\.5s c=2 +\d+", text) and re.search(r"0\.5-1s c=3 +\d+", text), text


def test_a_ramp_sends_its_area_and_rises(serve):
    server = serve()
    r = bench(server.addr, "Greeter/SayHello", '{"name": "ramp"}', "--ramp", "0..400/2s")
    # 0 → 400 a second over 2 s is 400 requests; they are due ever closer together.
    assert abs(r["count"] - 400) <= 2 and r["statuses"] == {"OK": r["count"]}, r["count"]
    counts = [s["count"] for s in r["stages"]]
    assert len(counts) == 10 and counts == sorted(counts) and counts[-1] > 8 * counts[0], counts
    assert r["stages"][0]["stage"] == "0..40/s" and r["stages"][9]["stage"] == "360..400/s"
    # Stages of two runs made at once merge by position.
    reports = []
    for k in range(2):
        path = server.addr.replace(":", "_") + f"-{k}.json"
        out = rpcsh("bench", "-a", server.addr, "Greeter/SayHello", "{}", "--rps-steps",
                    "30,60/0.5s", "--output", "json").stdout
        reports.append((path, json.loads(out)))
    import pathlib
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for name, report in reports:
            p = pathlib.Path(d) / name
            p.write_text(json.dumps(report))
            paths.append(str(p))
        merged = json.loads(rpcsh("bench", "merge", *paths, "--output", "json").stdout)
    assert [s["count"] for s in merged["stages"]] == [
        sum(rep["stages"][k]["count"] for _, rep in reports) for k in range(2)]


def sent(relay, count):
    """The requests a recording proxy saw, in order, once `count` calls ended."""
    printed = relay.printed("end Ok", count=count)
    return [json.loads(line.split("] > ", 1)[1]) for line in printed.splitlines()
            if re.match(r"\[\d+\] > ", line)]


def test_a_data_file_is_sent_in_turn_with_its_placeholders(started, stubs, tmp_path):
    seed = seed_server(started, stubs, DB)
    relay = started(Relay, seed.addr, CAL)
    data = tmp_path / "adds.jsonl"
    data.write_text('{"number1": 1, "number2": 2}\n\n'
                    '{"number1": {{n}}, "number2": {{random 5 7}}}\n'
                    '{"number1": 100, "number2": {{worker}}}\n')
    r = bench(relay.addr, "Cal/Add", "--data-file", str(data), CAL, "-n", "6", "-c", "1")
    assert r["statuses"] == {"OK": 6}, r
    seen = sent(relay, 6)
    assert len(seen) == 6, relay.printed("end Ok", 6)
    assert seen[0] == {"number1": 1, "number2": 2} == seen[3]
    assert seen[1]["number1"] == 1 and seen[4]["number1"] == 4, seen
    assert all(5 <= s["number2"] <= 7 for s in (seen[1], seen[4])), seen
    # One worker: {{worker}} is 0, which JSON of proto3 leaves out.
    assert seen[2] == {"number1": 100} == seen[5], seen


def test_random_lines_and_uuids_differ_per_request(started, stubs, tmp_path):
    seed = seed_server(started, stubs, DB)
    relay = started(Relay, seed.addr, HELLO)
    data = tmp_path / "names.jsonl"
    data.write_text('{"name": "a"}\n{"name": "b"}\n{"name": "c-{{uuid}}"}\n')
    bench(relay.addr, "Greeter/SayHello", "--data-file", str(data), "--random", HELLO,
          "-n", "60", "-c", "3")
    names = [s["name"] for s in sent(relay, 60)]
    assert len(names) == 60 and {"a", "b"} <= set(names), names
    ids = [n for n in names if n.startswith("c-")]
    assert ids and len(set(ids)) == len(ids) and len(ids[0]) == 2 + 36, ids


def test_shape_and_data_mistakes_are_one_error_line(serve, tmp_path):
    server = serve()
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"name": "ok"}\n{"nme": "x"}\n')
    bench_mistakes(server.addr, [
        (["Greeter/SayHello", "--ramp", "100/10s"], 2, "FROM..TO/DURATION"),
        (["Greeter/SayHello", "--rps-steps", "10,0/1s"], 2, "more than 0"),
        (["Greeter/SayHello", "--rps", "0"], 2, "more than 0"),
        (["Greeter/SayHello", "--ramp", "1..2/1s", "--rps", "5"], 2, "cannot be used"),
        (["Greeter/SayHello", "--random"], 2, "--data-file"),
        (["Greeter/SayHello", "--data-file", str(empty)], 1, "has no requests"),
        (["Greeter/SayHello", "--data-file", str(bad)], 1, "bad.jsonl:2"),
        (["Greeter/SayHello", "--data-file", str(tmp_path / "none")], 1, "cannot read"),
        (["Greeter/SayHello", '{"name": "{{nope}}"}'], 1, "unknown placeholder {{nope}}"),
    ])


def bench_mistakes(addr, cases):
    """Each `(flags, exit code, what stderr says)`: usage errors exit 2 (clap's), others 1 with
    one `rpcsh: error:` line and nothing on stdout (no load ran)."""
    for flags, code, said in cases:
        p = rpcsh("bench", "-a", addr, *flags, check=False)
        assert p.returncode == code and said in p.stderr, (flags, p.returncode, p.stderr)
        if code == 1:
            assert p.stderr.startswith("rpcsh: error:") and p.stdout == "", p.stderr
