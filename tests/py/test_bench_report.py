"""`rpcsh bench --output html` and `rpcsh bench report` as a person looks at them: the page opened
in Debian's chromium, its charts drawn (canvases with pixels on them), its numbers the JSON
report's, nothing fetched, a server's error texts shown as text; several reports side by side;
and the live figures a terminal shows while a run goes (none in a pipe)."""
import json
import os
import pathlib
import pty
import select
import subprocess

import pytest
from conftest import DB, RPCSH, ROOT, rpcsh
from test_relay_record import seed_server
from test_ui import browser  # noqa: F401 (the module's chromium)

SHOTS = pathlib.Path(__file__).resolve().parents[2] / "target" / "bench-shots"
HELLO = f"--proto={ROOT / 'proto' / 'helloworld.proto'}"
HOSTILE = "<img src=x onerror=\"document.title='pwned'\"> \x1b[31mred"


def fixed(v, places):
    return f"{v:.{places}f}"


def open_page(browser, html, name):  # noqa: F811
    path = SHOTS / f"{name}.html"
    SHOTS.mkdir(parents=True, exist_ok=True)
    path.write_text(html)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function("document.body.dataset.drawn")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert errors == [], errors
    assert requests == [path.as_uri()], requests
    return page


def inked(page, figure):
    """The pixels drawn on the canvas of a figure found by its caption."""
    fig = page.get_by_role("figure", name=figure, exact=True)
    return fig.locator("canvas").evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let k = 3; k < d.length; k += 4) if (d[k]) n++; return n; }")


def summary(page):
    """The summary table as {row: [cell per report]}."""
    table = page.get_by_role("table", name="Summary")
    rows = {}
    for row in table.locator("tbody tr").all():
        rows[row.locator("th").inner_text()] = [c.inner_text() for c in row.locator("td").all()]
    return rows


def test_a_runs_html_report_draws_it_and_equals_its_json(started, stubs, browser, tmp_path):  # noqa: F811
    seed = seed_server(started, stubs, DB)
    saved = tmp_path / "run.json"
    saved.write_text(rpcsh("bench", "-a", seed.addr, HELLO, "Greeter/SayHello", '{"name": "h"}',
                           "-z", "3s", "--rps", "100", "--name", "grpcio seed", "--tag", "env=test",
                           "--output", "json").stdout)
    report = json.loads(saved.read_text())
    seconds = report["seconds"]
    assert sum(s["calls"] for s in seconds) == report["count"]
    assert [s["second"] for s in seconds] == list(range(len(seconds)))
    assert all(90 <= s["rps"] <= 110 for s in seconds[:2]), seconds
    page = open_page(browser, rpcsh("bench", "report", str(saved), "--output", "html").stdout,
                     "one-run")
    assert page.title() == "rpcsh bench: grpcio seed"
    rows = summary(page)
    assert rows["Count"] == [str(report["count"])]
    assert rows["Requests/sec"] == [fixed(report["rps"], 1)]
    assert rows["p99 (ms)"] == [fixed(report["percentiles_ms"]["p99"], 2)]
    assert rows["Tags"] == ["env=test"] and rows["Errors"] == ["0"]
    for figure in ("Requests per second over time", "Latency over time", "Errors over time",
                   "Latency histogram", "Latency percentiles"):
        assert inked(page, figure) > 500, figure
    percentiles = page.get_by_role("table", name="Latency percentiles (ms)")
    assert percentiles.get_by_role("row", name="p90").get_by_role("cell").inner_text() == \
        fixed(report["percentiles_ms"]["p90"], 2)
    # A run's own --output html is the same page.
    direct = rpcsh("bench", "-a", seed.addr, HELLO, "Greeter/SayHello", '{"name": "d"}', "-n", "50",
                   "--output", "html").stdout
    assert direct.startswith("<!doctype html>") and "uPlot" in direct and "Permission is hereby" in direct


def test_reports_side_by_side_and_a_servers_text_stays_text(serve, browser, tmp_path):  # noqa: F811
    server = serve("--task-interval", "0")
    lines = tmp_path / "echo.jsonl"
    lines.write_text("{}\n{}\n{}\n" + json.dumps({"code": 13, "message": HOSTILE}) + "\n")
    paths = []
    for name, rate in (("slow", "100"), ("fast", "300")):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(rpcsh("bench", "-a", server.addr, "rpcsh.testing.v1.Testing/Echo",
                                   "--data-file", str(lines), "-z", "2s", "--rps", rate,
                                   "--name", name, "--output", "json").stdout)
    reports = [json.loads(p.read_text()) for p in paths]
    page = open_page(browser, rpcsh("bench", "report", *map(str, paths), "--output", "html").stdout,
                     "compared")
    assert page.title() == "rpcsh bench: 2 runs compared"
    rows = summary(page)
    assert rows["Name"] == ["slow", "fast"]
    assert rows["Count"] == [str(r["count"]) for r in reports]
    assert rows["Errors"] == [str(r["statuses"]["Internal"]) for r in reports]
    assert all(r["statuses"]["Internal"] == r["count"] // 4 for r in reports), reports
    legend = page.get_by_role("figure", name="Requests per second over time")
    assert legend.get_by_text("slow").count() == 1 and legend.get_by_text("fast").count() == 1
    assert inked(page, "Errors over time") > 500
    assert inked(page, "Latency histogram: fast") > 500
    # The error text as the server sent it, shown as text: no image, no script ran.
    shown = page.get_by_role("list").filter(has_text="onerror").first.inner_text()
    assert "<img src=x onerror" in shown
    assert page.locator("main img").count() == 0 and page.title() != "pwned"


def read_terminal(fd, proc, timeout=30):
    """What the process wrote to the terminal until it ended (read as it goes: a full terminal
    would block it)."""
    out = b""
    while True:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=timeout)
    return out.decode(errors="replace")


def test_a_terminal_shows_live_figures_and_a_pipe_does_not(serve, tmp_path):
    server = serve("--task-interval", "0")
    args = [RPCSH, "bench", "-a", server.addr, "Greeter/SayHello", '{"name": "live"}', "-z", "3s",
            "--rps", "200"]
    main, tty = pty.openpty()
    report = tmp_path / "report.txt"
    with open(report, "w") as stdout:
        proc = subprocess.Popen(args, stdout=stdout, stderr=tty)
    os.close(tty)
    screen = read_terminal(main, proc)
    os.close(main)
    report = report.read_text()
    assert proc.returncode == 0
    assert "last second:" in screen and "so far:" in screen, screen
    figures = [line for line in screen.split("\n") if "last second:" in line and "req/s" in line]
    assert any(" 200 req/s" in line or " 199 req/s" in line or " 201 req/s" in line
               for line in figures), figures
    assert "Requests/sec:" in report and "last second" not in report
    piped = rpcsh("bench", "-a", server.addr, "Greeter/SayHello", '{"name": "pipe"}', "-z", "2s",
                  "--rps", "100")
    assert "last second" not in piped.stderr and "\x1b" not in piped.stderr
    assert "Requests/sec:" in piped.stdout


@pytest.mark.parametrize("bad", ["env", "=x", "a b=c", "k=line\nbreak"])
def test_a_bad_tag_is_one_error_line(bad):
    r = rpcsh("bench", "Greeter/SayHello", "--tag", bad, check=False)
    assert r.returncode == 2 and "--tag" in r.stderr, r.stderr


def test_stages_steps_and_streams_have_their_tables(serve, browser, tmp_path):  # noqa: F811
    server = serve("--task-interval", "0")
    staged = json.loads(rpcsh("bench", "-a", server.addr, "Greeter/SayHello", '{"name": "s"}',
                              "--rps-steps", "50,100/1s", "--output", "json").stdout)
    path = tmp_path / "staged.json"
    path.write_text(json.dumps(staged))
    stream = rpcsh("bench", "-a", server.addr, "Testing/Generate", '{"count": 5, "interval": "0.01s"}',
                   "-n", "4", "--output", "html").stdout
    script = tmp_path / "two.rpcsh"
    script.write_text('Greeter/SayHello {"name": "a"}\nCal/Add {"number1": 1, "number2": 2}\n')
    steps = rpcsh("bench", "-a", server.addr, "--script", str(script), "-n", "3", "-c", "1",
                  "--output", "html").stdout
    page = open_page(browser, rpcsh("bench", "report", str(path), "--output", "html").stdout, "stages")
    table = page.get_by_role("table", name="Stages")
    first, second = staged["stages"]
    row = table.locator("tbody tr")
    assert row.filter(has_text="s 50/s").locator("td").nth(0).inner_text() == str(first["count"])
    assert row.filter(has_text="s 100/s").locator("td").nth(1).inner_text() == fixed(second["rps"], 1)
    page = open_page(browser, stream, "stream")
    metrics = page.get_by_role("table", name="Stream metrics (ms)")
    assert metrics.get_by_role("row", name="first message").count() == 1
    assert metrics.get_by_role("row", name="gap between messages").count() == 1
    assert "20 messages" in page.get_by_role("region", name="Stream metrics").inner_text()
    page = open_page(browser, steps, "steps")
    rows = page.get_by_role("table", name="Steps").locator("tbody tr")
    assert rows.count() == 2
    assert [rows.nth(k).locator("td").first.inner_text() for k in range(2)] == ["3", "3"]
