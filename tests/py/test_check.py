"""`rpcsh check`: a live server's reflected schema against the files a client was built from.
A grpcio server (set_server.py, grpcio-reflection) serves interop.proto with one prepared edit at
a time; check names each breaking one and passes the additive ones. And `rpcsh serve` against
our own protos is compatible."""
import json
import shutil
import subprocess

import pytest
from conftest import INTEROP, RPCSH, ROOT, descriptor_set, rpcsh
from set_server import SetServer

BREAKING = {
    "field removed": ("  bool flag = 8;\n", "", "FIELD_NO_DELETE", "interop.v1.Everything.flag"),
    "field renumbered": ("  string text = 9;", "  string text = 99;", "FIELD_NO_DELETE",
                         "interop.v1.Everything.text"),
    "field retyped": ("  int64 i64 = 2;", "  string i64 = 2;", "FIELD_SAME_TYPE",
                      "interop.v1.Everything.i64"),
    "map value retyped": ("  map<string, int64> counts = 13;", "  map<string, string> counts = 13;",
                          "FIELD_SAME_TYPE", "interop.v1.Everything.counts"),
    "field renamed": ("  uint64 u64 = 3;", "  uint64 unsigned = 3;", "FIELD_SAME_NAME",
                      "interop.v1.Everything.u64"),
    "field made repeated": ("  sint32 s32 = 4;", "  repeated sint32 s32 = 4;",
                            "FIELD_SAME_CARDINALITY", "interop.v1.Everything.s32"),
    "method made streaming": ("rpc Reflect(Everything) returns (Everything);",
                              "rpc Reflect(Everything) returns (stream Everything);",
                              "RPC_SAME_SERVER_STREAMING", "interop.v1.Mirror/Reflect"),
    "method removed": ("  rpc Wait(google.protobuf.Duration) returns (google.protobuf.Duration);\n",
                       "", "RPC_NO_DELETE", "interop.v1.Mirror/Wait"),
    "enum value dropped": ("  GREEN = 2;\n", "", "ENUM_VALUE_NO_DELETE", "interop.v1.Color.GREEN"),
}
ADDITIVE = {
    "field added": ("  repeated Inner inner_list = 27;",
                    "  repeated Inner inner_list = 27;\n  string note = 30;"),
    "enum value added": ("  GREEN = 2;", "  GREEN = 2;\n  BLUE = 3;"),
}


def served(tmp_path, old, new):
    """A grpcio server with reflection of interop.proto, `old` replaced by `new`."""
    folder = tmp_path / "edited"
    folder.mkdir()
    for f in ("interop.proto", "hidden.proto"):
        shutil.copy(INTEROP / f, folder / f)
    text = (folder / "interop.proto").read_text()
    assert old in text, old
    (folder / "interop.proto").write_text(text.replace(old, new))
    return SetServer(descriptor_set(folder, ["interop.proto"], tmp_path / "edited.pb"))


def check(server, *flags):
    return subprocess.run([RPCSH, "check", server.addr, f"--proto={INTEROP / 'interop.proto'}",
                           *flags], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("edit", list(BREAKING), ids=list(BREAKING))
def test_every_breaking_edit_is_named(tmp_path, edit):
    old, new, rule, place = BREAKING[edit]
    server = served(tmp_path, old, new)
    try:
        out = check(server)
        assert out.returncode == 1, out.stdout + out.stderr
        assert f"breaking  {rule}" in out.stdout and place in out.stdout, out.stdout
        report = json.loads(check(server, "--format", "json").stdout)
        assert not report["compatible"]
        assert {"rule": rule, "place": place} in [{"rule": f["rule"], "place": f["place"]}
                                                   for f in report["breaking"]], report
    finally:
        server.stop()


@pytest.mark.parametrize("edit", list(ADDITIVE), ids=list(ADDITIVE))
def test_additive_edits_pass(tmp_path, edit):
    server = served(tmp_path, *ADDITIVE[edit])
    try:
        out = check(server)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "additive  ADDED" in out.stdout and "0 breaking, 1 additive" in out.stdout
    finally:
        server.stop()


def test_rpcsh_serve_matches_its_own_protos(server):
    protos = [f"--proto={ROOT / 'proto' / p}" for p in
              ("helloworld.proto", "routeguide.proto", "compute.proto", "SimpleCal.proto",
               "contact.proto", "testing.proto")]
    out = rpcsh("check", server.addr, *protos)
    assert "0 breaking, 0 additive" in out.stdout


def test_check_needs_the_files(server):
    out = rpcsh("check", server.addr, check=False)
    assert out.returncode == 1 and "--proto FILE" in out.stderr
