"""Round trips through an HTTP proxy: `rpcsh call` to `rpcsh serve` over a link that delays each
direction by DELAY ms, straight (the delayed link to the server) and through proxy.py (the
delayed link to the proxy, which reaches the server on loopback under a name only it knows).
Medians of RUNS, in round trips: the CONNECT should cost one, nothing more.

    target/py-venv/bin/python bench/proxy_latency.py target/release/rpcsh [DELAY_MS=25] [RUNS=7]
"""
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "py"))
from delay_proxy import DelayProxy  # noqa: E402
from test_proxy import Proxy  # noqa: E402


def median_rt(cmd, env, runs, rt):
    times = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run(cmd, env={**os.environ, **env}, check=True, capture_output=True)
        times.append(time.monotonic() - started)
    return statistics.median(times) / rt


def main():
    rpcsh = sys.argv[1]
    delay = int(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.025
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    server = subprocess.Popen([rpcsh, "serve", "--listen", "127.0.0.1:0", "--task-interval", "0"],
                              stdout=subprocess.PIPE, text=True)
    addr = server.stdout.readline().split()[-1]
    port = addr.rsplit(":", 1)[1]
    proxy = Proxy(pathlib.Path("/tmp"))
    links = []
    for target in (addr, f"127.0.0.1:{proxy.port}"):
        link = DelayProxy(target, delay)
        threading.Thread(target=link.start, daemon=True).start()
        link._ready.wait()
        links.append(link)
    protos = ["--proto", str(ROOT / "proto" / "helloworld.proto")]
    call = ["Greeter/SayHello", '{"name": "rt"}']
    rt = 2 * delay
    try:
        for what, extra in (("--proto", protos), ("reflection", [])):
            straight = median_rt([rpcsh, "call", "-a", links[0].addr, *extra, *call],
                                 {"HTTPS_PROXY": "", "HTTP_PROXY": ""}, runs, rt)
            proxied = median_rt([rpcsh, "call", "-a", f"http://grpc.test:{port}", *extra, *call],
                                {"HTTP_PROXY": f"http://{links[1].addr}"}, runs, rt)
            print(f"call ({what}): straight {straight:.2f} RT, through the proxy {proxied:.2f} RT")
    finally:
        server.kill()
        proxy.stop()


if __name__ == "__main__":
    main()
