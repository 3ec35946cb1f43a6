"""Overhead of `rpcsh proxy`: unary calls by `rpcsh bench` straight to `rpcsh serve` and through
the proxy, in the same run: requests/s, median and p99 latency; and the proxy's RSS before and
after CALLS calls (its printing goes to /dev/null).

    target/py-venv/bin/python bench/relay.py target/release/rpcsh [CALLS=100000]
"""
import json
import subprocess
import sys
import time


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def bench(rpcsh, addr, n, workers=10):
    out = subprocess.run([rpcsh, "bench", "-a", addr, "-n", str(n), "-c", str(workers),
                          "--output", "json", "Greeter/SayHello", '{"name": "b"}'],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    rpcsh = sys.argv[1]
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    server = subprocess.Popen([rpcsh, "serve", "--listen", "127.0.0.1:0", "--task-interval", "0"],
                              stdout=subprocess.PIPE, text=True)
    addr = server.stdout.readline().split()[-1]
    # What the proxy prints goes to /dev/null: a reader here would compete with it for the
    # two cores. Its port is picked here for that (free a moment ago).
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        through = f"127.0.0.1:{s.getsockname()[1]}"
    relay = subprocess.Popen([rpcsh, "proxy", "--listen", through, "--to", addr],
                             stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(through.split(":")).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        bench(rpcsh, through, 2000)  # warm-up
        before = rss_kib(relay.pid)
        results = {}
        for name, target in (("straight", addr), ("through the proxy", through)):
            results[name] = bench(rpcsh, target, calls)
        after = rss_kib(relay.pid)
        one = {name: bench(rpcsh, target, 5000, workers=1)
               for name, target in (("straight", addr), ("through the proxy", through))}
        for name, r in one.items():
            print(f"one at a time, {name:<18} median {r['percentiles_ms']['p50']:.3f} ms")
        added = one["through the proxy"]["percentiles_ms"]["p50"] - one["straight"]["percentiles_ms"]["p50"]
        print(f"median added per call, one at a time: {added:.3f} ms")
        for name, r in results.items():
            print(f"{name:<18} {r['rps']:9.0f} req/s  median {r['percentiles_ms']['p50']:.3f} ms  "
                  f"p99 {r['percentiles_ms']['p99']:.3f} ms")
        s, p = results["straight"], results["through the proxy"]
        print(f"throughput kept: {p['rps'] / s['rps']:.0%}; median added: "
              f"{p['percentiles_ms']['p50'] - s['percentiles_ms']['p50']:.3f} ms; proxy RSS "
              f"{before / 1024:.1f} -> {after / 1024:.1f} MiB over {calls} calls")
    finally:
        relay.kill()
        server.kill()


if __name__ == "__main__":
    main()
