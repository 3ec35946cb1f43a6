"""rpcsh against a grpc-java server (Debian's libgrpc-java 1.41 on Netty) without reflection, its
schema from the .proto file: the four call styles, custom trailers, a deadline it is held to,
and what it says of zstd, reflection and `check`."""
import json

import pytest
from conftest import rpcsh
from java_peer import PROTO, JavaServer

SCHEMA = ["--proto", str(PROTO)]


@pytest.fixture(scope="module")
def java():
    server = JavaServer()
    yield server
    server.stop()


def test_the_four_call_styles(java):
    out = rpcsh("call", "-a", java.addr, *SCHEMA, "Lab/Echo", '{"text": "hi", "pointCount": 2}')
    assert json.loads(out.stdout) == {"text": "hi", "pointCount": 2}
    out = rpcsh("call", "-a", java.addr, *SCHEMA, "Lab/Count", '{"count": 3}', "--format", "jsonl")
    assert [json.loads(line)["seq"] for line in out.stdout.splitlines()] == [1, 2, 3]
    out = rpcsh("call", "-a", java.addr, *SCHEMA, "Lab/Join", "-",
                stdin='{"text": "a"} {"text": "b"} {"text": "c"}')
    assert json.loads(out.stdout) == {"text": "abc", "seq": 3}
    out = rpcsh("call", "-a", java.addr, *SCHEMA, "Lab/Shout", "-", "--format", "jsonl",
                stdin='{"text": "a"}\n{"text": "b"}\n')
    assert [json.loads(line)["text"] for line in out.stdout.splitlines()] == ["A", "B"]
    shell = rpcsh("connect", java.addr, *SCHEMA, stdin=(
        'Lab/Echo {"text": "sh"}\nexpect {"text": "sh"}\n'
        'Lab/Shout\n{"text": "x"}\n.end\nexpect count 1\n'))
    assert '"SH"' not in shell.stdout and '"X"' in shell.stdout, shell.stdout


def test_custom_trailers_and_a_status(java):
    out = rpcsh("call", "-v", "-a", java.addr, *SCHEMA, "Lab/Fail",
                '{"code": 7, "message": "not yours"}', check=False)
    assert out.returncode == 64 + 7, out.stderr
    assert "code = PermissionDenied, message = not yours" in out.stderr
    assert "x-trailer: java" in out.stderr, out.stderr


def test_a_deadline(java):
    out = rpcsh("call", "-a", java.addr, *SCHEMA, "--timeout", "300ms", "Lab/Count",
                '{"count": 100, "intervalMs": 100}', "--format", "jsonl", check=False)
    assert out.returncode == 64 + 4, out.stderr
    assert "DeadlineExceeded" in out.stderr
    assert 1 <= len(out.stdout.splitlines()) < 100, out.stdout


def test_zstd_reflection_and_check_say_what_to_do(java):
    zstd = rpcsh("call", "-a", java.addr, *SCHEMA, "--compress", "zstd", "Lab/Echo", "{}",
                 check=False)
    assert zstd.returncode == 64 + 12, zstd.stderr
    assert "hint: the server does not take zstd: try --compress gzip" in zstd.stderr, zstd.stderr
    rpcsh("call", "-a", java.addr, *SCHEMA, "--compress", "gzip", "Lab/Echo", "{}")
    listed = rpcsh("list", "-a", java.addr, check=False)
    assert listed.returncode == 1 and "does not support server reflection" in listed.stderr
    assert "hint: describe its API with --proto FILE" in listed.stderr
    check = rpcsh("check", java.addr, *SCHEMA, check=False)
    assert check.returncode == 1 and "nothing to compare the files with" in check.stderr
    assert "describe its API with --proto" not in check.stderr, check.stderr
