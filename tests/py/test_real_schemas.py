"""Schemas nobody here wrote, served by grpcio with reflection and read from protosets and
.proto trees: googleapis (npm google-proto-files, compiled by grpcio-tools' protoc), editions
2023 and 2024 files, and a method whose file imports well-known types it does not use. The wire
bytes and JSON rpcsh makes of editions messages are checked against Python protobuf's."""
import json
import os
import pathlib
import re

import pexpect
import pytest
from conftest import ROOT, RPCSH, descriptor_set, rpcsh
from google.protobuf import json_format
from set_server import SetServer

PROTOS = pathlib.Path(__file__).resolve().parent / "protos"
EDITIONS = PROTOS / "editions"


def googleapis_root() -> pathlib.Path:
    for folder in os.environ.get("NODE_PATH", "").split(os.pathsep) + [
            str(ROOT / "target" / "node-peers" / "node_modules")]:
        path = pathlib.Path(folder) / "google-proto-files"
        if (path / "google" / "api").is_dir():
            return path
    raise RuntimeError("google-proto-files is not installed: source scripts/node-peers.sh")


GOOGLEAPIS_FILES = [
    "google/cloud/aiplatform/v1/prediction_service.proto",
    "google/pubsub/v1/pubsub.proto",
    "google/longrunning/operations.proto",
    "google/rpc/error_details.proto",
    "google/rpc/status.proto",
]


@pytest.fixture(scope="module")
def googleapis(tmp_path_factory):
    root = googleapis_root()
    out = tmp_path_factory.mktemp("googleapis") / "set.pb"
    descriptor_set(root, GOOGLEAPIS_FILES, out)
    server = SetServer(out)
    yield root, out, server
    server.stop()


def test_googleapis_list_describe_and_call_through_reflection(googleapis):
    _, _, server = googleapis
    listed = rpcsh("list", "-a", server.addr).stdout.split()
    for name in ["google.cloud.aiplatform.v1.PredictionService", "google.pubsub.v1.Publisher",
                 "google.pubsub.v1.Subscriber", "google.longrunning.Operations"]:
        assert name in listed
    text = rpcsh("describe", "-a", server.addr, "google.cloud.aiplatform.v1.PredictRequest").stdout
    assert "repeated .google.protobuf.Value instances = 2;" in text
    out = rpcsh("call", "-a", server.addr, "PredictionService/Predict",
                '{"endpoint": "projects/p/locations/l/endpoints/e", "instances": [{"a": 1}]}')
    assert json.loads(out.stdout) == {}
    topic = '{"name": "projects/p/topics/t", "labels": {"k": "v"}}'
    out = rpcsh("call", "-a", server.addr, "google.pubsub.v1.Publisher/CreateTopic", topic)
    assert json.loads(out.stdout) == json.loads(topic)
    out = rpcsh("call", "-a", server.addr, "Operations/GetOperation", '{"name": "op"}')
    assert json.loads(out.stdout) == {}


def test_googleapis_from_the_protoset_and_the_proto_tree(googleapis):
    root, protoset, server = googleapis
    topic = '{"name": "projects/p/topics/t", "messageRetentionDuration": "3600s"}'
    for schema in (["--protoset", str(protoset)],
                   ["-I", str(root), "--proto", "google/pubsub/v1/pubsub.proto"]):
        out = rpcsh("call", "-a", server.addr, *schema, "Publisher/CreateTopic", topic)
        assert json.loads(out.stdout) == json.loads(topic)
        listed = rpcsh("list", *schema).stdout.split()
        assert "google.pubsub.v1.Publisher" in listed
    # The tree's own google/protobuf/descriptor.proto (newer than protox parses) loses to
    # rpcsh's, and -v says so.
    assert (root / "google" / "protobuf" / "descriptor.proto").is_file()
    out = rpcsh("call", "-v", "-a", server.addr, "-I", str(root), "--proto",
                "google/cloud/aiplatform/v1/prediction_service.proto",
                "PredictionService/Predict", '{"endpoint": "e"}')
    assert json.loads(out.stdout) == {}
    assert re.search(r"Using rpcsh's own well-known types, not .*google/protobuf/\w+\.proto",
                     out.stderr), out.stderr


def test_googleapis_in_the_shell_with_completion(googleapis):
    _, protoset, server = googleapis
    for schema in ([], ["--protoset", str(protoset)]):
        shell = pexpect.spawn(RPCSH, ["connect", server.addr, "--no-history", *schema],
                              encoding="utf-8", timeout=20, dimensions=(40, 200),
                              env={**os.environ, "NO_COLOR": "1"})
        try:
            shell.expect_exact(f"{server.addr}> ")
            shell.send("Publisher/CreateTo\t")
            shell.expect("CreateTopic")
            shell.send(' {"name": "x"}\r')
            shell.expect(r'"name": "x"')
            shell.sendline("exit")
            shell.expect(pexpect.EOF)
        finally:
            shell.close(force=True)


@pytest.fixture(scope="module")
def unused(tmp_path_factory):
    out = tmp_path_factory.mktemp("unused")
    served = descriptor_set(PROTOS, ["unused_imports.proto"], out / "unused.pb")
    status = descriptor_set(googleapis_root(), ["google/rpc/error_details.proto",
                                                "google/rpc/status.proto"], out / "status.pb")
    server = SetServer(served, fail={"unused.v1.Checker/Check"}, status_set=status)
    yield served, server
    server.stop()


def assert_details(text):
    assert "ERROR: code = FailedPrecondition, message = precondition failed" in text, text
    assert '"@type":"type.googleapis.com/google.rpc.BadRequest"' in text, text
    assert '"description":"must not be empty"' in text, text
    assert '"reason":"EMPTY_NAME"' in text, text


def test_status_details_print_whatever_the_methods_file_imports(unused):
    served, server = unused
    for schema in ([], ["--protoset", str(served)], ["--proto", str(PROTOS / "unused_imports.proto")]):
        out = rpcsh("call", "-a", server.addr, *schema, "Checker/Check", '{"name": ""}', check=False)
        assert out.returncode == 64 + 9, out.stderr
        assert_details(out.stdout + out.stderr)
    out = rpcsh("connect", server.addr, stdin='Checker/Check {"name": ""}\n', check=False)
    assert_details(out.stdout + out.stderr)


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    out = tmp_path_factory.mktemp("editions")
    sets = {name: descriptor_set(EDITIONS, [f"{name}.proto"], out / f"{name}.pb")
            for name in ("ed2023", "ed2024")}
    servers = {name: SetServer(path) for name, path in sets.items()}
    yield sets, servers
    for s in servers.values():
        s.stop()


CASES = {
    "ed2023": ("ed.v1.Things/Echo", "ed.v1.Thing", [
        {"requiredNum": 7},
        {"explicitNum": 0, "requiredNum": 1},
        {"requiredNum": 2, "packedNums": [1, 2, 300],
         "expandedNums": [4, 5], "delimited": {"x": 3}, "prefixed": {"x": 4},
         "color": "GREEN", "open": "OPEN_A", "name": "n", "byName": {"k": {"x": 1}},
         "b": "9007199254740993", "delimitedList": [{"x": 1}, {}]},
        {"requiredNum": 3, "color": "RED", "name": "none", "a": ""},
    ]),
    "ed2024": ("ed.v2.Boxes/Echo", "ed.v2.Box", [
        {},
        {"count": 0, "title": "", "maybe": 0, "level": "LOW"},
        {"count": 3, "title": "t", "maybe": 5, "packed": ["-1", "2"], "expanded": [7, 8],
         "part": {"label": "p"}, "parts": [{"label": "a"}, {}], "counts": {"a": 1}},
    ]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_editions_encode_and_print_as_protobuf_does(editions, name):
    sets, servers = editions
    server = servers[name]
    method, message, requests = CASES[name]
    cls = server.message_class(message)
    schemas = [[], ["--protoset", str(sets[name])], ["--proto", str(EDITIONS / f"{name}.proto")]]
    for schema in schemas:
        for request in requests:
            out = rpcsh("call", "-v", "-a", server.addr, *schema, method, json.dumps(request))
            sent = bytes.fromhex(re.search(r"request-hex: ([0-9a-f]*)", out.stderr).group(1))
            expected = json_format.Parse(json.dumps(request), cls())
            assert sent == expected.SerializeToString(deterministic=True), (schema, request)
            printed = json.loads(out.stdout)
            assert printed == json_format.MessageToDict(cls.FromString(sent)), (schema, request)


def test_editions_describe_and_template(editions):
    sets, servers = editions
    text = rpcsh("describe", "--protoset", str(sets["ed2023"]), "ed.v1.Thing").stdout
    assert "required int32 required_num = 3;" in text, text
    assert "optional int32 maybe = 3;" in rpcsh("describe", "--protoset", str(sets["ed2024"]),
                                                "ed.v2.Box").stdout
    out = rpcsh("template", "-a", servers["ed2023"].addr, "Things/Echo").stdout
    assert json.loads(out)["color"] == "RED"


def test_an_editions_source_with_closed_enums_and_defaults_reads_as_its_protoset(editions):
    """ed2023.proto has a closed enum starting at 1 and a `[default = ...]`, which proto3 text
    cannot say: the source reads as protoc's descriptors of it do."""
    sets, _ = editions
    for symbol in ("ed.v1.Thing", "ed.v1.Color"):
        from_source = rpcsh("describe", "--proto", str(EDITIONS / "ed2023.proto"), symbol,
                            "--format", "json").stdout
        from_protoc = rpcsh("describe", "--protoset", str(sets["ed2023"]), symbol,
                            "--format", "json").stdout
        assert json.loads(from_source) == json.loads(from_protoc), symbol


@pytest.fixture(scope="module")
def chained(tmp_path_factory):
    """30 files of 20 messages: the method's response reaches 600, past the size a one-shot
    command builds shallow. It answers a response nested `depth` levels deep."""
    from chain_schema import chain
    folder = tmp_path_factory.mktemp("chain")
    out = descriptor_set(folder, chain(folder, files=30), folder / "chain.pb")
    servers = []

    def start(depth):
        probe = SetServer(out)
        cls = lambda f, m: probe.message_class(f"chain.p{f}.Msg{m}")
        probe.stop()
        reply = cls(29, 19)(field_number_3_with_a_longish_name="top",
                           field_number_4_with_a_longish_name=1)
        level = reply
        for d in range(depth):
            level.previous_file.field_number_3_with_a_longish_name = f"file {d}"
            level.previous.field_number_5_with_a_longish_name = d % 2 == 0
            level.previous.previous.field_number_4_with_a_longish_name = -d
            level = level.previous_file
        server = SetServer(out, answers={"chain.p29.Chain/Get": reply.SerializeToString()})
        servers.append(server)
        return server, reply

    yield out, start
    for s in servers:
        s.stop()


@pytest.mark.parametrize("depth", [0, 2, 8])
def test_a_big_response_prints_whole_from_a_shallow_build(chained, depth):
    protoset, start = chained
    server, reply = start(depth)
    expected = json_format.MessageToDict(reply)
    for schema in ([], ["--protoset", str(protoset)]):
        out = rpcsh("call", "-a", server.addr, *schema, "chain.p29.Chain/Get", "{}")
        assert json.loads(out.stdout) == expected, schema
    text = rpcsh("describe", "--protoset", str(protoset), "chain.p29.Msg19").stdout
    assert ".chain.p28.Msg19 previous_file = 1;" in text
    assert "string field_number_3_with_a_longish_name = 3;" in text


def test_a_request_any_holding_a_type_of_a_shallow_build(tmp_path):
    """A request whose `Any` holds a message of a big closure: the lazy request build leaves
    that message a stub (or out), so the walk of the JSON follows `@type` and builds what the
    held message fills. Served by grpcio, which echoes the request."""
    from chain_schema import chain
    names = chain(tmp_path, files=30)
    (tmp_path / "svc.proto").write_text(
        'syntax = "proto3";\npackage holder;\nimport "c29.proto";\n'
        'import "google/protobuf/any.proto";\n'
        "message Req { google.protobuf.Any any = 1; chain.p29.Msg19 big = 2; }\n"
        "service Holder { rpc Echo(Req) returns (Req); }\n")
    protoset = descriptor_set(tmp_path, [*names, "svc.proto"], tmp_path / "holder.pb")
    server = SetServer(protoset)
    url = "type.googleapis.com/chain.p{}"
    requests = [
        {"any": {"@type": url.format("29.Msg19"), "fieldNumber3WithALongishName": "top",
                 "previous": {"previous": {"fieldNumber5WithALongishName": True}}}},
        {"any": {"@type": url.format("3.Msg2"),
                 "previousFile": {"previous": {"fieldNumber3WithALongishName": "deep"}}},
         "big": {"previous": {"fieldNumber3WithALongishName": "beside"}}},
        # An Any of an Any: the inner one is under "value" (walking the outer again never ends).
        {"any": {"@type": "type.googleapis.com/google.protobuf.Any",
                 "value": {"@type": url.format("29.Msg19"),
                           "previous": {"fieldNumber3WithALongishName": "in"}}}},
    ]
    try:
        for schema in ([], ["--protoset", str(protoset)]):
            for request in requests:
                text = json.dumps(request)
                out = rpcsh("call", "-a", server.addr, *schema, "holder.Holder/Echo", text)
                assert json.loads(out.stdout) == request, schema
                out = rpcsh("bench", "-a", server.addr, *schema, "-n", "3", "--output", "json",
                            "holder.Holder/Echo", text)
                assert json.loads(out.stdout)["statuses"] == {"OK": 3}, schema
        gone = json.dumps({"any": {"@type": url.format("3.Nope"), "x": 1}})
        out = rpcsh("call", "-a", server.addr, "holder.Holder/Echo", gone, check=False)
        assert out.returncode == 1 and "chain.p3.Nope" in out.stderr, out.stderr
        assert out.stderr.count("rpcsh: error:") == 1, out.stderr
    finally:
        server.stop()


def test_a_descriptor_the_library_panics_on_is_one_error_naming_the_file(tmp_path):
    # prost-reflect 0.16.5 panics (an index out of bounds while labelling its error) on a file
    # of an unknown syntax that carries no source info, as protosets and reflection send them.
    from google.protobuf import descriptor_pb2
    fds = descriptor_pb2.FileDescriptorSet()
    weird = fds.file.add(name="weird.proto", package="w", syntax="proto4")
    weird.message_type.add(name="M").field.add(name="x", number=1, type=5, label=1)
    path = tmp_path / "weird.pb"
    path.write_bytes(fds.SerializeToString())
    for command in (["describe", "w.M"], ["template", "w.M"], ["list"]):
        out = rpcsh(*command, "--protoset", str(path), check=False)
        if command == ["list"]:  # names only: nothing is built
            assert out.returncode == 0 and out.stdout == "", out.stderr
            continue
        assert out.returncode == 1, out.stderr
        assert out.stderr.count("rpcsh: error:") == 1 and "weird.proto" in out.stderr, out.stderr
        assert "panicked at" not in out.stderr and "RUST_BACKTRACE" not in out.stderr


def test_bench_data_files_and_scenarios_on_googleapis_and_editions(googleapis, editions, tmp_path):
    """`rpcsh bench` with schemas we did not write, served by grpcio: data-file lines holding
    `google.protobuf.Value`s and maps with placeholders, and a scenario chaining an editions
    message's field through `let`, checked by `expect` against what the server echoed."""
    _, _, server = googleapis
    lines = tmp_path / "predict.jsonl"
    lines.write_text(
        '{"endpoint": "projects/p/locations/l/endpoints/{{uuid}}", "instances": [{"a": {{n}}}]}\n'
        '{"endpoint": "projects/p/locations/l/endpoints/e", "instances": [[1, "x", null]],'
        ' "parameters": {"k": {{random 1 9}}}}\n')
    r = json.loads(rpcsh("bench", "-a", server.addr, "PredictionService/Predict", "--data-file",
                         str(lines), "-n", "20", "-c", "2", "--output", "json").stdout)
    assert r["statuses"] == {"OK": 20}, r["errors"]
    _, servers = editions
    script = tmp_path / "boxes.rpcsh"
    script.write_text('ed.v2.Boxes/Echo {"count": 3, "title": "t", "counts": {"a": 1}}\n'
                      'expect {"count": 3, "counts": {"a": 1}}\n'
                      'let c = $.count\n'
                      'ed.v2.Boxes/Echo {"count": ${c}, "parts": [{"label": "a"}, {}]}\n'
                      'expect {"count": 3, "parts": [{"label": "a"}, {}]}\n')
    r = json.loads(rpcsh("bench", "-a", servers["ed2024"].addr, "--script", str(script), "-n", "20",
                         "-c", "2", "--output", "json").stdout)
    assert r["statuses"] == {"OK": 20} and [s["count"] for s in r["steps"]] == [20, 20], r
