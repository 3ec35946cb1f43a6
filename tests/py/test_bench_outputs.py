"""`rpcsh bench --output prometheus` (and `bench merge --output prometheus`), read by Prometheus's
own Python client's parser of the text exposition format: every family typed, the values equal
to the JSON report's; and `--output influx-summary` read by a line protocol parser."""
import json

from conftest import rpcsh
from prometheus_client.parser import text_string_to_metric_families


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_a_report_in_prometheus_text_format(serve, tmp_path):
    server = serve("--task-interval", "0")
    out = rpcsh("bench", "-a", server.addr, "rpcsh.testing.v1.Testing/Echo", '{"code": 5}',
                "-n", "40", "-c", "4", "--output", "prometheus").stdout
    got = families(out)
    calls = got["rpcsh_bench_calls"]  # the parser names a counter without its _total
    assert calls.type == "counter"
    [sample] = calls.samples
    assert sample.labels == {"method": "/rpcsh.testing.v1.Testing/Echo", "status": "NotFound"}
    assert sample.value == 40
    latency = got["rpcsh_bench_latency_seconds"]
    assert latency.type == "summary"
    by_name = {}
    for s in latency.samples:
        by_name.setdefault(s.name, []).append(s)
    quantiles = {s.labels["quantile"]: s.value for s in by_name["rpcsh_bench_latency_seconds"]}
    assert set(quantiles) >= {"0.5", "0.9", "0.99", "0.999"}
    assert list(quantiles.values()) == sorted(quantiles.values())
    assert by_name["rpcsh_bench_latency_seconds_count"][0].value == 40
    for gauge in ("requests_per_second", "duration_seconds", "latency_fastest_seconds",
                  "latency_slowest_seconds"):
        assert got[f"rpcsh_bench_{gauge}"].type == "gauge"
    fastest = got["rpcsh_bench_latency_fastest_seconds"].samples[0].value
    slowest = got["rpcsh_bench_latency_slowest_seconds"].samples[0].value
    assert 0 < fastest <= quantiles["0.5"] <= slowest


def test_merged_reports_in_prometheus_text_format(serve, tmp_path):
    server = serve("--task-interval", "0")
    paths = []
    for n in (100, 150):
        path = tmp_path / f"{n}.json"
        path.write_text(rpcsh("bench", "-a", server.addr, "Greeter/SayHello", '{"name": "p"}',
                              "-n", str(n), "--output", "json").stdout)
        paths.append(str(path))
    merged = json.loads(rpcsh("bench", "merge", *paths, "--output", "json").stdout)
    got = families(rpcsh("bench", "merge", *paths, "--output", "prometheus").stdout)
    assert got["rpcsh_bench_calls"].samples[0].value == 250 == merged["count"]
    median = [s for s in got["rpcsh_bench_latency_seconds"].samples if s.labels.get("quantile") == "0.5"]
    assert abs(median[0].value * 1000 - merged["percentiles_ms"]["p50"]) < 1e-6


def test_a_report_in_influxdb_line_protocol(serve):
    from line_protocol_parser import parse_line
    server = serve("--task-interval", "0")
    report = json.loads(rpcsh("bench", "-a", server.addr, "Greeter/SayHello", '{"name": "i"}',
                              "-n", "60", "--output", "json").stdout)
    out = rpcsh("bench", "-a", server.addr, "Greeter/SayHello", '{"name": "i"}', "-n", "60",
                "--output", "influx-summary").stdout
    run, status = [parse_line(line.encode()) for line in out.splitlines()]
    assert run["measurement"] == "rpcsh_bench" and run["tags"] == {"method": "/Greeter/SayHello"}
    fields = run["fields"]
    assert fields["count"] == 60 and fields["errors"] == 0
    assert 0 < fields["fastest"] <= fields["p50"] <= fields["p99"] <= fields["slowest"]
    assert fields["total"] > fields["slowest"]
    assert set(fields) >= {"average", "rps", "p10", "p90", "p99_9"}
    assert status == {"measurement": "rpcsh_bench_status", "time": run["time"],
                      "tags": {"method": "/Greeter/SayHello", "status": "OK"}, "fields": {"count": 60}}
    # Stamped now, in nanoseconds.
    import time
    assert abs(run["time"] / 1e9 - time.time()) < 60
    assert report["count"] == fields["count"]
