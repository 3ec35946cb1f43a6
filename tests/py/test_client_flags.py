"""What grpcurl, buf curl, evans and ghz users have, in rpcsh's own CLI, each against a peer of
another stack: grpc.testing.TestService on grpcio (it records every call's headers, reflection's
included), interop.v1.Mirror on grpcio (echoes any message), the seed's grpcio server (no
reflection), connect-node behind nginx under a path prefix, grpcurl reading back what rpcsh
writes. Rows: requests in text format and binary, --format-error, --envelope, sizes in -vv,
--rpc-header and --reflect-header, --servername, SSLKEYLOGFILE, URL path prefixes, -u and netrc,
describe with no symbol, --protoset-out/--proto-out on list and call, several --protoset,
--reflect-version."""
import base64
import json
import subprocess

import pytest

import grpcurl_corpus as corpus
from conftest import DB, INTEROP, ROOT, descriptor_set, rpcsh
from ingress import NGINX, free_port, need, wait_listening

TS = "grpc.testing.TestService"


@pytest.fixture(scope="module")
def testing():
    from interop_testservice import TestServer
    server = TestServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mirror():
    from interop_server import Mirror
    server = Mirror()
    yield server
    server.stop()


def headers_of(server, method):
    """The request headers of the last call `server` received for `method`."""
    return [h for m, h in server.seen if m == method][-1]


def test_text_format_requests(mirror):
    text = 'i32: 5 text: "h\\303\\251" counts { key: "a" value: 2 } inner { text: "x" }'
    out = rpcsh("call", "-a", mirror.addr, "interop.v1.Mirror/Reflect", "--data-format", "text",
                text).stdout
    assert json.loads(out) == {"i32": 5, "text": "hé", "counts": {"a": "2"},
                               "inner": {"text": "x"}}
    stream = rpcsh("call", "-a", mirror.addr, "interop.v1.Mirror/ReflectStream",
                   "--data-format", "text", "-", stdin="i32: 1\x1ei32: 2").stdout
    assert [json.loads(line) for line in stream.splitlines()] == [{"i32": 1}, {"i32": 2}]
    bad = rpcsh("call", "-a", mirror.addr, "interop.v1.Mirror/Reflect", "--data-format", "text",
                "i32: nope", check=False)
    assert bad.returncode == 1 and "invalid request text" in bad.stderr


def test_binary_requests_from_a_python_encoder(mirror, tmp_path):
    import interop_pb2
    message = interop_pb2.Everything(i32=-5, text="bin", colors=[1, 2], counts={"a": 3})
    path = tmp_path / "req.bin"
    path.write_bytes(message.SerializeToString())
    out = rpcsh("call", "-a", mirror.addr, "interop.v1.Mirror/Reflect", "--data-format", "binary",
                f"@{path}").stdout
    assert json.loads(out) == {"i32": -5, "text": "bin", "colors": ["RED", "GREEN"],
                               "counts": {"a": "3"}}
    inline = base64.b64encode(message.SerializeToString()).decode()
    again = rpcsh("call", "-a", mirror.addr, "interop.v1.Mirror/Reflect", "--data-format",
                  "binary", inline).stdout
    assert again == out
    # A stream: each message after its varint length, as protobuf's writeDelimitedTo writes.
    from google.protobuf.internal.encoder import _VarintBytes
    parts = [interop_pb2.Everything(i32=n).SerializeToString() for n in (1, 2, 3)]
    delimited = b"".join(_VarintBytes(len(p)) + p for p in parts)
    streamed = subprocess.run([rpcsh_bin(), "call", "-a", mirror.addr, "interop.v1.Mirror/ReflectStream",
                               "--data-format", "binary", "-"], input=delimited,
                              capture_output=True, check=True)
    assert [json.loads(line) for line in streamed.stdout.splitlines()] == [
        {"i32": 1}, {"i32": 2}, {"i32": 3}]


def rpcsh_bin():
    from conftest import RPCSH
    return RPCSH


def test_format_error_is_the_status_as_json(testing):
    data = json.dumps({"responseStatus": {"code": 3, "message": "bad <input>"}})
    proc = rpcsh("call", "-a", testing.addr, f"{TS}/UnaryCall", data, "--format-error",
                 check=False)
    assert proc.returncode == 64 + 3
    assert proc.stdout == ""
    assert json.loads(proc.stderr) == {"code": 3, "name": "InvalidArgument",
                                       "message": "bad <input>", "details": []}


def test_envelope_holds_the_whole_exchange(testing):
    initial, trailing = "x-grpc-test-echo-initial", "x-grpc-test-echo-trailing-bin"
    proc = rpcsh("call", "-a", testing.addr, f"{TS}/UnaryCall", '{"responseSize": 3}',
                 "--envelope", "-H", f"{initial}: hello", "-H", f"{trailing}: q6vN")
    doc = json.loads(proc.stdout)
    assert doc["method"] == f"/{TS}/UnaryCall"
    assert doc["requestHeaders"] == {initial: ["hello"], trailing: ["q6vN"]}
    assert doc["requests"] == [{"responseSize": 3}]
    assert doc["responseHeaders"][initial] == ["hello"]
    assert doc["responses"] == [{"payload": {"body": "AAAA"}}]
    assert doc["trailers"][trailing] == ["q6vN"]
    assert doc["status"] == {"code": 0, "name": "OK", "message": "", "details": []}
    t = doc["timings"]
    assert 0 <= t["connectMs"] <= t["totalMs"] and t["firstMessageMs"] <= t["totalMs"]
    # A failed call: the document still, its status in it, and the exit code of the status.
    failed = rpcsh("call", "-a", testing.addr, f"{TS}/UnaryCall", "--envelope",
                   '{"responseStatus": {"code": 9, "message": "nope"}}', check=False)
    assert failed.returncode == 64 + 9
    doc = json.loads(failed.stdout)
    assert doc["status"]["code"] == 9 and doc["status"]["message"] == "nope"
    assert doc["responses"] == []


def test_vv_says_the_size_of_each_message(testing):
    proc = rpcsh("-vv", "call", "-a", testing.addr, f"{TS}/UnaryCall", '{"responseSize": 10}')
    assert "Request message 1: 2 bytes" in proc.stderr
    assert "Response message 1: 14 bytes" in proc.stderr
    assert "bytes" not in rpcsh("-v", "call", "-a", testing.addr, f"{TS}/EmptyCall").stderr


def test_rpc_and_reflect_headers_go_where_they_are_meant(testing):
    rpcsh("call", "-a", testing.addr, f"{TS}/EmptyCall", "-H", "x-both: 1", "--rpc-header",
          "x-call: 2", "--reflect-header", "x-reflect: 3")
    call = headers_of(testing, f"/{TS}/EmptyCall")
    reflection = headers_of(testing,
                            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
    assert (call.get("x-both"), call.get("x-call"), call.get("x-reflect")) == ("1", "2", None)
    assert (reflection.get("x-both"), reflection.get("x-call"), reflection.get("x-reflect")) == (
        "1", None, "3")


def test_basic_credentials_from_user_and_netrc(testing, tmp_path):
    expected = "Basic " + base64.b64encode(b"ann:s3cret").decode()
    rpcsh("call", "-a", testing.addr, f"{TS}/EmptyCall", "-u", "ann:s3cret")
    assert headers_of(testing, f"/{TS}/EmptyCall")["authorization"] == expected
    netrc = tmp_path / "netrc"
    netrc.write_text("machine elsewhere login x password y\nmachine 127.0.0.1 login ann password s3cret\n")
    rpcsh("call", "-a", testing.addr, f"{TS}/EmptyCall", "--netrc-file", str(netrc))
    assert headers_of(testing, f"/{TS}/EmptyCall")["authorization"] == expected
    reflection = headers_of(testing,
                            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
    assert reflection["authorization"] == expected
    (tmp_path / ".netrc").write_text("default login dee password pw\n")
    import os
    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run([rpcsh_bin(), "call", "-a", testing.addr, f"{TS}/EmptyCall", "--netrc"],
                   env=env, check=True, capture_output=True)
    assert headers_of(testing, f"/{TS}/EmptyCall")["authorization"] == (
        "Basic " + base64.b64encode(b"dee:pw").decode())
    # The secret never shows in -v.
    verbose = rpcsh("-v", "call", "-a", testing.addr, f"{TS}/EmptyCall", "-u", "ann:s3cret")
    assert "s3cret" not in verbose.stderr and "YW5u" not in verbose.stderr


@pytest.fixture(scope="module")
def tls_testing(pki):
    from interop_testservice import TestServer
    ca, cert, key = pki
    server = TestServer(tls=(cert, key))
    yield server
    server.stop()


def test_servername_apart_from_authority(tls_testing, pki):
    ca = str(pki[0])
    ok = rpcsh("list", "-a", tls_testing.addr, "--cacert", ca, "--authority", "wrong.example",
               "--servername", "grpc.test")
    assert TS in ok.stdout.split()
    bad = rpcsh("list", "-a", tls_testing.addr, "--cacert", ca, "--servername", "nope.test",
                check=False)
    assert bad.returncode == 1
    assert 'not valid for name "nope.test"' in bad.stderr and "--servername" in bad.stderr


def test_sslkeylogfile_gets_the_session_keys(tls_testing, pki, tmp_path):
    import os
    log = tmp_path / "keys.log"
    env = {**os.environ, "SSLKEYLOGFILE": str(log)}
    subprocess.run([rpcsh_bin(), "call", "-a", tls_testing.addr, "--cacert", str(pki[0]),
                    f"{TS}/EmptyCall"], env=env, check=True, capture_output=True)
    labels = {line.split()[0] for line in log.read_text().splitlines()}
    assert {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"} <= labels


def test_describe_with_no_symbol_is_every_service(mirror):
    out = rpcsh("describe", "-a", mirror.addr).stdout
    described = [line for line in out.splitlines() if line.endswith(" is a service:")]
    assert described == ["grpc.reflection.v1alpha.ServerReflection is a service:",
                         "interop.v1.Mirror is a service:"]
    assert "rpc Reflect(.interop.v1.Everything) returns (.interop.v1.Everything);" in out


def test_schema_written_out_by_list_and_call_reads_back_in_grpcurl(mirror, tmp_path):
    grpcurl = corpus.grpcurl_binary()
    listed = tmp_path / "list.pb"
    rpcsh("list", "-a", mirror.addr, "interop.v1.Mirror", "--protoset-out", str(listed))
    back = subprocess.run([grpcurl, "-protoset", str(listed), "list", "interop.v1.Mirror"],
                          capture_output=True, text=True, check=True)
    assert "interop.v1.Mirror.Reflect" in back.stdout.split()
    protos = tmp_path / "protos"
    rpcsh("call", "-a", mirror.addr, "interop.v1.Mirror/Reflect", '{"i32": 1}', "--proto-out",
          str(protos))
    back = subprocess.run([grpcurl, "-import-path", str(protos), "-proto", "interop.proto",
                           "describe", "interop.v1.Everything"],
                          capture_output=True, text=True, check=True)
    assert "map<string, int64> counts = 13;" in back.stdout


def test_several_protosets_make_one_schema(stubs, tmp_path):
    import sys
    routes = descriptor_set(ROOT / "proto", ["routeguide.proto", "helloworld.proto"],
                            tmp_path / "routes.pb")
    cal = descriptor_set(ROOT / "proto", ["SimpleCal.proto"], tmp_path / "cal.pb")
    seed = subprocess.Popen([sys.executable, str(ROOT / "tests" / "py" / "seed_server.py"),
                             "--stubs", str(stubs), "--db", str(DB)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = seed.stdout.readline()
        if not line.startswith("listening on "):
            pytest.fail(seed.stderr.read())
        addr = line.removeprefix("listening on ").strip()
        flags = ["-a", addr, "--protoset", str(routes), "--protoset", str(cal)]
        assert rpcsh("list", *flags).stdout.split() == ["Cal", "Greeter", "RouteGuide"]
        added = rpcsh("call", *flags, "Cal/Add", '{"number1": 2, "number2": 3}').stdout
        assert json.loads(added) == {"number": 5}
        hello = rpcsh("call", *flags, "Greeter/SayHello", '{"name": "two"}').stdout
        assert json.loads(hello) == {"message": "hello two"}
    finally:
        seed.kill()
        seed.wait()


def test_reflect_version_asks_only_that_one(testing):
    # grpcio's reflection is v1alpha only: auto asks v1 first, v1alpha asks only it.
    v1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
    before = sum(1 for m, _ in testing.seen if m == v1)
    ok = rpcsh("list", "-a", testing.addr, "--reflect-version", "v1alpha")
    assert TS in ok.stdout.split()
    assert sum(1 for m, _ in testing.seen if m == v1) == before
    refused = rpcsh("list", "-a", testing.addr, "--reflect-version", "v1", check=False)
    assert refused.returncode == 1
    assert "no grpc.reflection.v1 service" in refused.stderr
    assert "--reflect-version v1alpha" in refused.stderr


def test_url_path_prefix_for_connect_and_grpc_web(tmp_path):
    """connect-node behind nginx under /api/ (the prefix stripped, as an ingress does)."""
    need(NGINX, "nginx")
    from test_connect_peers import ConnectServer
    pb = descriptor_set(INTEROP, ["grpc_testing.proto"], tmp_path / "testing.pb")
    server = ConnectServer(pb)
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""
daemon off;
master_process off;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp_path}/body;
  server {{
    listen 127.0.0.1:{port};
    location /api/ {{ proxy_pass http://{server.h1}/; proxy_http_version 1.1; }}
  }}
}}
""")
    nginx = subprocess.Popen([NGINX, "-e", "stderr", "-p", str(tmp_path), "-c", str(conf)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(port, nginx, "nginx")
        for protocol in ("connect", "grpc-web"):
            out = rpcsh("call", "-a", f"http://127.0.0.1:{port}/api/", "--protocol", protocol,
                        "--protoset", str(pb), f"{TS}/UnaryCall", '{"responseSize": 2}').stdout
            assert json.loads(out) == {"payload": {"body": "AAA="}}, protocol
        # Without the prefix nginx has nothing there: a 404, UNIMPLEMENTED.
        missing = rpcsh("call", "-a", f"http://127.0.0.1:{port}", "--protocol", "connect",
                        "--protoset", str(pb), f"{TS}/EmptyCall", check=False)
        assert missing.returncode == 64 + 12
        # gRPC paths cannot take a prefix: said before anything is sent.
        grpc = rpcsh("call", "-a", f"http://127.0.0.1:{port}/api", "--protoset", str(pb),
                     f"{TS}/EmptyCall", check=False)
        assert grpc.returncode == 1 and "--protocol connect" in grpc.stderr
    finally:
        nginx.terminate()
        nginx.wait()
        server.proc.kill()
        server.proc.wait()
