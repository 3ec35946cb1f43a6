"""Connect and gRPC-Web with real peers: rpcsh (`--protocol connect|grpc-web`) calling a
@connectrpc/connect-node server of grpc.testing.TestService on HTTP/1.1 and h2c, in every style
each protocol and HTTP version allows, errors, headers and trailers included; and a connect-node
gRPC-Web client calling `rpcsh serve` over both HTTP versions. The packages come from
scripts/node-peers.sh (NODE_PATH); the schema is a descriptor set compiled with grpc_tools."""
import json
import subprocess
import threading

import pytest
from conftest import INTEROP, ROOT, PROTOS, descriptor_set, rpcsh
from test_node_peers import NODE, node_env

SERVICE = "grpc.testing.TestService"
PROTOCOLS = ["connect", "grpc-web"]


class ConnectServer:
    """connect_server.js: `h1` and `h2c` addresses, and the methods its handlers were called for."""

    def __init__(self, descriptors, *flags):
        self.proc = subprocess.Popen(["node", str(NODE / "connect_server.js"), str(descriptors), *flags],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=node_env())
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"connect-node did not start: {line!r} {self.proc.stderr.read()}")
        self.h1, self.h2c = line.removeprefix("listening on ").split()
        self.calls = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.calls.append(line.removeprefix("call ").strip())


@pytest.fixture(scope="module")
def testing_pb(tmp_path_factory):
    return descriptor_set(INTEROP, ["grpc_testing.proto"],
                          tmp_path_factory.mktemp("connect") / "testing.pb")


@pytest.fixture(scope="module")
def connect_server(testing_pb):
    server = ConnectServer(testing_pb)
    yield server
    server.proc.kill()
    server.proc.wait()


def link(server, protocol, h2, testing_pb):
    """The flags of a call to `server` with `protocol`, over h2c or HTTP/1.1."""
    flags = ["-a", server.h2c if h2 else server.h1, "--protocol", protocol,
             "--protoset", str(testing_pb)]
    return flags + (["--http2"] if h2 else [])


def call(flags, method, data, *more, check=True):
    return rpcsh("call", *flags, *more, f"{SERVICE}/{method}", "-", stdin=json.dumps(data),
                 check=check)


def streamed(flags, method, messages, *more, check=True):
    return rpcsh("call", *flags, *more, f"{SERVICE}/{method}", "-",
                 stdin="\n".join(json.dumps(m) for m in messages), check=check)


# connect-node answers gRPC too (on h2c): the same cases hold for it.
@pytest.fixture(params=[(p, h2) for p in PROTOCOLS for h2 in (False, True)] + [("grpc", True)],
                ids=lambda p: f"{p[0]}-{'h2c' if p[1] else 'http1.1'}")
def flags(request, connect_server, testing_pb):
    protocol, h2 = request.param
    return link(connect_server, protocol, h2, testing_pb)


def test_unary_server_and_client_streams(flags):
    out = call(flags, "UnaryCall", {"responseSize": 3}).stdout
    assert json.loads(out) == {"payload": {"body": "AAAA"}}
    out = call(flags, "StreamingOutputCall",
               {"responseParameters": [{"size": 1}, {"size": 2}, {"size": 3}]}).stdout
    assert [len(json.loads(line)["payload"].get("body", "")) for line in out.splitlines()] == [4, 4, 4]
    out = streamed(flags, "StreamingInputCall",
                   [{"payload": {"body": "AAAA"}}, {"payload": {"body": "AAAAAA=="}}]).stdout
    assert json.loads(out) == {"aggregatedPayloadSize": 7}


def test_errors_map_to_grpc_exit_codes_with_details(flags):
    failed = call(flags, "UnaryCall", {"responseStatus": {"code": 5, "message": "no such thing"}},
                  check=False)
    assert failed.returncode == 64 + 5, failed.stderr
    assert "ERROR: code = NotFound, message = no such thing" in failed.stderr
    assert '"@type":"type.googleapis.com/grpc.testing.EchoStatus"' in failed.stderr
    # A detail whose type the schema has though the method does not use it: decoded all the
    # same (the lazy schema looks it up before calling it unknown).
    failed = call(flags, "UnaryCall", {"responseStatus": {"code": 5, "message": "[unused detail]"}},
                  check=False)
    assert ('{"@type":"type.googleapis.com/grpc.testing.StreamingInputCallResponse",'
            '"aggregatedPayloadSize":77}') in failed.stderr, failed.stderr
    # A stream's messages, then its error (Connect: end-of-stream message; gRPC-Web: trailers).
    failed = call(flags, "StreamingOutputCall",
                  {"responseParameters": [{"size": 1}], "responseStatus": {"code": 9, "message": "after ☺"}},
                  check=False)
    assert failed.returncode == 64 + 9, failed.stderr
    assert failed.stdout.strip() == '{"payload":{"body":"AA=="}}'
    assert "code = FailedPrecondition, message = after ☺" in failed.stderr


def test_unknown_service_is_unimplemented(flags):
    health = rpcsh("health", *flags, check=False)
    assert health.returncode == 64 + 12, health.stderr
    assert "hint: the server does not implement grpc.health.v1.Health" in health.stderr
    failed = rpcsh("call", *flags, "grpc.testing.UnimplementedService/UnimplementedCall", "{}",
                   check=False)
    assert failed.returncode == 64 + 12, failed.stderr
    assert "code = Unimplemented" in failed.stderr


def test_headers_and_trailers_with_v(flags):
    out = call(flags, "UnaryCall", {"responseSize": 1}, "-v",
               "-H", "x-grpc-test-echo-initial: hello", "-H", "x-grpc-test-echo-trailing-bin: AAEC")
    headers, trailers = out.stderr.split("Response trailers received:")
    assert "x-grpc-test-echo-initial: hello" in headers.split("Response headers received:")[1]
    assert "x-grpc-test-echo-trailing-bin: AAEC" in trailers
    assert "Connected to" in out.stderr
    assert ("Protocol: " in out.stderr) == ("grpc" not in flags)


def test_bidi_over_http2_and_refused_over_http1(connect_server, testing_pb):
    for protocol in PROTOCOLS:
        h2 = link(connect_server, protocol, True, testing_pb)
        out = streamed(h2, "FullDuplexCall", [{"responseParameters": [{"size": 1}]},
                                              {"responseParameters": [{"size": 2}]}]).stdout
        assert out.split() == ['{"payload":{"body":"AA=="}}', '{"payload":{"body":"AAA="}}']
        before = len(connect_server.calls)
        h1 = link(connect_server, protocol, False, testing_pb)
        refused = streamed(h1, "FullDuplexCall", [{}], check=False)
        assert refused.returncode == 1
        name = "Connect" if protocol == "connect" else "gRPC-Web"
        assert refused.stderr.startswith(
            f"rpcsh: error: /{SERVICE}/FullDuplexCall is a bidirectional stream, which {name} cannot carry over HTTP/1.1"), refused.stderr
        assert "hint: --http2" in refused.stderr
        # A unary call after it: the server's log shows it and no FullDuplexCall in between.
        call(h1, "EmptyCall", {})
        assert connect_server.calls[before:] == ["EmptyCall"]


def test_connect_json_codec_and_gzip(connect_server, testing_pb):
    flags = link(connect_server, "connect", False, testing_pb)
    out = call(flags, "UnaryCall", {"responseSize": 2}, "--codec", "json", "-v")
    assert json.loads(out.stdout) == {"payload": {"body": "AAA="}}
    assert "content-type: application/json" in out.stderr
    out = call(flags, "StreamingOutputCall", {"responseParameters": [{"size": 1}]}, "--codec", "json", "-v")
    assert out.stdout.strip() == '{"payload":{"body":"AA=="}}'
    assert "content-type: application/connect+json" in out.stderr
    web = link(connect_server, "grpc-web", False, testing_pb)
    out = call(web, "StreamingOutputCall", {"responseParameters": [{"size": 1}]}, "--codec", "json", "-v")
    assert out.stdout.strip() == '{"payload":{"body":"AA=="}}'
    assert "content-type: application/grpc-web+json" in out.stderr
    # connect-node gzips answers over 1 KiB when asked (rpcsh always accepts gzip).
    out = call(flags, "UnaryCall", {"responseSize": 5000}, "-v")
    assert "content-encoding: gzip" in out.stderr
    assert len(json.loads(out.stdout)["payload"]["body"]) == 6668
    # A gzipped answer inflates no further than --max-msg-size.
    for protocol in PROTOCOLS:
        failed = call(link(connect_server, protocol, False, testing_pb), "StreamingOutputCall",
                      {"responseParameters": [{"size": 5000}]}, "--max-msg-size", "1000", check=False)
        assert failed.returncode == 1
        assert "a response is larger than rpcsh's message limit" in failed.stderr
        assert "hint: --max-msg-size" in failed.stderr
    # and takes gzipped requests.
    for protocol in PROTOCOLS:
        out = streamed(link(connect_server, protocol, False, testing_pb), "StreamingInputCall",
                       [{"payload": {"body": "A" * 4000}}], "--compress", "gzip")
        assert json.loads(out.stdout) == {"aggregatedPayloadSize": 3000}


def test_timeout_is_a_deadline(connect_server, testing_pb):
    for protocol in PROTOCOLS:
        flags = link(connect_server, protocol, False, testing_pb)
        slow = {"responseParameters": [{"size": 1, "intervalUs": 3_000_000}]}
        failed = call(flags, "StreamingOutputCall", slow, "--timeout", "300ms", check=False)
        assert failed.returncode == 64 + 4, failed.stderr
        assert "DeadlineExceeded" in failed.stderr


def test_without_reflection_the_error_says_to_pass_the_schema(connect_server):
    # HTTP/1.1 only: no gRPC at all.
    failed = rpcsh("call", "-a", connect_server.h1, "--protocol", "connect",
                   f"{SERVICE}/EmptyCall", "{}", check=False)
    assert failed.returncode == 1
    assert failed.stderr.startswith("rpcsh: error: "), failed.stderr
    assert "server reflection (asked over gRPC, HTTP/2) failed" in failed.stderr
    assert "hint: a Connect server without gRPC reflection needs the schema: pass --proto FILE or --protoset FILE" in failed.stderr
    # h2c: gRPC, but no reflection service.
    failed = rpcsh("call", "-a", connect_server.h2c, "--protocol", "connect", "--http2",
                   f"{SERVICE}/EmptyCall", "{}", check=False)
    assert failed.returncode == 1
    assert "the server does not support server reflection" in failed.stderr
    assert "--protoset FILE" in failed.stderr


def test_shell_script_and_bench(connect_server, testing_pb, tmp_path):
    session = "\n".join([
        "set protocol connect",
        f'{SERVICE}/UnaryCall {{"responseSize": 1}}',
        "set protocol grpcweb",
        f'{SERVICE}/StreamingOutputCall {{"responseParameters": [{{"size": 2}}]}}',
        "set http2 on",
        f"connect {connect_server.h2c}",
        f'{SERVICE}/FullDuplexCall {{"responseParameters": [{{"size": 3}}]}}',
        ".end",
        "",
    ])
    out = rpcsh("connect", connect_server.h1, "--protoset", str(testing_pb), stdin=session)
    assert out.stdout.split() == ['{"payload":{"body":"AA=="}}', '{"payload":{"body":"AAA="}}',
                                  '{"payload":{"body":"AAAA"}}']
    script = tmp_path / "web.rpcsh"
    script.write_text("\n".join([
        f"use {SERVICE}",
        'UnaryCall {"responseSize": 2}',
        'expect {"payload": {"body": "AAA="}}',
        'UnaryCall {"responseStatus": {"code": 7, "message": "no"}}',
        'expect error PERMISSION_DENIED "no"',
        "",
    ]))
    out = rpcsh("run", *link(connect_server, "grpc-web", False, testing_pb), str(script))
    assert "2 passed" in out.stdout + out.stderr, out.stdout + out.stderr
    # A call after the server closed the idle HTTP/1.1 connection (Node.js does after 5 s)
    # goes on a new one.
    idle = f'{SERVICE}/EmptyCall {{}}\nsleep 5s\n{SERVICE}/EmptyCall {{}}\n'
    out = rpcsh("connect", *link(connect_server, "connect", False, testing_pb), stdin=idle)
    assert out.stdout.split() == ["{}", "{}"]
    # A recorded session replays with its protocol.
    recorded = tmp_path / "rec.rpcsh"
    rpcsh("connect", *link(connect_server, "connect", False, testing_pb),
          stdin=f'record {recorded}\n{SERVICE}/UnaryCall {{"responseSize": 1}}\nrecord stop\n')
    assert "\nset protocol connect\n" in recorded.read_text()
    out = rpcsh("run", "--protoset", str(testing_pb), str(recorded))
    assert "1 passed" in out.stdout + out.stderr
    out = rpcsh("bench", *link(connect_server, "connect", False, testing_pb),
                f"{SERVICE}/UnaryCall", '{"responseSize": 1}', "-n", "50", "-c", "2")
    assert "[OK]  50 responses" in out.stdout, out.stdout


def test_tls_alpn_chooses_the_http_version(testing_pb, pki):
    ca, cert, key = pki
    server = ConnectServer(testing_pb, "--tls", str(cert), str(key))
    try:
        only_h1, alpn = (f"https://localhost:{a.rsplit(':', 1)[1]}" for a in (server.h1, server.h2c))
        for protocol in PROTOCOLS:
            tls = ["--protocol", protocol, "--protoset", str(testing_pb), "--cacert", str(ca)]
            out = rpcsh("call", "-v", "-a", only_h1, *tls, f"{SERVICE}/UnaryCall", '{"responseSize": 1}')
            assert out.stdout.strip() == '{"payload":{"body":"AA=="}}'
            assert "(TLS)" in out.stderr and " over HTTP/1.1 (" in out.stderr, out.stderr
            # ALPN picks HTTP/2, where a bidi stream goes without --http2.
            out = rpcsh("call", "-v", "-a", alpn, *tls, f"{SERVICE}/FullDuplexCall",
                        '{"responseParameters": [{"size": 1}]}')
            assert out.stdout.strip() == '{"payload":{"body":"AA=="}}'
            assert " over HTTP/2 (" in out.stderr, out.stderr
            refused = rpcsh("call", "-a", only_h1, *tls, f"{SERVICE}/FullDuplexCall", "{}", check=False)
            assert refused.returncode == 1 and "cannot carry over HTTP/1.1" in refused.stderr
    finally:
        server.proc.kill()
        server.proc.wait()


def test_connect_node_grpc_web_client_calls_rpcsh_serve(serve, tmp_path):
    server = serve("--task-interval", "0")
    demo = descriptor_set(ROOT / "proto", PROTOS + ["testing.proto"], tmp_path / "demo.pb")
    out = subprocess.run(["node", str(NODE / "connect_web_client.js"), server.addr, str(demo)],
                         capture_output=True, text=True, timeout=60, env=node_env())
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    for version in ("1.1", "2"):
        assert got[version]["hello"] == "hello connect-web"
        assert got[version]["features"] > 10
        assert got[version]["failing"] == {"code": 5, "message": "no such thing"}
    assert got["2"]["recorded"] == 2
    assert got["2"]["chat"] == ["first"]


@pytest.mark.parametrize("http2", [[], ["--http2"]], ids=["http1.1", "h2c"])
def test_grpc_web_client_against_rpcsh_serve(server, http2):
    """tonic-web sends a trailers-only error's status in the headers: it must map all the same."""
    web = ["-a", server.addr, "--protocol", "grpc-web", *http2]
    assert json.loads(rpcsh("call", *web, "Greeter/SayHello", '{"name": "web"}').stdout) == {"message": "hello web"}
    out = rpcsh("call", *web, "rpcsh.testing.v1.Testing/Generate", '{"count": 3, "size": 1}').stdout
    assert len(out.splitlines()) == 3
    out = rpcsh("call", *web, "rpcsh.testing.v1.Testing/Collect", "-", stdin='{"payload": "AA=="} {"payload": "AAA="}').stdout
    assert json.loads(out) == {"count": "2", "bytes": "3"}
    failed = rpcsh("call", *web, "rpcsh.testing.v1.Testing/Echo", '{"code": 5, "message": "no such thing"}', check=False)
    assert failed.returncode == 64 + 5
    assert "ERROR: code = NotFound, message = no such thing" in failed.stderr
    assert "google.rpc.ErrorInfo" in failed.stderr
    assert rpcsh("health", *web).stdout.strip() == "SERVING"
    assert rpcsh("health", *web, "Nope", check=False).returncode == 64 + 5
    chat = rpcsh("call", *web, "rpcsh.testing.v1.Testing/Chat", "-", stdin='{"seq": 1} {"seq": 2}', check=False)
    if http2:
        assert chat.stdout.split() == ['{"seq":"1"}', '{"seq":"2"}']
    else:
        assert chat.returncode == 1 and "hint: --http2" in chat.stderr
