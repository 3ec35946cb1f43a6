"""rpcsh's client against grpcurl, side by side in one run, against the same `rpcsh serve`:

1. a one-shot unary call through reflection (Greeter/SayHello): median wall time and peak RSS
   over N runs of each, interleaved;
2. printing a 100,000-message server stream (Testing/Generate, 16-byte payloads) as JSON lines
   into a file: messages per second.

Prints each figure and the ratio rpcsh / grpcurl. Run with bench/client.sh (builds the release
binary and the venv that has grpcurl)."""
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(cmd, stdout=subprocess.DEVNULL):
    """Runs `cmd` under GNU time; returns (seconds, peak RSS in KiB) of that process alone.
    (A child forked straight from Python would start with Python's pages in its peak RSS.)"""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdout=stdout, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed: {proc.stderr}")
    return elapsed, int(proc.stderr.strip().splitlines()[-1])


def main():
    rpcsh, grpcurl, runs, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    server = subprocess.Popen([rpcsh, "serve", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    addr = server.stdout.readline().removeprefix("listening on ").strip()
    try:
        unary = {
            "rpcsh": [rpcsh, "call", "--addr", addr, "Greeter/SayHello", '{"name": "bench"}'],
            "grpcurl": [grpcurl, "-plaintext", "-d", '{"name": "bench"}', addr, "Greeter/SayHello"],
        }
        results = {name: [] for name in unary}
        for _ in range(3):  # warm-up: page cache, server connections
            for cmd in unary.values():
                run(cmd)
        for _ in range(runs):
            for name, cmd in unary.items():
                results[name].append(run(cmd))
        print(f"one-shot unary call through reflection, {runs} runs each (median wall, max peak RSS):")
        med = {}
        for name, samples in results.items():
            wall = statistics.median(s[0] for s in samples) * 1000
            rss = max(s[1] for s in samples) / 1024
            med[name] = (wall, rss)
            print(f"  {name:8} {wall:7.2f} ms  {rss:6.1f} MiB")
        print(f"  ratio rpcsh/grpcurl: wall {med['rpcsh'][0] / med['grpcurl'][0]:.2f}x, "
              f"RSS {med['rpcsh'][1] / med['grpcurl'][1]:.2f}x")

        request = f'{{"count": {count}, "size": 16}}'
        stream = {
            "rpcsh": [rpcsh, "call", "--addr", addr, "Testing/Generate", request],
            "grpcurl": [grpcurl, "-plaintext", "-format-error", "-d", request, addr, "rpcsh.testing.v1.Testing/Generate"],
        }
        print(f"printing a {count}-message server stream to a file (best of 3):")
        rates = {}
        with tempfile.TemporaryDirectory() as tmp:
            for name, cmd in stream.items():
                out = os.path.join(tmp, name)
                best = float("inf")
                for _ in range(3):
                    with open(out, "w") as f:
                        best = min(best, run(cmd, stdout=f)[0])
                # rpcsh writes one object per line; grpcurl pretty-prints: count payload fields.
                lines = sum(1 for line in open(out) if '"payload"' in line)
                rates[name] = count / best
                print(f"  {name:8} {best:6.2f} s  {rates[name] / 1000:8.0f} k msg/s  ({lines} messages written)")
        print(f"  ratio rpcsh/grpcurl: {rates['rpcsh'] / rates['grpcurl']:.1f}x")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
