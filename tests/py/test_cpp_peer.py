"""rpcsh against a C++ gRPC server (Debian's libgrpc++ 1.51: reflection v1alpha, the default
health service): the four styles it serves, metadata both ways, its errors, the user agent it
sees, a string field that is not UTF-8, short names in `health`, and TLS over a unix socket."""
import json

import pytest
from conftest import rpcsh
from cpp_peer import CppServer


@pytest.fixture(scope="module")
def cpp():
    server = CppServer()
    yield server
    server.stop()


def test_list_describe_and_a_unary_call_with_metadata(cpp):
    listed = rpcsh("list", "-a", cpp.addr).stdout.split()
    assert "lab.cpp.Lab" in listed and "grpc.health.v1.Health" in listed, listed
    described = rpcsh("describe", "-a", cpp.addr, "lab.cpp.Lab").stdout
    assert "rpc Count ( .lab.cpp.CountRequest ) returns ( stream .lab.cpp.Note )" in described \
        or "rpc Count(.lab.cpp.CountRequest) returns (stream .lab.cpp.Note)" in described, described
    out = rpcsh("call", "-v", "-a", cpp.addr, "-H", "x-ping: pong", "Lab/Echo",
                '{"text": "hi", "pointCount": 3}')
    assert json.loads(out.stdout) == {"text": "hi", "pointCount": 3}
    assert "x-echo: pong" in out.stderr and "x-trailer: done" in out.stderr, out.stderr
    # The server sees rpcsh's name first, and --user-agent before it.
    assert "x-user-agent: rpcsh/" in out.stderr, out.stderr
    mine = rpcsh("call", "-v", "-a", cpp.addr, "--user-agent", "ci-job/7", "Lab/Echo", "{}")
    assert "x-user-agent: ci-job/7 rpcsh/" in mine.stderr, mine.stderr


def test_a_stream_and_an_error_status(cpp):
    out = rpcsh("call", "-a", cpp.addr, "Lab/Count", '{"count": 5}', "--format", "jsonl")
    assert [json.loads(line)["seq"] for line in out.stdout.splitlines()] == [1, 2, 3, 4, 5]
    failed = rpcsh("call", "-a", cpp.addr, "Lab/Fail", '{"code": 9, "message": "not now"}',
                   check=False)
    assert failed.returncode == 64 + 9, failed.stderr
    assert "code = FailedPrecondition, message = not now" in failed.stderr


def test_a_detail_of_a_type_in_the_schema_is_decoded(cpp):
    """The detail's type is in the schema (reflection's files, or the --proto given), though
    not among what the method uses: it is looked up there before it is called unknown."""
    import pathlib
    proto = pathlib.Path(__file__).resolve().parents[2] / "tests" / "cpp" / "lab.proto"
    detail = '{"@type":"type.googleapis.com/lab.cpp.FailDetail","reason":"quota","retryAfterS":30}'
    for source in ([], ["--proto", str(proto)]):
        out = rpcsh("call", "-a", cpp.addr, *source, "Lab/Detailed",
                    '{"code": 8, "message": "slow down"}', check=False)
        assert out.returncode == 64 + 8, out.stderr
        assert f"details: {detail}" in out.stderr, (source, out.stderr)
        shell = rpcsh("connect", cpp.addr, *source,
                      stdin='Lab/Detailed {"code": 8, "message": "slow down"}\n', check=False)
        assert f"details: {detail}" in shell.stderr, (source, shell.stderr)


def test_a_string_that_is_not_utf8_is_printed_lossily_with_a_note(cpp):
    out = rpcsh("call", "-a", cpp.addr, "Lab/Garbled", "{}", check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"text": "caf\ufffd \ufffd\ufffd ok", "seq": 7}
    assert out.stderr.count("lab.cpp.Note.text not in UTF-8") == 1, out.stderr
    # The shell too, and it goes on.
    shell = rpcsh("connect", cpp.addr, stdin="Lab/Garbled {}\nLab/Echo {\"text\": \"after\"}\n")
    assert "\ufffd" in shell.stdout and "after" in shell.stdout, (shell.stdout, shell.stderr)


def test_health_takes_a_short_service_name(cpp):
    assert rpcsh("health", "-a", cpp.addr, "Lab").stdout.strip() == "SERVING"
    assert rpcsh("health", "-a", cpp.addr, "lab.cpp.Lab").stdout.strip() == "SERVING"
    unknown = rpcsh("health", "-a", cpp.addr, "Nope", check=False)
    assert unknown.returncode == 64 + 5, unknown.stderr


def test_tls_over_a_unix_socket(tmp_path, pki):
    ca, cert, key = pki
    socket = tmp_path / "lab.sock"
    server = CppServer("--listen", f"unix:{socket}", "--cert", str(cert), "--key", str(key))
    try:
        for flags in (["--cacert", str(ca)], ["--tls", "--cacert", str(ca)]):
            out = rpcsh("call", "-v", "-a", f"unix:{socket}", *flags, "Lab/Echo",
                        '{"text": "sealed"}', check=False)
            assert out.returncode == 0 and "sealed" in out.stdout, out.stderr
            assert "(TLS)" in out.stderr
        # Plaintext to a TLS socket fails; it never passes for TLS.
        plain = rpcsh("call", "-v", "-a", f"unix:{socket}", "Lab/Echo", "{}", check=False)
        assert plain.returncode != 0 and "(TLS)" not in plain.stderr, plain.stderr
    finally:
        server.stop()
    plain_server = CppServer("--listen", f"unix:{tmp_path / 'plain.sock'}")
    try:
        # TLS asked of a plaintext socket: one clear error, no false line.
        out = rpcsh("call", "-a", f"unix:{tmp_path / 'plain.sock'}", "--cacert", str(ca),
                    "Lab/Echo", "{}", check=False)
        assert out.returncode == 1 and out.stderr.startswith("rpcsh: error:"), out.stderr
        assert out.stdout == ""
    finally:
        plain_server.stop()


def test_describe_shows_the_doc_comments_of_proto_sources(cpp):
    """C++ reflection sends no comments; the .proto source has them: leading comments above a
    definition, trailing ones after it, in `describe` and in the shell's."""
    import pathlib
    proto = pathlib.Path(__file__).resolve().parents[2] / "tests" / "cpp" / "lab.proto"
    source = ["--proto", str(proto)]
    service = rpcsh("describe", "-a", cpp.addr, *source, "lab.cpp.Lab").stdout
    assert "// A lab of C++ gRPC behaviours.\nservice lab.cpp.Lab {" in service, service
    assert "  // Streams `count` notes, `seq` 1 to `count`.\n  rpc Count(" in service, service
    note = rpcsh("describe", *source, "lab.cpp.Note").stdout
    assert "  string text = 1;  // what the note says\n" in note, note
    shell = rpcsh("connect", cpp.addr, *source, stdin="describe lab.cpp.CountRequest\n").stdout
    assert "  // Milliseconds between notes.\n  int32 interval_ms = 2;" in shell, shell
    # By reflection alone there is nothing to show, and nothing made up.
    bare = rpcsh("describe", "-a", cpp.addr, "lab.cpp.Lab").stdout
    assert "//" not in bare, bare
