#!/usr/bin/env python3
"""Soak and leak checks of rpcsh, run against the real binary (stdlib only).

1. The shell: CALLS calls of each style (unary, server stream, client stream, bidi) piped to one
   `rpcsh connect`; its `stats` after warm-up and at the end: RSS growth under 10%, open fds and
   tokio tasks back to where they were.
2. The server: STREAMS concurrent streams (ListFeature, RouteChat, getTask) from `rpcsh bench`
   processes killed with SIGKILL mid-call; meanwhile a plain call must still answer; afterwards
   the server's fds and tasks are back to their baseline and its RSS near it.
3. Contact's fan-out with a subscriber that never reads, tasks generated every 10 ms: the
   server's RSS stays bounded.

    bench/soak.py RPCSH [CALLS] [STREAMS]     (bench/soak.sh builds and runs it)
Exit status 1 when a check fails.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

RPCSH = sys.argv[1]
CALLS = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
STREAMS = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
failures = []


def check(ok, what):
    print(("  ok    " if ok else "  FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def stats(text):
    """Every `rss_kib=.. fds=.. tasks=..` reading in text, as dicts."""
    return [
        {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m)}
        for m in re.findall(r"rss_kib=\d+ fds=\d+ tasks=\d+", text)
    ]


class Server:
    def __init__(self, *args):
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log")
        self.proc = subprocess.Popen(
            [RPCSH, "serve", "--listen", "127.0.0.1:0", "--stats", "100ms", *args],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on "), line
        self.addr = line.split()[-1]

    def readings(self):
        self.log.seek(0)
        return stats(self.log.read())

    def settle(self, seconds=1.0):
        """The last reading after `seconds` of quiet."""
        time.sleep(seconds)
        return self.readings()[-1]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def rpcsh(*args, **kw):
    return subprocess.run([RPCSH, *args], capture_output=True, text=True, **kw)


def shell_soak(server):
    print(f"== the shell: {CALLS} calls of each style in one session", flush=True)
    one_round = (
        'Greeter/SayHello {"name": "soak"}\n'
        'Testing/Generate {"count": 3}\n'
        'call RouteGuide/RecordRoute\n{"latitude": 1}\n{"latitude": 2}\nend\n'
        'call RouteGuide/RouteChat\n{"location": {"latitude": 1}, "message": "m"}\nend\n'
    )
    warm = max(CALLS // 10, 10)
    script = one_round * warm + "stats\n" + one_round * CALLS + "stats\n"
    started = time.time()
    out = subprocess.run([RPCSH, "connect", server.addr], input=script, capture_output=True,
                         text=True, timeout=1800)
    took = time.time() - started
    check(out.returncode == 0, f"every call succeeded (exit {out.returncode}) {out.stderr[:300]}")
    before, after = stats(out.stdout)
    growth = (after["rss_kib"] - before["rss_kib"]) / before["rss_kib"]
    print(f"  {4 * CALLS} calls in {took:.1f} s; after warm-up {before}, at the end {after}")
    check(growth < 0.10, f"RSS growth {growth:+.1%} (under 10%)")
    check(after["fds"] == before["fds"], f"open fds {before['fds']} -> {after['fds']}")
    check(after["tasks"] == before["tasks"], f"tokio tasks {before['tasks']} -> {after['tasks']}")


def server_soak():
    print(f"== the server: {STREAMS} concurrent streams, clients killed mid-call", flush=True)
    server = Server("--task-interval", "50ms")
    try:
        rpcsh("call", "-a", server.addr, "Greeter/SayHello", "{}")
        base = server.settle()
        third = max(STREAMS // 3, 1)
        conns = str(max(third // 100, 1))
        rect = '{"lo": {"latitude": 400000000, "longitude": -750000000}, ' \
               '"hi": {"latitude": 420000000, "longitude": -730000000}}'
        loads = [
            ["RouteGuide/ListFeature", rect],
            ["RouteGuide/RouteChat", '{"message": "soak"}', "--stream-messages", "100000"],
            ["Contact/getTask", "{}"],
        ]
        clients = [subprocess.Popen(
            [RPCSH, "bench", "-a", server.addr, *load, "-c", str(third), "--connections", conns,
             "-z", "600s", "--output", "json"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for load in loads]
        time.sleep(3)
        busy = server.readings()[-1]
        started = time.time()
        probe = rpcsh("call", "-a", server.addr, "Greeter/SayHello", '{"name": "probe"}', timeout=30)
        probe_ms = (time.time() - started) * 1000
        check(probe.returncode == 0 and "hello probe" in probe.stdout,
              f"a plain call answers during the load ({probe_ms:.0f} ms)")
        check(busy["tasks"] >= base["tasks"] + third,
              f"the streams were open: tasks {base['tasks']} -> {busy['tasks']}")
        for c in clients:
            c.send_signal(signal.SIGKILL)
            c.wait()
        after = server.settle(6)
        print(f"  baseline {base}; under load {busy}; after the kill {after}")
        check(after["tasks"] == base["tasks"], f"tasks back to {base['tasks']}: {after['tasks']}")
        check(after["fds"] == base["fds"], f"fds back to {base['fds']}: {after['fds']}")
        growth = (after["rss_kib"] - base["rss_kib"]) / base["rss_kib"]
        peak = (busy["rss_kib"] - base["rss_kib"]) / base["rss_kib"]
        print(f"  RSS {base['rss_kib']} KiB, under load {peak:+.0%}, after {growth:+.0%}")
        check(growth < 0.25, f"RSS back near its baseline: {growth:+.0%} (under 25%)")
        check(server.proc.poll() is None, "the server is still up")
        again = rpcsh("call", "-a", server.addr, "Greeter/SayHello", '{"name": "again"}')
        check("hello again" in again.stdout, "and answers")
    finally:
        server.stop()


def fan_out_soak(seconds):
    print(f"== Contact fan-out: a subscriber that never reads, tasks every 10 ms, {seconds} s",
          flush=True)
    server = Server("--task-interval", "10ms")
    try:
        # Its stdout is a pipe nobody reads: once the pipe is full, rpcsh stops reading the stream.
        stuck = subprocess.Popen([RPCSH, "call", "-a", server.addr, "Contact/getTask", "{}"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(2)
        early = server.readings()[-1]
        time.sleep(seconds)
        late = server.readings()[-1]
        growth = (late["rss_kib"] - early["rss_kib"]) / early["rss_kib"]
        print(f"  after 2 s {early}; after {seconds + 2} s {late}")
        check(growth < 0.10, f"server RSS growth {growth:+.1%} with a stuck subscriber (under 10%)")
        stuck.kill()
        stuck.wait()
    finally:
        server.stop()


if __name__ == "__main__":
    server = Server("--task-interval", "0")
    try:
        shell_soak(server)
    finally:
        server.stop()
    server_soak()
    fan_out_soak(max(min(STREAMS // 50, 20), 3))
    print("soak: " + ("all checks passed" if not failures else f"{len(failures)} failed"))
    sys.exit(1 if failures else 0)
