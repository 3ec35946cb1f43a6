"""`serve --mock` beside the demo service it mocks: `rpcsh bench` of Greeter/SayHello against
`rpcsh serve` and against a mock holding N stubs, the call matching the last one (found by hash,
not by a scan of the N).

    python bench/mock.py RPCSH [N=10000] [CALLS=20000] [CONCURRENCY=10]
"""
import subprocess
import sys
import tempfile
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def started(cmd):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        sys.exit(f"bench: {' '.join(cmd)} did not start: {line!r}")
    return proc, line.removeprefix("listening on ").strip()


def bench(rpcsh, addr, name, calls, concurrency):
    out = subprocess.run([rpcsh, "bench", "-a", addr, "Greeter/SayHello", f'{{"name": "{name}"}}',
                          "-n", str(calls), "-c", str(concurrency)], capture_output=True,
                         text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"bench failed: {out.stderr}")
    return out.stdout


def main():
    rpcsh = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 20_000
    concurrency = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    with tempfile.TemporaryDirectory() as tmp:
        stubs = pathlib.Path(tmp) / "stubs.rpcsh"
        stubs.write_text("".join(f'call Greeter/SayHello {{"name": "n{i}"}}\n'
                                 f'expect exact {{"message": "hello n{i}"}}\n' for i in range(n)))
        demo, demo_addr = started([rpcsh, "serve", "greeter", "--listen", "127.0.0.1:0"])
        mock, mock_addr = started([rpcsh, "serve", "--listen", "127.0.0.1:0", "--mock", str(stubs),
                                   f"--proto={ROOT / 'proto' / 'helloworld.proto'}"])
        try:
            last = f"n{n - 1}"
            print(f"== rpcsh serve greeter\n{bench(rpcsh, demo_addr, last, calls, concurrency)}")
            print(f"== serve --mock, {n} stubs, the last one\n"
                  f"{bench(rpcsh, mock_addr, last, calls, concurrency)}")
        finally:
            demo.kill()
            mock.kill()


if __name__ == "__main__":
    main()
