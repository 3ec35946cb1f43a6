"""`--schema-add FILE`: reflection and local files together. A grpcio server answers a Box whose
Any holds a type it does not serve (extra/secret.proto): the file gives it. A protoset of one
file whose import is the server's (extra/wrapper.proto, built without its imports) rests on
the server's reflection. Beside --protoset the added files are simply more files."""
import json

import pytest
from conftest import INTEROP, descriptor_set, rpcsh
from set_server import SetServer

EXTRA = INTEROP / "extra"
SECRET_URL = "type.googleapis.com/extra.v1.Secret"


def secret_box():
    """A Box whose Any holds extra.v1.Secret{code: 7, note: "seven"}, encoded by hand."""
    secret = b"\x08\x07" + b"\x12\x05seven"
    url = SECRET_URL.encode()
    any_ = b"\x0a" + bytes([len(url)]) + url + b"\x12" + bytes([len(secret)]) + secret
    return b"\x0a" + bytes([len(any_)]) + any_


@pytest.fixture(scope="module")
def boxes(tmp_path_factory):
    served = descriptor_set(INTEROP, ["hostile.proto"],
                            tmp_path_factory.mktemp("boxes") / "hostile.pb")
    server = SetServer(served, answers={"hostile.v1.Boxes/Get": secret_box()})
    yield server
    server.stop()


def test_an_any_of_a_type_the_server_lacks_is_read_from_the_added_file(boxes):
    alone = rpcsh("call", "-a", boxes.addr, "Boxes/Get", "{}", check=False)
    assert json.loads(alone.stdout)["inner"]["@error"] == \
        "extra.v1.Secret is not in the schema: @value holds its bytes", alone.stdout
    for added in (EXTRA / "secret.proto", ):
        out = rpcsh("call", "-a", boxes.addr, "--schema-add", str(added), "Boxes/Get", "{}")
        assert json.loads(out.stdout) == {
            "inner": {"@type": SECRET_URL, "code": 7, "note": "seven"}}, out.stdout
    # In the shell too, and describe finds the added type.
    shell = rpcsh("connect", boxes.addr, "--schema-add", str(EXTRA / "secret.proto"),
                  stdin="Boxes/Get {}\ndescribe extra.v1.Secret\n")
    assert '"note": "seven"' in shell.stdout or '"note":"seven"' in shell.stdout, shell.stdout
    assert "string note = 2;" in shell.stdout, shell.stdout


def test_a_protoset_whose_import_the_server_gives(boxes, tmp_path):
    import grpc_tools
    from grpc_tools import protoc
    import pathlib
    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    alone = tmp_path / "wrapper.pb"  # no --include_imports: hostile.proto is not in it
    assert protoc.main(["protoc", f"-I{EXTRA}", f"-I{INTEROP}", f"-I{well_known}",
                        f"--descriptor_set_out={alone}", "wrapper.proto"]) == 0
    refused = rpcsh("describe", "--protoset", str(alone), "extra.v1.Wrapper", check=False)
    assert refused.returncode == 1 and "hostile.proto" in refused.stderr
    out = rpcsh("describe", "-a", boxes.addr, "--schema-add", str(alone), "extra.v1.Wrapper")
    assert "hostile.v1.Box box = 1;" in out.stdout, out.stdout
    # The message is whole: encode reaches into the server's Box.
    encoded = rpcsh("encode", "-a", boxes.addr, "--schema-add", str(alone), "extra.v1.Wrapper",
                    '{"label": "x", "box": {}}', "--base64")
    assert encoded.stdout.strip() == "CgASAXg=", encoded.stdout


def test_beside_a_protoset_they_are_more_files(tmp_path):
    served = descriptor_set(INTEROP, ["hostile.proto"], tmp_path / "hostile.pb")
    out = rpcsh("describe", "--protoset", str(served), "--schema-add",
                str(EXTRA / "secret.proto"), "extra.v1.Secret", "hostile.v1.Box")
    assert "int32 code = 1;" in out.stdout and "google.protobuf.Any inner = 1;" in out.stdout


def test_a_bad_added_file_is_one_error(boxes, tmp_path):
    bad = tmp_path / "bad.pb"
    bad.write_bytes(b"\xff\xff\xff")
    out = rpcsh("call", "-a", boxes.addr, "--schema-add", str(bad), "Boxes/Get", "{}",
                check=False)
    assert out.returncode != 0 and out.stderr.count("rpcsh: error:") == 1, out.stderr
    assert "--schema-add" in out.stderr
    missing = rpcsh("call", "-a", boxes.addr, "--schema-add", str(tmp_path / "no.proto"),
                    "Boxes/Get", "{}", check=False)
    assert missing.returncode != 0 and "no.proto" in missing.stderr
