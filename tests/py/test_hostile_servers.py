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
