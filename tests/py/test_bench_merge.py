"""`rpcsh bench merge`: three `rpcsh bench --output json` processes at once against one
`rpcsh serve`, merged: counts and statuses are their sums, the extremes theirs, and merging is
exact (merging a merge with the third report gives the same percentiles as merging all three)."""
import json
import subprocess

from conftest import RPCSH, rpcsh


def test_three_reports_merge_into_their_union(serve, tmp_path):
    server = serve("--task-interval", "0")
    runs = [subprocess.Popen([RPCSH, "bench", "-a", server.addr, "Greeter/SayHello",
                              '{"name": "m"}', "-n", str(n), "-c", "4", "--output", "json"],
                             stdout=subprocess.PIPE, text=True) for n in (300, 400, 500)]
    paths = []
    for i, run in enumerate(runs):
        out, _ = run.communicate(timeout=120)
        assert run.returncode == 0
        paths.append(tmp_path / f"run-{i}.json")
        paths[-1].write_text(out)
    reports = [json.loads(p.read_text()) for p in paths]

    def merge(*files, output="json"):
        return rpcsh("bench", "merge", *map(str, files), "--output", output).stdout
    merged = json.loads(merge(*paths))
    assert merged["count"] == 1200 and merged["statuses"] == {"OK": 1200}
    assert merged["responses"] == sum(r["responses"] for r in reports)
    assert merged["fastest_ms"] == min(r["fastest_ms"] for r in reports)
    assert merged["slowest_ms"] == max(r["slowest_ms"] for r in reports)
    assert abs(merged["rps"] - sum(r["rps"] for r in reports)) < 1e-6
    for p, v in merged["percentiles_ms"].items():
        values = [r["percentiles_ms"][p] for r in reports]
        assert min(values) <= v <= max(values), (p, v, values)
    first_two = tmp_path / "first-two.json"
    first_two.write_text(merge(paths[0], paths[1]))
    again = json.loads(merge(first_two, paths[2]))
    assert again["percentiles_ms"] == merged["percentiles_ms"]
    assert again["histogram_us"] == merged["histogram_us"]
    text = rpcsh("bench", "merge", *map(str, paths)).stdout
    assert "Count:        1200" in text and "/Greeter/SayHello" in text
    bad = rpcsh("bench", "merge", str(tmp_path / "nothing.json"), check=False)
    assert bad.returncode != 0 and bad.stderr.startswith("rpcsh: error: cannot merge")
