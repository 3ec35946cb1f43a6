"""Overhead of `rpcsh proxy`: unary calls by `rpcsh bench` (10 workers) straight to `rpcsh serve`
and through the proxy, in alternating rounds of the same run: requests/s, the median latency of one call at a time
(`p50 alone`, a run of 5,000 with one worker), the
CPU each call cost the proxy and the server (from /proc), and the proxy's RSS. The proxy's
printing goes to /dev/null. With --before OLD, a second proxy from another build takes its turn
in each round, so before and after are measured side by side. With --pin, the proxy runs on CPU 1
and the server and the load on CPU 0 (the proxy on its own core); otherwise all share the cores.
With --slow-straight W, one more straight row with W workers: the server's cost per call at
about the proxy's throughput (a server less busy batches less, whoever is in front of it).

    target/py-venv/bin/python bench/relay.py target/release/rpcsh [--calls 30000] [--rounds 3]
        [--before OLD_RPCSH] [--pin] [--slow-straight 3]
"""
import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import time


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid):
    """User plus system CPU seconds the process has used so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def on_cpu(cpu):
    return (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None


def bench(rpcsh, addr, n, cpu, workers=10):
    """bench's JSON report, with the CPU seconds the load itself used as "load_s"."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([rpcsh, "bench", "-a", addr, "-n", str(n), "-c", str(workers),
                          "--output", "json", "Greeter/SayHello", '{"name": "b"}'],
                         capture_output=True, text=True, check=True, preexec_fn=on_cpu(cpu))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = json.loads(out.stdout)
    report["load_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return report


def start_proxy(rpcsh, upstream, cpu):
    # Its port is picked here (free a moment ago): its output goes to /dev/null, as a reader
    # here would compete with it for the cores.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        through = f"127.0.0.1:{s.getsockname()[1]}"
    proxy = subprocess.Popen([rpcsh, "proxy", "--listen", through, "--to", upstream],
                             stdout=subprocess.DEVNULL, preexec_fn=on_cpu(cpu))
    for _ in range(100):
        try:
            socket.create_connection(through.split(":")).close()
            break
        except OSError:
            time.sleep(0.05)
    return proxy, through


def main():
    args = argparse.ArgumentParser()
    args.add_argument("rpcsh")
    args.add_argument("--calls", type=int, default=30_000)
    args.add_argument("--rounds", type=int, default=3)
    args.add_argument("--before", help="another build's rpcsh, whose proxy runs beside")
    args.add_argument("--pin", action="store_true", help="the proxy on CPU 1, the rest on CPU 0")
    args.add_argument("--slow-straight", type=int, metavar="W",
                      help="one more straight row with W workers")
    args = args.parse_args()
    load_cpu, proxy_cpu = (0, 1) if args.pin else (None, None)
    server = subprocess.Popen([args.rpcsh, "serve", "--listen", "127.0.0.1:0",
                               "--task-interval", "0"], stdout=subprocess.PIPE, text=True,
                              preexec_fn=on_cpu(load_cpu))
    addr = server.stdout.readline().split()[-1]
    proxies = {"proxy": start_proxy(args.rpcsh, addr, proxy_cpu)}
    if args.before:
        proxies["proxy before"] = start_proxy(args.before, addr, proxy_cpu)
    slow = f"straight, {args.slow_straight} w" if args.slow_straight else None
    rows = {name: [] for name in ["straight", *proxies, *filter(None, [slow])]}
    try:
        for _, through in proxies.values():
            bench(args.rpcsh, through, 2000, load_cpu)  # warm-up
        rss = {name: rss_kib(p.pid) for name, (p, _) in proxies.items()}
        for _ in range(args.rounds):
            for name in rows:
                proxy, target = proxies.get(name, (None, addr))
                pids = [server.pid] + ([proxy.pid] if proxy else [])
                start = [cpu_s(pid) for pid in pids]
                workers = args.slow_straight if name == slow else 10
                r = bench(args.rpcsh, target, args.calls, load_cpu, workers)
                used = [(cpu_s(pid) - s) / args.calls * 1e6 for pid, s in zip(pids, start)]
                alone = bench(args.rpcsh, target, 5000, load_cpu, workers=1)
                p50 = alone["percentiles_ms"]["p50"]
                rows[name].append((r["rps"], p50, r["load_s"] / args.calls * 1e6, *used))
        straight = statistics.median(r[0] for r in rows["straight"])
        print(f"{'(medians of ' + str(args.rounds) + ')':<14} {'req/s':>8} {'kept':>5} "
              f"{'p50 alone':>9} {'load us/call':>13} {'server us/call':>15} {'proxy us/call':>14} "
              f"{'proxy/server':>13}")
        for name, runs in rows.items():
            rps, p50, load_us, server_us = (statistics.median(r[i] for r in runs) for i in range(4))
            line = (f"{name:<14} {rps:8.0f} {rps / straight:5.0%} {p50:9.3f} {load_us:13.1f} "
                    f"{server_us:15.1f}")
            if name in proxies:
                proxy_us = statistics.median(r[4] for r in runs)
                line += f" {proxy_us:14.1f} {proxy_us / server_us:12.2f}x"
            print(line)
        for name, (p, _) in proxies.items():
            print(f"{name} RSS {rss[name] / 1024:.1f} -> {rss_kib(p.pid) / 1024:.1f} MiB over "
                  f"{args.rounds * args.calls} calls")
    finally:
        for p, _ in proxies.values():
            p.kill()
        server.kill()


if __name__ == "__main__":
    main()
