"""`rpcsh proxy` between real clients and real servers: the seed's grpcio clients and the
grpc-js seed client, in all four call styles, get through it what they get directly, while it
prints every call; against a grpcio server too; gRPC-Web clients; TLS to the clients; an upstream
that goes away (or is not there yet) fails the calls in flight with UNAVAILABLE and the proxy
serves again once it is back; output nobody reads never holds the calls up."""
import json
import random
import signal
import subprocess
import threading
import time

import pytest
from conftest import DB, RPCSH, rpcsh
from test_node_peers import NODE, check_grpc_web_answers, node_env


class Relay:
    """A running `rpcsh proxy`; `addr` is where clients connect, `lines` what it printed."""

    def __init__(self, upstream, *flags):
        self.proc = subprocess.Popen([RPCSH, "proxy", "--listen", "127.0.0.1:0", "--to", upstream,
                                      *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        first = self.proc.stdout.readline()
        assert first.startswith("proxying "), (first, self.proc.stderr.read())
        self.addr = first.split()[1]
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def printed(self, until, count=1, timeout=5):
        """What it printed, once `count` lines hold `until` (the printer lags the calls a little)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(until in line for line in self.lines) >= count:
                break
            time.sleep(0.02)
        return "\n".join(self.lines)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def relay(started):
    return lambda upstream, *flags: started(Relay, upstream, *flags)


def test_the_seeds_grpcio_clients_get_through_what_they_get_directly(server, relay, capsys):
    import routeguide_grpc_client
    through = relay(server.addr)
    outputs = []
    for addr in (server.addr, through.addr):
        routeguide_grpc_client.run(addr, str(DB), random.Random(7))
        outputs.append(capsys.readouterr().out)
    direct, proxied = outputs
    # The same lines; RouteChat's sends and receives interleave as the scheduler has it.
    assert sorted(direct.splitlines()) == sorted(proxied.splitlines())
    assert "Feature called" in direct
    # Two GetFeature calls, then one of each other style.
    printed = through.printed("end Ok in", count=5)
    # Every style, as it happened: requests (>) and responses (<) decoded, and each end.
    for method in ("GetFeature", "ListFeature", "RecordRoute", "RouteChat"):
        assert f"call /RouteGuide/{method}" in printed, printed
    assert '> {"latitude":409146138,"longitude":-746188906}' in printed, printed
    assert '< {"name":"Berkshire Valley Management Area Trail, Jefferson, NJ, USA"' in printed
    assert printed.count("end Ok in") == 5, printed


def test_the_grpc_js_client_in_all_four_styles(serve, relay):
    server = serve("--task-interval", "0")
    through = relay(server.addr, "--format", "jsonl")
    out = subprocess.run(["node", str(NODE / "seed_client.js"), through.addr],
                         capture_output=True, text=True, timeout=60, env=node_env())
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["greeter"] == "hello node" and got["listed"] == 100
    assert got["chat"] == ["a", "a", "b"] and got["summary"]["pointCount"] == 3
    printed = through.printed('"event":"end","method":"/Greeter/SayHello"')
    events = [json.loads(line) for line in printed.splitlines()]
    hello = [e for e in events if e["method"] == "/Greeter/SayHello"]
    assert [e["event"] for e in hello][:3] == ["call", "request", "response"], hello
    assert hello[1]["message"] == {"name": "node"}


def test_a_grpcio_server_upstream_and_its_errors(relay, stubs):
    from interop_testservice import TestServer
    upstream = TestServer()
    try:
        through = relay(upstream.addr)
        out = rpcsh("call", "-a", through.addr, "grpc.testing.TestService/UnaryCall",
                    '{"responseStatus": {"code": 5, "message": "not here"}}', check=False)
        assert out.returncode == 64 + 5 and "not here" in out.stdout + out.stderr
        assert "end NotFound: not here" in through.printed("end NotFound")
    finally:
        upstream.stop()


def test_messages_past_the_flow_control_windows_in_every_direction(relay, stubs, tmp_path):
    """Messages of megabytes take many frames and window updates on both of the proxy's
    connections: each arrives whole, to a grpcio server and back from it."""
    import base64
    from interop_testservice import TestServer
    upstream = TestServer()
    try:
        through = relay(upstream.addr)
        big = 3_000_000
        body = base64.b64encode(bytes(range(256)) * (big // 256)).decode()
        unary = tmp_path / "unary.json"
        unary.write_text(json.dumps({"responseSize": big, "payload": {"body": body}}))
        limit = ["--max-msg-size", "8MB", "-a", through.addr]
        out = rpcsh("call", *limit, "grpc.testing.TestService/UnaryCall", f"@{unary}")
        assert len(base64.b64decode(json.loads(out.stdout)["payload"]["body"])) == big
        # What the server received, it says by its size: three messages of 2 MB in.
        streamed = tmp_path / "streamed.json"
        chunk = base64.b64encode(b"\1" * 2_000_000).decode()
        streamed.write_text("\n".join(json.dumps({"payload": {"body": chunk}})
                                       for _ in range(3)))
        out = rpcsh("call", *limit, "grpc.testing.TestService/StreamingInputCall",
                    f"@{streamed}")
        assert json.loads(out.stdout) == {"aggregatedPayloadSize": 6_000_000}, out.stdout
        asks = {"responseParameters": [{"size": 2_000_000}] * 3}
        out = rpcsh("call", *limit, "grpc.testing.TestService/FullDuplexCall", json.dumps(asks))
        answers = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
        sizes = [len(base64.b64decode(a["payload"]["body"])) for a in answers]
        assert sizes == [2_000_000] * 3, out.stdout[:300]
        printed = through.printed("/FullDuplexCall")
        assert through.printed("end Ok", count=6).count("end Ok") >= 3, printed[:2000]
    finally:
        upstream.stop()


def test_the_upstream_going_away_and_coming_back(serve, relay):
    server = serve("--task-interval", "0")
    port = server.addr.rsplit(":", 1)[1]
    through = relay(server.addr)
    assert '"hello a"' in rpcsh("call", "-a", through.addr, "Greeter/SayHello",
                                '{"name": "a"}').stdout
    # A call in flight when the upstream dies ends UNAVAILABLE (or CANCELLED) for the client.
    slow = subprocess.Popen([RPCSH, "call", "-a", through.addr, "--proto", "proto/testing.proto",
                             "Testing/Echo", '{"delay": "5s"}'], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=str(NODE.parents[1]))
    time.sleep(0.5)
    server.proc.kill()
    server.proc.wait()
    _, err = slow.communicate(timeout=10)
    assert slow.returncode == 64 + 14, err
    assert "end Unavailable" in through.printed("end Unavailable"), through.lines
    down = rpcsh("call", "-a", through.addr, "--proto", str(NODE.parents[1] / "proto" /
                 "helloworld.proto"), "Greeter/SayHello", "{}", check=False)
    assert down.returncode == 64 + 14 and "upstream" in down.stdout + down.stderr, down.stderr
    # Back on the same port: the proxy serves again.
    serve("--task-interval", "0", "--listen", f"127.0.0.1:{port}")
    back = rpcsh("call", "-a", through.addr, "Greeter/SayHello", '{"name": "b"}')
    assert '"hello b"' in back.stdout


def test_a_client_that_vanishes_cancels_its_call(serve, relay):
    server = serve("--task-interval", "0")
    through = relay(server.addr)
    client = subprocess.Popen([RPCSH, "call", "-a", through.addr, "--proto",
                               str(NODE.parents[1] / "proto" / "testing.proto"), "Testing/Echo",
                               '{"delay": "5s"}'], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    client.kill()
    client.wait()
    assert "end Cancelled: the client cancelled the call" in through.printed("end Cancelled")
    # And the proxy goes on.
    assert '"hello c"' in rpcsh("call", "-a", through.addr, "Greeter/SayHello",
                                '{"name": "c"}').stdout


def test_tls_to_the_clients_grpcio_and_rpcsh(serve, relay, pki, stubs):
    import grpc
    import helloworld_pb2
    import helloworld_pb2_grpc
    ca, cert, key = pki
    server = serve("--task-interval", "0")
    through = relay(server.addr, "--tls-cert", str(cert), "--tls-key", str(key))
    port = through.addr.rsplit(":", 1)[1]
    creds = grpc.ssl_channel_credentials(root_certificates=open(ca, "rb").read())
    with grpc.secure_channel(f"localhost:{port}", creds) as channel:
        reply = helloworld_pb2_grpc.GreeterStub(channel).SayHello(
            helloworld_pb2.HelloRequest(name="tls"), timeout=10)
    assert reply.message == "hello tls"
    out = rpcsh("call", "-a", f"localhost:{port}", "--tls", "--cacert", str(ca),
                "Greeter/SayHello", '{"name": "rpcsh"}')
    assert '"hello rpcsh"' in out.stdout
    # A plaintext client gets a failed call, and the proxy goes on.
    plain = rpcsh("call", "-a", f"127.0.0.1:{port}", "--plaintext", "Greeter/SayHello", "{}",
                  check=False, timeout=20)
    assert plain.returncode != 0 and "rpcsh: error:" in plain.stderr
    assert "end Ok" in through.printed("end Ok", count=2)
    # --cacert alone means TLS, loopback or not.
    again = rpcsh("call", "-a", f"localhost:{port}", "--cacert", str(ca), "Greeter/SayHello",
                  '{"name": "again"}')
    assert '"hello again"' in again.stdout


class Unread(Relay):
    """A proxy whose output is read for its address, and then not until `read_on`."""

    def _read(self):
        pass

    def read_on(self):
        super()._read()


def test_output_nobody_reads_never_holds_up_the_calls(serve, started):
    server = serve("--task-interval", "0")
    through = started(Unread, server.addr)
    out = rpcsh("bench", "-a", through.addr, "-n", "30000", "-c", "20", "--output", "json",
                "Greeter/SayHello", '{"name": "x"}', timeout=120)
    report = json.loads(out.stdout)
    assert report["count"] == 30000 and report["errors"] == [], report
    rss = int(next(line.split()[1] for line in open(f"/proc/{through.proc.pid}/status")
                   if line.startswith("VmRSS:")))
    assert rss < 200 * 1024, rss
    # Read again, it says how much it could not show.
    threading.Thread(target=through.read_on, daemon=True).start()
    assert "event(s) not shown: the output did not keep up" in through.printed(
        "not shown", timeout=30)
    # What it holds it shows, by size while far behind (catching up costs no decoding),
    # decoded again once it has caught up.
    assert "bytes (not decoded: the output is behind)" in through.printed("not decoded")
    rpcsh("call", "-a", through.addr, "Greeter/SayHello", '{"name": "caught up"}')
    assert '< {"message":"hello caught up"}' in through.printed("hello caught up")


def test_asked_to_stop_it_stops_though_its_output_is_not_read(serve, started):
    server = serve("--task-interval", "0")
    through = started(Unread, server.addr)
    # Enough lines to fill the pipe: the printer is stuck writing.
    rpcsh("bench", "-a", through.addr, "-n", "3000", "-c", "10", "Greeter/SayHello",
          '{"name": "x"}', timeout=60)
    through.proc.send_signal(signal.SIGINT)
    through.proc.wait(timeout=15)
    assert "its output is not being read" in through.proc.stderr.read()


def test_started_before_its_upstream(serve, relay):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    through = relay(f"127.0.0.1:{port}")
    hello = str(NODE.parents[1] / "proto" / "helloworld.proto")
    early = rpcsh("call", "-a", through.addr, "--proto", hello, "Greeter/SayHello", "{}",
                  check=False)
    assert early.returncode == 64 + 14, early.stderr
    serve("--task-interval", "0", "--listen", f"127.0.0.1:{port}")
    time.sleep(2.2)  # the proxy asks again for the schema it could not get, at most every 2 s
    late = rpcsh("call", "-a", through.addr, "Greeter/SayHello", '{"name": "late"}')
    assert '"hello late"' in late.stdout
    assert '< {"message":"hello late"}' in through.printed("hello late"), through.lines


def test_grpc_web_clients_through_the_proxy(serve, relay):
    """gRPC-Web in (HTTP/1.1 and 2, a browser's preflight too), gRPC to the upstream."""
    server = serve("--task-interval", "0")
    through = relay(server.addr)
    out = subprocess.run(["node", str(NODE / "grpc_web_client.js"), through.addr],
                         capture_output=True, text=True, timeout=60, env=node_env())
    assert out.returncode == 0, out.stderr
    check_grpc_web_answers(json.loads(out.stdout))
    web = ["-a", through.addr, "--protocol", "grpc-web"]
    out = rpcsh("call", *web, "rpcsh.testing.v1.Testing/Generate", '{"count": 3, "size": 1}')
    assert len(out.stdout.splitlines()) == 3
    printed = through.printed("end Ok", count=3)
    assert '> {"name":"web"}' in printed and '< {"message":"hello web"}' in printed, printed
    assert "end NotFound: no such thing" in printed
    assert '< {"seq":"2","payload":"eA=="}' in printed
