"""`rpcsh describe --protoset-out`: the schema a server serves (or local files give) written as a
FileDescriptorSet that protoc's own matches file for file, that grpcurl and rpcsh read back, for
rpcsh serve, for googleapis served by grpcio's reflection, and for .proto files."""
import difflib
import subprocess

import pytest

from conftest import ROOT, descriptor_set, rpcsh
from google.protobuf import descriptor_pb2
from test_real_schemas import GOOGLEAPIS_FILES, googleapis  # noqa: F401 (a fixture)
from test_reflection_peers import GRPCURL

PRINTING = ROOT / "tests" / "py" / "protos" / "printing"
DEMO_PROTOS = ["helloworld.proto", "routeguide.proto", "compute.proto", "SimpleCal.proto",
               "contact.proto", "testing.proto"]


def without_empty_options(message):
    """protoc keeps an `options {}` that a method written `{}` gives; protox (which compiled
    what rpcsh serve serves) leaves it out: the same descriptor."""
    for field, value in message.ListFields():
        if field.name == "options" and value.ByteSize() == 0:
            message.ClearField("options")
        elif field.type == field.TYPE_MESSAGE:
            for item in (value if field.is_repeated else [value]):
                without_empty_options(item)


def files(path):
    """The set's files by name, without source info (protoc leaves it out unless asked)."""
    out = {}
    for f in descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes()).file:
        f.ClearField("source_code_info")
        without_empty_options(f)
        out[f.name] = f
    return out


def names_in_order(path):
    return [f.name for f in descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes()).file]


def assert_imports_first(path):
    order = names_in_order(path)
    by_name = files(path)
    for i, name in enumerate(order):
        for dep in by_name[name].dependency:
            assert dep in order[:i], f"{name} comes before its import {dep}: {order}"


def test_rpcsh_serves_schema_exported_matches_protoc_and_reads_back(server, tmp_path):
    out = tmp_path / "all.pb"
    done = rpcsh("describe", "-a", server.addr, "--protoset-out", str(out))
    assert "wrote" in done.stderr
    protoc = files(descriptor_set(ROOT / "proto", DEMO_PROTOS, tmp_path / "protoc.pb"))
    exported = files(out)
    for name, f in protoc.items():
        assert exported.get(name) == f, name
    # Health and reflection are served too (tonic names their files health.proto, ...).
    assert "health.proto" in exported and "reflection_v1.proto" in exported
    assert_imports_first(out)
    # Read back: by grpcurl, and by rpcsh in place of reflection.
    listed = subprocess.run([GRPCURL, "-protoset", str(out), "list"], capture_output=True,
                            text=True, check=True).stdout.split()
    assert "RouteGuide" in listed and "rpcsh.testing.v1.Testing" in listed
    got = subprocess.run([GRPCURL, "-plaintext", "-protoset", str(out), "-d",
                          '{"latitude": 409146138, "longitude": -746188906}', server.addr,
                          "RouteGuide/GetFeature"], capture_output=True, text=True, check=True)
    assert "Berkshire Valley" in got.stdout
    call = rpcsh("call", "-a", server.addr, "--protoset", str(out), "Cal/Add",
                 '{"number1": 2, "number2": 3}')
    assert '"number":5' in call.stdout


def test_only_what_the_named_symbols_need(server, tmp_path):
    out = tmp_path / "rg.pb"
    rpcsh("describe", "-a", server.addr, "RouteGuide/RouteChat", "rpcsh.testing.v1.Blob",
          "--protoset-out", str(out))
    # testing.proto imports duration.proto: it comes first.
    assert names_in_order(out) == ["routeguide.proto", "google/protobuf/duration.proto",
                                   "testing.proto"]


def test_googleapis_through_grpcio_reflection_matches_the_set_it_serves(googleapis, tmp_path):  # noqa: F811
    _, served, server = googleapis
    out = tmp_path / "googleapis.pb"
    rpcsh("describe", "-a", server.addr, "--protoset-out", str(out), timeout=60)
    original, exported = files(served), files(out)
    # Every file a service reaches is there, as served; nothing else is.
    for name, f in exported.items():
        assert original.get(name) == f, name
    for name in ("google/pubsub/v1/pubsub.proto", "google/api/annotations.proto",
                 "google/cloud/aiplatform/v1/prediction_service.proto"):
        assert name in exported
    assert_imports_first(out)
    one = tmp_path / "pubsub.pb"
    rpcsh("describe", "-a", server.addr, "google.pubsub.v1.Publisher", "--protoset-out",
          str(one), timeout=60)
    assert "google/pubsub/v1/pubsub.proto" in files(one)
    assert "google/cloud/aiplatform/v1/prediction_service.proto" not in files(one)
    assert rpcsh("describe", "--protoset", str(one), "google.pubsub.v1.Publisher").returncode == 0


def test_from_proto_files(tmp_path):
    out = tmp_path / "local.pb"
    rpcsh("describe", "--proto", str(ROOT / "proto" / "routeguide.proto"), "--protoset-out",
          str(out))
    protoc = files(descriptor_set(ROOT / "proto", ["routeguide.proto"], tmp_path / "p.pb"))
    assert files(out) == protoc


def test_editions_files_are_exported_as_editions(tmp_path):
    """rpcsh reads editions files as their proto2/proto3 translation; what it writes out is the
    editions file it was given, through reflection and from a protoset alike."""
    from set_server import SetServer
    from test_real_schemas import EDITIONS
    given = descriptor_set(EDITIONS, ["ed2023.proto", "ed2024.proto"], tmp_path / "ed.pb")
    server = SetServer(given)
    try:
        for source in (["-a", server.addr], ["--protoset", str(given)]):
            out = tmp_path / "out.pb"
            rpcsh("describe", *source, "--protoset-out", str(out))
            exported = files(out)
            assert {n: f.syntax for n, f in exported.items()
                    if n.startswith("ed")} == {"ed2023.proto": "editions",
                                               "ed2024.proto": "editions"}, exported.keys()
            for name, f in exported.items():
                assert files(given)[name] == f, name
    finally:
        server.stop()


# --proto-out: .proto sources that protoc (grpc_tools') and protox (rpcsh --proto) compile back
# to the descriptors exported.

def with_default_json_names(message):
    """protoc fills each field's json_name; a source need not write the default one."""
    for field in list(message.field) + list(message.extension):
        if not field.HasField("json_name"):
            field.json_name = default_json_name(field.name)
    for nested in message.nested_type:
        with_default_json_names(nested)


def default_json_name(name):
    parts = name.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def comparable(path):
    out = files(path)
    for f in out.values():
        if f.syntax == "proto2":
            f.ClearField("syntax")
        for m in f.message_type:
            with_default_json_names(m)
        for e in f.extension:
            e.ClearField("json_name")
    return out


def compiled_tree(tree, out):
    """Every .proto under `tree` compiled by protoc into one set."""
    names = sorted(str(p.relative_to(tree)) for p in tree.rglob("*.proto"))
    return descriptor_set(tree, names, out)


def assert_same_files(exported, rebuilt, names):
    from google.protobuf import text_format
    for name in names:
        assert name in rebuilt, f"{name} is not in the rebuilt set"
        if exported[name] != rebuilt[name]:
            diff = difflib.unified_diff(
                text_format.MessageToString(exported[name]).splitlines(),
                text_format.MessageToString(rebuilt[name]).splitlines(), "exported", "rebuilt",
                lineterm="")
            raise AssertionError(f"{name} differs:\n" + "\n".join(diff))


def round_trip(source, tmp_path, symbols=(), timeout=30):
    """Exports `source`'s schema both ways; returns (exported files, protoc's, the tree)."""
    tree, pb = tmp_path / "tree", tmp_path / "exported.pb"
    done = rpcsh("describe", *source, *symbols, "--protoset-out", str(pb), "--proto-out",
                 str(tree), timeout=timeout)
    assert "cannot be written in .proto" not in done.stderr, done.stderr
    exported = comparable(pb)
    rebuilt = comparable(compiled_tree(tree, tmp_path / "rebuilt.pb"))
    written = [n for n in exported if not n.startswith("google/protobuf/")]
    assert sorted(str(p.relative_to(tree)) for p in tree.rglob("*.proto")) == sorted(written)
    assert_same_files(exported, rebuilt, written)
    return exported, rebuilt, tree


def test_proto_out_of_our_services_compiles_back_with_protoc_and_protox(server, tmp_path):
    exported, _, tree = round_trip(["-a", server.addr], tmp_path)
    source = (tree / "testing.proto").read_text()
    # Readable: short names, streaming, the comments the descriptors carry.
    assert "rpc Generate(GenerateRequest) returns (stream Blob);" in source
    assert "google.protobuf.Duration delay = 2;" in source
    assert "// Counts the blobs and bytes it receives." in source
    # protox (rpcsh --proto) reads the tree back to the same descriptors.
    again = tmp_path / "protox.pb"
    rpcsh("describe", "-I", str(tree), "--proto", str(tree / "routeguide.proto"), "--proto",
          str(tree / "testing.proto"), "--protoset-out", str(again))
    protox = comparable(again)
    assert_same_files(exported, protox, ["routeguide.proto", "testing.proto"])


def test_googleapis_proto_out_compiles_back_to_the_served_descriptors(googleapis, tmp_path):  # noqa: F811
    _, _, server = googleapis
    _, _, tree = round_trip(["-a", server.addr], tmp_path, timeout=60)
    pubsub = (tree / "google/pubsub/v1/pubsub.proto").read_text()
    # Custom options (google.api.http, field_behavior, resource), maps, oneofs.
    assert "option (google.api.http) = {" in pubsub
    assert "[(google.api.field_behavior) = REQUIRED" in pubsub
    assert "map<string, string> labels = " in pubsub
    assert "oneof " in pubsub
    assert 'import "google/api/annotations.proto";' in pubsub


def test_editions_proto_out_is_written_as_editions(tmp_path):
    from test_real_schemas import EDITIONS
    given = descriptor_set(EDITIONS, ["ed2023.proto", "ed2024.proto"], tmp_path / "ed.pb")
    _, _, tree = round_trip(["--protoset", str(given)], tmp_path)
    source = (tree / "ed2024.proto").read_text()
    assert source.startswith('edition = "2024";'), source
    assert "option features.field_presence = IMPLICIT;" in source
    assert "[features.repeated_field_encoding = EXPANDED]" in source
    # protox reads editions through rpcsh's own translation: the editions files come back,
    # ed2023.proto's closed enum starting at 1 and `default` included.
    again = tmp_path / "protox.pb"
    rpcsh("describe", "-I", str(tree), "--proto", str(tree / "ed2024.proto"), "--proto",
          str(tree / "ed2023.proto"), "--protoset-out", str(again))
    assert_same_files(comparable(given), comparable(again), ["ed2024.proto", "ed2023.proto"])


def test_proto2_and_proto3_corners_compile_back(tmp_path):
    """Groups (in messages, oneofs and extensions), defaults of every type, custom options of
    every kind (aggregates, lists, extensions inside them), maps among nested messages, a
    nested message shadowing a top-level one, reserved ranges, message sets, proto3 optional."""
    given = descriptor_set(PRINTING, ["three.proto"], tmp_path / "given.pb")
    exported, _, tree = round_trip(["--protoset", str(given)], tmp_path)
    source = (tree / "everything.proto").read_text()
    assert "optional .print.v1.Defaults top = 8;" in source  # the nested Defaults shadows it
    assert "optional Defaults mine = 9;" in source
    assert "repeated group Line = 2 {" in source
    assert "map<string, Before> befores = 1;" in source
    assert "optional int32 maybe = 1;" in (tree / "three.proto").read_text()
    again = tmp_path / "protox.pb"
    rpcsh("describe", "-I", str(tree), "--proto", str(tree / "three.proto"), "--protoset-out",
          str(again))
    # protox spells a double's default in full (1.5e-300 as 0.000...015), protoc with an
    # exponent: the same number.
    protox = comparable(again)
    for f in (exported["everything.proto"], protox["everything.proto"]):
        for field in f.message_type[0].field:
            if field.type in (field.TYPE_DOUBLE, field.TYPE_FLOAT):
                field.default_value = repr(float(field.default_value))
    assert_same_files(exported, protox, ["everything.proto", "three.proto", "options.proto"])


def hostile_set(path, file_name="ok.proto", message_name="Thing", comment="fine"):
    fds = descriptor_pb2.FileDescriptorSet()
    f = fds.file.add(name=file_name, package="hostile.v1", syntax="proto3")
    f.message_type.add(name=message_name).field.add(name="x", number=1, type=5, label=1)
    f.service.add(name="Svc").method.add(name="Get", input_type=f".hostile.v1.{message_name}",
                                         output_type=f".hostile.v1.{message_name}")
    loc = f.source_code_info.location.add(path=[4, 0], span=[0, 0, 1])
    loc.leading_comments = comment
    path.write_bytes(fds.SerializeToString())
    return path


@pytest.mark.parametrize("file_name,message_name,said", [
    ("../escape.proto", "Thing", "is not a relative path"),
    ("/etc/abs.proto", "Thing", "is not a relative path"),
    ("ok.proto", "Thing; } message Evil {", "is not a name .proto can hold"),
], ids=["parent folder", "absolute", "not an identifier"])
def test_hostile_names_write_nothing(tmp_path, file_name, message_name, said):
    pb = hostile_set(tmp_path / "h.pb", file_name, message_name)
    tree = tmp_path / "out" / "tree"
    done = rpcsh("describe", "--protoset", str(pb), "--proto-out", str(tree), check=False)
    assert done.returncode == 1 and said in done.stderr, done.stderr
    assert done.stderr.count("rpcsh: error:") == 1, done.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.proto").exists()


def test_comments_lose_their_control_characters(tmp_path):
    pb = hostile_set(tmp_path / "h.pb", comment=" red \x1b[31malert\x07\n second\r line\n")
    tree = tmp_path / "tree"
    rpcsh("describe", "--protoset", str(pb), "--proto-out", str(tree))
    source = (tree / "ok.proto").read_text()
    assert "// red [31malert\n// second line\nmessage Thing {" in source, source
    assert not any(c < " " and c not in "\n" for c in source)
