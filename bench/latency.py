"""Round trips on a slow link: rpcsh and grpcurl side by side through bench/delay_proxy.py in
front of `rpcsh serve`, each command's median wall time over RUNS runs divided by the round trip.

    python bench/latency.py RPCSH GRPCURL [DELAY_MS=25] [RUNS=7] [--tls]

With --tls the server gets a throw-away certificate (openssl) and both clients verify it."""
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from delay_proxy import DelayProxy  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
POINT = '{"latitude": 409146138, "longitude": -746188906}'


def timed(cmd, stdin=None):
    start = time.perf_counter()
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed: {proc.stderr}")
    return elapsed


def to_prompt(cmd, prompt):
    """Seconds from starting the shell on a pseudo-terminal to its first prompt."""
    import pexpect
    start = time.perf_counter()
    child = pexpect.spawn(cmd[0], cmd[1:], encoding="utf-8", timeout=60,
                          env={**os.environ, "NO_COLOR": "1"})
    child.expect_exact(prompt)
    elapsed = time.perf_counter() - start
    child.sendline("exit")
    child.expect(pexpect.EOF)
    return elapsed


def certificates(folder):
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "1", "-subj", "/CN=bench CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost")
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "san.ext")
    return folder / "ca.pem", folder / "server.pem", folder / "server.key"


def main():
    args = [a for a in sys.argv[1:] if a != "--tls"]
    tls = "--tls" in sys.argv
    rpcsh, grpcurl = args[0], args[1]
    delay = float(args[2]) / 1000 if len(args) > 2 else 0.025
    runs = int(args[3]) if len(args) > 3 else 7
    rtt = 2 * delay
    tmp = pathlib.Path(tempfile.mkdtemp())
    serve = [rpcsh, "serve", "--listen", "127.0.0.1:0", "--task-interval", "0"]
    if tls:
        ca, cert, key = certificates(tmp)
        serve += ["--tls-cert", str(cert), "--tls-key", str(key)]
    server = subprocess.Popen(serve, stdout=subprocess.PIPE, text=True)
    addr = server.stdout.readline().removeprefix("listening on ").strip()
    proxy = DelayProxy(addr, delay).start()
    port = proxy.addr.rsplit(":", 1)[1]
    if tls:
        target = f"https://localhost:{port}"
        ours = ["--addr", target, "--cacert", str(ca)]
        theirs = ["-cacert", str(ca), f"localhost:{port}"]
    else:
        target = proxy.addr
        ours = ["--addr", target]
        theirs = ["-plaintext", target]
    env = {**os.environ, "RPCSH_CONFIG": "/nonexistent"}
    os.environ.update(env)
    script = tmp / "two.txt"
    script.write_text(f"RouteGuide/GetFeature {POINT}\nRouteGuide/GetFeature {POINT}\n")
    proto = ["--proto", str(ROOT / "proto" / "routeguide.proto")]
    rows = [
        ("call RouteGuide/GetFeature (reflection)",
         lambda: timed([rpcsh, "call", *ours, "RouteGuide/GetFeature", POINT]),
         lambda: timed([grpcurl, *theirs[:-1], "-d", POINT, theirs[-1], "RouteGuide/GetFeature"])),
        ("call Compute/SayHello (short name)",
         lambda: timed([rpcsh, "call", *ours, "Compute/SayHello", '{"helloworld": "x"}']), None),
        ("call --proto",
         lambda: timed([rpcsh, "call", *ours, *proto, "RouteGuide/GetFeature", POINT]),
         lambda: timed([grpcurl, *theirs[:-1], "-import-path", str(ROOT / "proto"), "-proto",
                        "routeguide.proto", "-d", POINT, theirs[-1], "RouteGuide/GetFeature"])),
        ("call --protocol grpc-web (reflection)",
         lambda: timed([rpcsh, "call", *ours, "--protocol", "grpc-web", "RouteGuide/GetFeature", POINT]), None),
        ("call --protocol grpc-web --proto",
         lambda: timed([rpcsh, "call", *ours, *proto, "--protocol", "grpc-web", "RouteGuide/GetFeature", POINT]), None),
        ("call --protocol grpc-web --http2 --proto",
         lambda: timed([rpcsh, "call", *ours, *proto, "--protocol", "grpc-web", "--http2", "RouteGuide/GetFeature", POINT]), None),
        ("list", lambda: timed([rpcsh, "list", *ours]),
         lambda: timed([grpcurl, *theirs, "list"])),
        ("describe RouteGuide.GetFeature",
         lambda: timed([rpcsh, "describe", *ours, "RouteGuide.GetFeature"]),
         lambda: timed([grpcurl, *theirs, "describe", "RouteGuide.GetFeature"])),
        ("connect, to the first prompt (terminal)",
         lambda: to_prompt([rpcsh, "connect", *ours, "--no-history"], "> "), None),
        ("connect < script with no command",
         lambda: timed([rpcsh, "connect", *ours], stdin=""), None),
        ("shell, two calls to one service (piped)",
         lambda: timed([rpcsh, "connect", *ours], stdin=script.read_text()), None),
    ]
    print(f"round trip {rtt * 1000:.0f} ms ({'TLS' if tls else 'plaintext'}), median of {runs}")
    print(f"{'command':<44} {'rpcsh':>8} {'grpcurl':>8}   (round trips)")
    try:
        for name, mine, peer in rows:
            m = statistics.median(mine() for _ in range(runs)) / rtt
            p = statistics.median(peer() for _ in range(runs)) / rtt if peer else None
            print(f"{name:<44} {m:>8.2f} {p:>8.2f}" if p else f"{name:<44} {m:>8.2f} {'—':>8}",
                  flush=True)
    finally:
        server.kill()


if __name__ == "__main__":
    main()
