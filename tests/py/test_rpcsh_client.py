"""`rpcsh` as a client of a real Python grpcio server with v1alpha-only reflection: every kind of
field round-trips through `rpcsh call` as proto3 JSON says, and what reached the server is
checked with protobuf's own JSON mapping."""
import json

import pytest
from conftest import INTEROP, rpcsh

EVERYTHING = {
    "i32": -7,
    "i64": "-9007199254740993",
    "u64": "18446744073709551615",
    "s32": -300,
    "f64": "12345678901234",
    "dbl": 2.5,
    "flt": 0.25,
    "flag": True,
    "text": "héllo, 世界",
    "data": "AAEC/w==",
    "color": "GREEN",
    "colors": ["RED", "COLOR_UNSPECIFIED", "GREEN"],
    "counts": {"a": "1", "b": "-2"},
    "inners": {"3": {"text": "three", "numbers": [1, 2]}},
    "inner": {"text": "chosen"},
    "when": "2024-02-29T12:34:56.789Z",
    "took": "3.500s",
    "meta": {"k": "v", "n": 1.5, "ok": True, "none": None, "list": [1.5, "x"]},
    "extra": {"@type": "type.googleapis.com/interop.v1.Inner", "text": "packed"},
    "maybeCount": "0",
    "maybeName": "",
    "mask": "text,inner.numbers",
    "anything": {"nested": ["a", 2.5]},
    "list": [True, None],
    "opt": 0,
    "innerList": [{"text": "x"}, {}],
}


@pytest.fixture
def mirror(stubs):
    from interop_server import Mirror
    server = Mirror()
    yield server
    server.stop()


def test_lists_and_describes_through_v1alpha(mirror):
    assert rpcsh("list", "--addr", mirror.addr).stdout.split() == [
        "grpc.reflection.v1alpha.ServerReflection", "interop.v1.Mirror"]
    out = rpcsh("describe", "--addr", mirror.addr, "interop.v1.Everything").stdout
    assert "map<string, int64> counts = 13;" in out
    assert "oneof choice {" in out and ".google.protobuf.Timestamp when = 17;" in out
    proc = rpcsh("-v", "call", "--addr", mirror.addr, "Mirror/Wait", '"1s"')
    assert "Schema from server reflection v1alpha" in proc.stderr


def test_every_field_kind_round_trips(mirror):
    from google.protobuf import json_format
    out = rpcsh("call", "--addr", mirror.addr, "Mirror/Reflect", json.dumps(EVERYTHING)).stdout
    assert json.loads(out) == EVERYTHING
    # What the server decoded, printed by protobuf's own JSON mapping, is the same message.
    received = json_format.MessageToDict(mirror.received[-1])
    assert received == EVERYTHING


def test_defaults_and_proto_names(mirror):
    out = json.loads(rpcsh("call", "--addr", mirror.addr, "Mirror/Reflect", '{"opt": 0}',
                           "--emit-defaults", "--proto-names").stdout)
    assert out["i64"] == "0" and out["color"] == "COLOR_UNSPECIFIED" and out["opt"] == 0
    assert out["inner_list"] == [] and out["counts"] == {}
    assert "maybe_count" not in out, "fields with presence are not defaults: unset, they stay absent"


def test_a_request_that_is_a_well_known_type(mirror):
    assert json.loads(rpcsh("call", "--addr", mirror.addr, "Mirror/Wait", '"3s"').stdout) == "3s"
    assert mirror.received[-1].seconds == 3
    proc = rpcsh("call", "--addr", mirror.addr, "Mirror/Wait", '"3 seconds"', check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("rpcsh: error: invalid request JSON at line 1")


def test_any_of_a_type_the_service_does_not_import(mirror):
    out = json.loads(rpcsh("call", "--addr", mirror.addr, "Mirror/Pack").stdout)
    assert out == {"text": "packed",
                   "extra": {"@type": "type.googleapis.com/interop.v1.Hidden", "secret": "s3", "tags": ["a", "b"]}}


def test_any_in_the_shell_is_printed_with_its_real_type(mirror):
    # The shell, piped and through `rpcsh run`, resolves Any as the one-shot call does.
    out = rpcsh("connect", mirror.addr, stdin="Mirror/Pack {}\n")
    assert json.loads(out.stdout)["extra"] == {
        "@type": "type.googleapis.com/interop.v1.Hidden", "secret": "s3", "tags": ["a", "b"]}
    script = (f"connect {mirror.addr}\nMirror/Pack {{}}\n"
              'expect {"extra": {"@type": "type.googleapis.com/interop.v1.Hidden", "secret": "s3"}}\n')
    out = rpcsh("run", "-", stdin=script, check=False)
    assert "1 passed, 0 failed" in out.stdout, out.stdout + out.stderr


def test_bidi_stream_with_python_server(mirror):
    out = rpcsh("call", "--addr", mirror.addr, "Mirror/ReflectStream", "-",
                stdin='{"i32": 1}\n{"text": "two"}\n{"colors": ["RED"]}\n').stdout
    assert [json.loads(line) for line in out.splitlines()] == [{"i32": 1}, {"text": "two"}, {"colors": ["RED"]}]


def test_bad_values_name_the_field(mirror):
    cases = [
        ('{"i32": 2147483648}', "field i32 (int32 in interop.v1.Everything)"),
        ('{"color": "BLUE"}', "field color (enum interop.v1.Color in interop.v1.Everything)"),
        ('{"data": "%%%"}', "field data (bytes in interop.v1.Everything)"),
        ('{"when": "yesterday"}', "field when (google.protobuf.Timestamp in interop.v1.Everything)"),
        ('{"inners": {"3": {"txt": 1}}}', "unrecognized field name 'txt'"),
    ]
    for data, needle in cases:
        proc = rpcsh("call", "--addr", mirror.addr, "Mirror/Reflect", data, check=False)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith("rpcsh: error: invalid request JSON") and needle in proc.stderr, proc.stderr
        assert not mirror.received, "nothing is sent when the request is invalid"


def test_server_without_reflection_needs_proto(stubs):
    from interop_server import Mirror
    server = Mirror(reflection=False)
    try:
        proc = rpcsh("call", "--addr", server.addr, "Mirror/Wait", '"1s"', check=False)
        assert proc.returncode == 1
        assert "does not support server reflection" in proc.stderr and "hint: describe its API with --proto" in proc.stderr
        out = rpcsh("call", "--addr", server.addr, "--proto", str(INTEROP / "interop.proto"), "Mirror/Reflect",
                    '{"i64": "5", "took": "1s"}').stdout
        assert json.loads(out) == {"i64": "5", "took": "1s"}
    finally:
        server.stop()


def test_any_of_an_unknown_type_prints_as_a_placeholder(mirror):
    # With --proto the schema is what the files say: Hidden is in none of them. It prints as
    # grpcurl prints it: its type, an @error and its bytes as @value.
    proc = rpcsh("call", "--addr", mirror.addr, "--proto", str(INTEROP / "interop.proto"), "Mirror/Pack", check=False)
    assert proc.returncode == 0, proc.stderr
    inner = [v for v in json.loads(proc.stdout).values() if isinstance(v, dict) and "@error" in v]
    assert inner and inner[0]["@type"].endswith("/interop.v1.Hidden"), proc.stdout
    assert inner[0]["@error"] == "interop.v1.Hidden is not in the schema: @value holds its bytes"
    assert inner[0]["@value"], proc.stdout


def test_grpcurls_order_and_data_flag(mirror, tmp_path):
    """A grpcurl user's first command lines, against grpcio: the server first, -d DATA, -d @FILE
    and -d @- (stdin); an address where a service goes gets a hint."""
    addr = mirror.addr
    assert "interop.v1.Mirror" in rpcsh("list", addr).stdout
    assert "Mirror.Reflect" in rpcsh("ls", "-v", addr, "interop.v1.Mirror").stdout
    assert "rpc Wait" in rpcsh("describe", addr, "interop.v1.Mirror").stdout
    assert '"i64"' in rpcsh("template", addr, "Mirror/Reflect").stdout
    request = {"i64": "7", "took": "2s"}
    for args, stdin in ((["-d", json.dumps(request)], None),
                        (["--data", f"@{tmp_path / 'r.json'}"], None),
                        (["-d", "@-"], json.dumps(request))):
        (tmp_path / "r.json").write_text(json.dumps(request))
        out = rpcsh("call", addr, *args, "Mirror/Reflect", stdin=stdin)
        assert json.loads(out.stdout) == request, (args, out.stderr)
    # Flags may come before the address, as grpcurl writes them.
    out = rpcsh("call", "-H", "x-a: 1", "--timeout", "5s", addr, "Mirror/Wait", '"1s"')
    assert json.loads(out.stdout) == "1s"
    bench = rpcsh("bench", addr, "-n", "3", "-d", '"1s"', "Mirror/Wait")
    assert "[OK]  3 responses" in bench.stdout, bench.stdout
    both = rpcsh("call", addr, "-d", "{}", "Mirror/Reflect", "{}", check=False)
    assert both.returncode == 2 and "cannot be used with" in both.stderr
    wrong = rpcsh("list", "-a", addr, "localhost:50051", check=False)
    assert "looks like a server's address" in wrong.stderr, wrong.stderr
