"""`rpcsh bench` inside streams, against servers whose pacing is known: rpcsh's Testing service
(tonic, `Generate` at a set interval, `Chat` echoing each blob) and grpcio's interop TestService
(a Python server sleeping `interval_us` before each response). The measured gaps must match the
pacing within 10%; held streams (`--streams N --hold D`) must give the messages per second the
pacing makes; reports of stream runs merge exactly."""
import json
import subprocess
import time

import pytest

from conftest import RPCSH, rpcsh


def bench(addr, method, data, *flags):
    out = rpcsh("bench", "-a", addr, method, data, *flags, "--output", "json", timeout=120).stdout
    return json.loads(out)


def within(measured, expected, share=0.10):
    return abs(measured - expected) <= expected * share


def test_gaps_of_a_paced_server_stream_match_its_interval(serve):
    server = serve()
    r = bench(server.addr, "Testing/Generate", '{"count": 15, "interval": "0.02s"}', "-n", "8",
              "-c", "4")
    s = r["streams"]
    assert r["statuses"] == {"OK": 8} and s["messages"] == 8 * 15 == r["responses"]
    gap = s["gap"]
    assert gap["percentiles_ms"]["p50"] == pytest.approx(20, rel=0.10), gap
    assert within(gap["mean_ms"], 20), gap
    # The first message comes at once (the interval starts with a tick), well before a gap.
    assert s["first_message"]["percentiles_ms"]["p50"] < 10, s["first_message"]
    assert "message_latency" not in s
    csv = rpcsh("bench", "-a", server.addr, "Testing/Generate", '{"count": 3}', "-n", "2",
                "--output", "csv").stdout
    rows = dict(line.split(",") for line in csv.splitlines()[1:])
    assert rows["messages"] == "6" and "gap_p50_ms" in rows and "first_message_p99_ms" in rows
    text = rpcsh("bench", "-a", server.addr, "Testing/Generate", '{"count": 3}', "-n", "2").stdout
    assert "Stream metrics (ms):" in text and "gap between messages" in text, text


def test_gaps_of_a_grpcio_server_stream_match_its_sleeps(stubs, started):
    from interop_testservice import TestServer
    peer = started(TestServer)
    data = json.dumps({"response_parameters": [{"size": 1, "interval_us": 25_000}] * 12})
    r = bench(peer.addr, "grpc.testing.TestService/StreamingOutputCall", data, "-n", "6", "-c", "3")
    gap = r["streams"]["gap"]
    assert r["statuses"] == {"OK": 6} and r["streams"]["messages"] == 72
    assert gap["percentiles_ms"]["p50"] == pytest.approx(25, rel=0.10), gap
    # A sleep before each message, the first's included.
    assert r["streams"]["first_message"]["percentiles_ms"]["p50"] >= 25


def test_bidi_answers_are_timed_from_their_request(stubs, started):
    from interop_testservice import TestServer
    peer = started(TestServer)
    data = json.dumps([{"response_parameters": [{"size": 2, "interval_us": 30_000}]}] * 4)
    r = bench(peer.addr, "grpc.testing.TestService/FullDuplexCall", data, "-n", "3", "-c", "1")
    s = r["streams"]
    assert r["statuses"] == {"OK": 3} and s["messages"] == 12
    # All four requests go at once; the server answers them 30 ms apart, so answer n comes
    # about 30·n ms after its request: from 30 to 120 ms, 75 on average.
    latency = s["message_latency"]
    assert within(latency["mean_ms"], 75, 0.15), latency
    assert within(s["gap"]["percentiles_ms"]["p50"], 30), s["gap"]


def test_held_streams_give_the_rate_their_pacing_makes(serve):
    server = serve()
    started_at = time.monotonic()
    r = bench(server.addr, "Testing/Generate", '{"count": 100000, "interval": "0.05s"}',
              "--streams", "20", "--hold", "2s")
    took = time.monotonic() - started_at
    s = r["streams"]
    assert r["count"] == 20 and r["statuses"] == {"OK": 20}
    assert 2 <= r["total_s"] < 3 and took < 10
    # 20 streams of one message each 50 ms: 400 a second, and one more per stream at its start.
    assert within(s["messages_per_s"], 400 + 20 / 2), s
    assert within(s["gap"]["percentiles_ms"]["p50"], 50), s["gap"]


def test_held_bidi_streams_stay_open_after_their_requests(serve):
    server = serve()
    r = bench(server.addr, "Testing/Chat", '{"seq": 7}', "--streams", "150", "--hold", "1s",
              "--stream-messages", "4")
    s = r["streams"]
    # Had the sending side closed, Chat would have ended each call OK before the hold; held,
    # every stream is cut at the hold's end with its four answers in.
    assert r["count"] == 150 and r["statuses"] == {"OK": 150} and s["messages"] == 600
    # The hold ends 1 s after the run starts, so a stream opened late is held a little less;
    # an unheld Chat call lasts milliseconds.
    assert r["fastest_ms"] >= 500, r
    assert s["message_latency"]["percentiles_ms"]["p50"] > 0


def test_stream_reports_merge_exactly(serve, tmp_path):
    server = serve()
    runs = [subprocess.Popen([RPCSH, "bench", "-a", server.addr, "Testing/Generate",
                              '{"count": 10, "interval": "0.01s"}', "-n", str(n), "-c", "2",
                              "--output", "json"], stdout=subprocess.PIPE, text=True)
            for n in (4, 6)]
    paths = []
    for i, run in enumerate(runs):
        out, _ = run.communicate(timeout=120)
        assert run.returncode == 0
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(out)
    reports = [json.loads(p.read_text())["streams"] for p in paths]
    merged = json.loads(rpcsh("bench", "merge", *map(str, paths), "--output", "json").stdout)
    s = merged["streams"]
    assert s["messages"] == 100 and merged["responses"] == 100
    assert s["messages_per_s"] == pytest.approx(sum(r["messages_per_s"] for r in reports))
    for metric in ("gap", "first_message"):
        assert s[metric]["max_ms"] == max(r[metric]["max_ms"] for r in reports)
        for p, v in s[metric]["percentiles_ms"].items():
            values = [r[metric]["percentiles_ms"][p] for r in reports]
            assert min(values) <= v <= max(values), (metric, p, v, values)
    again = tmp_path / "again.json"
    again.write_text(json.dumps(merged))
    twice = json.loads(rpcsh("bench", "merge", str(again), "--output", "json").stdout)
    assert twice["streams"]["gap"]["histogram_us"] == s["gap"]["histogram_us"]


def test_held_stream_mistakes_are_one_error(serve):
    server = serve()
    r = rpcsh("bench", "-a", server.addr, "Greeter/SayHello", "--streams", "2", "--hold", "1s",
              check=False)
    assert r.returncode == 1 and r.stderr.startswith("rpcsh: error:"), r.stderr
    assert "is not a server-streaming" in r.stderr and "hint:" in r.stderr, r.stderr
    r = rpcsh("bench", "-a", server.addr, "Testing/Generate", "--streams", "2", "--hold", "1s",
              "-n", "5", check=False)
    assert r.returncode == 2 and "cannot be used with" in r.stderr, r.stderr
