"""`rpcsh describe --protoset-out`: the schema a server serves (or local files give) written as a
FileDescriptorSet that protoc's own matches file for file, that grpcurl and rpcsh read back, for
rpcsh serve, for googleapis served by grpcio's reflection, and for .proto files."""
import subprocess

from conftest import ROOT, descriptor_set, rpcsh
from google.protobuf import descriptor_pb2
from test_real_schemas import GOOGLEAPIS_FILES, googleapis  # noqa: F401 (a fixture)
from test_reflection_peers import GRPCURL

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
