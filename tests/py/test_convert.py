"""`rpcsh encode` / `rpcsh decode` / `decode --raw`: JSON to protobuf and back with no call,
checked against Python protobuf (grpcio's stack) for every kind of field of interop.proto's
Everything, framed and base64 forms, the schema from files and from a grpcio server's
reflection, and `decode --raw` against protoc's own `--decode_raw`."""
import base64
import json
import subprocess
import sys

from conftest import INTEROP, RPCSH, rpcsh
from google.protobuf import json_format

PROTO = f"--proto={INTEROP / 'interop.proto'}"
EVERYTHING = {
    "i32": -7, "i64": "-9000000000", "u64": "18000000000000000000", "s32": -3,
    "f64": "12345678901", "dbl": 2.5, "flt": 0.25, "flag": True, "text": "héllo \u001b",
    "data": "AAEC/w==", "color": "RED", "colors": ["GREEN", "RED"],
    "counts": {"a": "1", "b": "-2"}, "inners": {"3": {"text": "x", "numbers": [1, 2]}},
    "inner": {"text": "in oneof"}, "when": "2026-12-03T10:00:00Z", "took": "1.500s",
    "meta": {"k": [1, "two", None]}, "extra": {"@type": "type.googleapis.com/interop.v1.Inner",
                                               "text": "packed"},
    "maybeCount": "5", "maybeName": "n", "mask": "a.b,c", "anything": 3.5,
    "list": [True, "s"], "opt": 0, "innerList": [{"text": "l1"}, {}],
}


def run(*args, stdin=None):
    out = subprocess.run([RPCSH, *args], input=stdin, capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout


def test_every_field_type_encodes_as_protobuf_does_and_decodes_back(stubs):
    import interop_pb2
    data = json.dumps(EVERYTHING)
    binary = run("encode", PROTO, "interop.v1.Everything", data)
    expected = json_format.Parse(data, interop_pb2.Everything())
    # The same message as Python protobuf makes of the JSON (bytes may order maps differently).
    assert interop_pb2.Everything.FromString(binary) == expected
    decoded = json.loads(run("decode", PROTO, "interop.v1.Everything", "--format", "jsonl",
                             stdin=expected.SerializeToString()))
    assert json_format.ParseDict(decoded, interop_pb2.Everything()) == expected
    assert decoded["text"] == "héllo \u001b" and decoded["u64"] == "18000000000000000000"


def test_framed_and_base64_round_trip_from_a_grpcio_servers_reflection(stubs):
    from interop_server import Mirror
    server = Mirror()
    try:
        stream = '{"text": "one"} {"i32": 2} {}'
        framed = run("encode", "-a", server.addr, "interop.v1.Mirror/ReflectStream", stream, "--framed",
                     "--base64").decode()
        raw = base64.b64decode(framed)
        assert raw[:5] == b"\x00\x00\x00\x00\x05" and raw[5:10] == b"\x4a\x03one"
        back = run("decode", "-a", server.addr, "interop.v1.Mirror/ReflectStream", "--response",
                   "--framed", "--base64", "-f", "jsonl", stdin=framed.encode()).decode()
        assert [json.loads(line) for line in back.splitlines()] == [{"text": "one"}, {"i32": 2},
                                                                      {}]
    finally:
        server.stop()


def protoc_decode_raw(data):
    out = subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "--decode_raw"],
                         input=data, capture_output=True, check=True)
    return out.stdout.decode()


def test_decode_raw_prints_what_protoc_decode_raw_prints(stubs):
    import interop_pb2
    for message in (interop_pb2.Everything(i32=-1, text="a", f64=7, flt=1.5, colors=[1, 2],
                                           inner=interop_pb2.Inner(text="x", numbers=[1, 300])),
                    interop_pb2.Everything(data=b"\x00\x1b\xff", dbl=-2.0),
                    interop_pb2.Inner()):
        data = message.SerializeToString()
        assert run("decode", "--raw", stdin=data).decode() == protoc_decode_raw(data), message


def test_mistakes_are_one_error_with_a_hint(tmp_path):
    text = tmp_path / "b64.txt"
    text.write_text("CAE=\n")
    out = subprocess.run([RPCSH, "decode", PROTO, "interop.v1.Inner", str(text)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "hint: the input looks like base64 text: --base64" in out.stderr
    out = subprocess.run([RPCSH, "decode", "--raw", "--framed"], input=b"\x00\x00\x00\x00\x09ab",
                         capture_output=True)
    assert out.returncode == 1 and b"frame 1 says 9 bytes, and 2 follow" in out.stderr
    two = rpcsh("encode", PROTO, "interop.v1.Inner", "{} {}", check=False)
    assert two.returncode == 1 and "--framed" in two.stderr
    garbage = subprocess.run([RPCSH, "decode", "--raw"], input=b"\xff\xff",
                             capture_output=True, text=False)
    assert garbage.returncode == 1 and b"is not protobuf" in garbage.stderr


def test_a_file_read_into_a_bytes_field(stubs, tmp_path):
    import interop_pb2
    blob = bytes(range(256))
    (tmp_path / "blob.bin").write_bytes(blob)
    data = json.dumps({"data": f"@file:{tmp_path / 'blob.bin'}",
                       "inners": {"1": {"text": "@file:not-bytes"}}})
    message = interop_pb2.Everything.FromString(run("encode", PROTO, "interop.v1.Everything",
                                                    data))
    assert message.data == blob
    # Only bytes fields read files: a string keeps the text.
    assert message.inners[1].text == "@file:not-bytes"
