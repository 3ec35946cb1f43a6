"""Servers that break gRPC's rules, as a broken or hostile server may (grpcio made to answer a
unary method as if it streamed): none of it is taken silently."""
import pathlib

import pytest
from conftest import descriptor_set, rpcsh
from set_server import SetServer

PROTOS = pathlib.Path(__file__).resolve().parent / "protos"
CHECK = "unused.v1.Checker/Check"


@pytest.fixture(scope="module")
def checker_set(tmp_path_factory):
    return descriptor_set(PROTOS, ["unused_imports.proto"],
                          tmp_path_factory.mktemp("hostile") / "set.pb")


@pytest.mark.parametrize("answers, says", [
    ([], "without its one response message"),
    ([b"\x0a\x01a", b"\x0a\x01b"], "a second response message"),
], ids=["no message", "two messages"])
def test_a_unary_call_answered_with_none_or_two_messages_is_internal(checker_set, answers, says):
    server = SetServer(checker_set, streams={CHECK: answers})
    try:
        out = rpcsh("call", "-a", server.addr, "Checker/Check", "{}", check=False)
        assert out.returncode == 64 + 13, (out.returncode, out.stdout, out.stderr)
        assert out.stdout == "", out.stdout
        assert "code = Internal" in out.stdout + out.stderr and says in out.stdout + out.stderr
        # The shell says the same and lives on.
        shell = rpcsh("connect", server.addr, stdin="Checker/Check {}\nlist\n", check=False)
        assert says in shell.stdout + shell.stderr
        assert "unused.v1.Checker" in shell.stdout
    finally:
        server.stop()


ESCAPES = "\x1b]0;PWNED\x07\x1b[2J\x1b[31mred"


def test_terminal_escapes_from_a_server_are_shown_escaped(checker_set, tmp_path):
    server = SetServer(checker_set, fail={CHECK}, fail_message=f"bad {ESCAPES} news\r\nline 2")
    try:
        for args, stdin in ((["call", "-a", server.addr, "Checker/Check", "{}"], None),
                            (["connect", server.addr], "Checker/Check {}\n")):
            out = rpcsh(*args, stdin=stdin, check=False)
            text = out.stdout + out.stderr
            assert "\x1b]" not in text and "\x1b[2J" not in text and "\x07" not in text, repr(text)
            assert r"bad \x1b]0;PWNED\x07\x1b[2J\x1b[31mred news" in text, repr(text)
            assert "news\nline 2" in text or "news\r\nline 2" in text  # line breaks are kept
    finally:
        server.stop()
    # Names: a protoset's service names, listed from its index without building anything.
    from google.protobuf import descriptor_pb2
    fds = descriptor_pb2.FileDescriptorSet()
    f = fds.file.add(name="evil.proto", package="evil", syntax="proto3")
    f.message_type.add(name="M")
    f.service.add(name=f"Ev{ESCAPES}il").method.add(name="Get", input_type=".evil.M",
                                                    output_type=".evil.M")
    path = tmp_path / "evil.pb"
    path.write_bytes(fds.SerializeToString())
    out = rpcsh("list", "--protoset", str(path), check=False)
    assert "\x1b" not in out.stdout + out.stderr and r"Ev\x1b]0;PWNED" in out.stdout, repr(out)
    out = rpcsh("describe", "--protoset", str(path), f"evil.Ev{ESCAPES}il", check=False)
    assert "\x1b" not in out.stdout + out.stderr, repr(out.stdout + out.stderr)
