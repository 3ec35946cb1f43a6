"""rpcsh ui in chromium (Playwright, the system chromium), timed as a person waits: a 1,000-service
grpcio schema (bench/schema_server.py 1000 40) listed, searched and called; and a 20,000-message
server stream of `rpcsh serve` shown whole. Median of RUNS page loads.

    target/py-venv/bin/python bench/ui.py [RUNS]
"""
import statistics
import subprocess
import sys
import time
import pathlib

from playwright.sync_api import expect, sync_playwright

ROOT = pathlib.Path(__file__).resolve().parents[1]
RPCSH = str(ROOT / "target" / "release" / "rpcsh")


def started(args, prefix):
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith(prefix), line
    return proc, line.removeprefix(prefix).strip()


def main(runs):
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    schema, big = started([sys.executable, str(ROOT / "bench" / "schema_server.py"), "1000", "40"], "listening on ")
    serve, demo = started([RPCSH, "serve", "--listen", "127.0.0.1:0", "--task-interval", "0"], "listening on ")
    ui_big, big_url = started([RPCSH, "ui", "--no-browser", big], "ui on ")
    ui_demo, demo_url = started([RPCSH, "ui", "--no-browser", demo], "ui on ")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            listed, searched, called = [], [], []
            for _ in range(runs):
                page = browser.new_page()
                t0 = time.perf_counter()
                page.goto(big_url)
                services = page.get_by_role("list", name="Service tree").get_by_role("listitem")
                expect(services).to_have_count(1001, timeout=60000)
                listed.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                page.get_by_label("Search methods").fill("Svc999")
                expect(services.filter(visible=True)).to_have_count(1)
                searched.append(time.perf_counter() - t0)
                name = services.filter(visible=True).text_content().strip()
                t0 = time.perf_counter()
                page.get_by_role("navigation", name="Services").get_by_text(name, exact=True).click()
                page.get_by_role("list", name=f"Methods of {name}").get_by_role("button", name="Call0", exact=True).click()
                page.get_by_role("button", name="Send", exact=True).click()
                expect(page.get_by_role("status", name="Call status")).to_have_text("OK: 1 message(s)", timeout=60000)
                called.append(time.perf_counter() - t0)
                page.close()
            ms = lambda xs: f"{statistics.median(xs) * 1000:.0f} ms"
            print(f"1,000-service grpcio schema, median of {runs}: listed {ms(listed)}, "
                  f"searched {ms(searched)}, method opened and called {ms(called)}")
            page = browser.new_page()
            page.goto(demo_url)
            page.get_by_role("navigation", name="Services").get_by_text("rpcsh.testing.v1.Testing", exact=True).click()
            page.get_by_role("button", name="Generate", exact=True).click()
            page.get_by_label("count").fill("20000")
            t0 = time.perf_counter()
            page.get_by_role("button", name="Send", exact=True).click()
            status = page.get_by_role("status", name="Call status")
            expect(status).to_have_text(__import__("re").compile("^OK: "), timeout=120000)
            took = time.perf_counter() - t0
            print(f"20,000-message stream: {status.text_content()} in {took:.2f} s "
                  f"({20000 / took:,.0f} msg/s shown)")
            browser.close()
    finally:
        for proc in (ui_big, ui_demo, schema, serve):
            proc.kill()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
