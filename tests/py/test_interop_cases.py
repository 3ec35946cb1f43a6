"""The gRPC interop test cases (grpc/grpc doc/interop-test-descriptions.md) that a CLI can
express, with rpcsh as the client and grpc.testing.TestService on grpcio (interop_testservice.py)
as the server, found through reflection. The two cancel cases run in the shell on a pty."""
import base64
import json
import os
import subprocess

import grpc
import pexpect
import pytest
from conftest import RPCSH, rpcsh

SERVICE = "grpc.testing.TestService"
SPECIAL = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"


@pytest.fixture
def test_server(stubs):
    from interop_testservice import TestServer
    server = TestServer()
    yield server
    server.stop()


def zeros(n):
    return base64.b64encode(b"\0" * n).decode()


def call(server, method, data=None, *flags, stdin=None, check=True):
    """`rpcsh call`; the request goes through stdin (large ones exceed an argument's limit)."""
    if data is not None:
        stdin = json.dumps(data)
    return rpcsh("call", "-a", server.addr, *flags, f"{SERVICE}/{method}", "-", stdin=stdin,
                 check=check)


def body_len(message):
    return len(base64.b64decode(message.get("payload", {}).get("body", "")))


def test_empty_unary(test_server):
    assert call(test_server, "EmptyCall", {}).stdout.strip() == "{}"


def test_large_unary(test_server):
    out = call(test_server, "UnaryCall",
               {"responseSize": 314159, "payload": {"body": zeros(271828)}})
    assert body_len(json.loads(out.stdout)) == 314159


def test_client_compressed_unary(test_server):
    request = {"responseSize": 314159, "payload": {"body": zeros(271828)},
               "expectCompressed": {"value": True}}
    out = call(test_server, "UnaryCall", request, "-v", "--compress", "gzip")
    assert body_len(json.loads(out.stdout)) == 314159
    assert "Request compression: grpc-encoding: gzip" in out.stderr
    request["expectCompressed"]["value"] = False
    assert body_len(json.loads(call(test_server, "UnaryCall", request).stdout)) == 314159


def test_server_compressed_unary(test_server):
    for compressed in (True, False):
        out = call(test_server, "UnaryCall",
                   {"responseSize": 314159, "payload": {"body": zeros(271828)},
                    "responseCompressed": {"value": compressed}}, "-v")
        assert body_len(json.loads(out.stdout)) == 314159
        headers = out.stderr.split("Response headers received:")[1]
        headers = headers.split("Response trailers")[0]
        assert ("grpc-encoding: gzip" in headers) == compressed, out.stderr


def test_client_streaming(test_server):
    messages = "\n".join(json.dumps({"payload": {"body": zeros(n)}})
                         for n in (27182, 8, 1828, 45904))
    out = call(test_server, "StreamingInputCall", stdin=messages)
    assert json.loads(out.stdout) == {"aggregatedPayloadSize": 74922}


def test_server_streaming(test_server):
    sizes = [31415, 9, 2653, 58979]
    out = call(test_server, "StreamingOutputCall",
               {"responseParameters": [{"size": n} for n in sizes]})
    assert [body_len(json.loads(line)) for line in out.stdout.splitlines()] == sizes


def test_ping_pong(test_server):
    pairs = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)]
    messages = "\n".join(json.dumps({"responseParameters": [{"size": size}],
                                     "payload": {"body": zeros(n)}}) for size, n in pairs)
    out = call(test_server, "FullDuplexCall", stdin=messages)
    assert [body_len(json.loads(line)) for line in out.stdout.splitlines()] == \
        [size for size, _ in pairs]


def test_empty_stream(test_server):
    out = call(test_server, "FullDuplexCall", stdin="")
    assert out.stdout == ""


def test_custom_metadata(test_server):
    headers = ["-H", "x-grpc-test-echo-initial: test_initial_metadata_value",
               "-H", "x-grpc-test-echo-trailing-bin: q6ur"]  # 0xababab
    for method, data, stdin in (
            ("UnaryCall", {"responseSize": 314159, "payload": {"body": zeros(271828)}}, None),
            ("FullDuplexCall", None, json.dumps({"responseParameters": [{"size": 314159}],
                                                 "payload": {"body": zeros(271828)}}))):
        out = call(test_server, method, data, "-v", *headers, stdin=stdin)
        initial, trailing = out.stderr.split("Response headers received:")[1].split(
            "Response trailers received:")
        assert "x-grpc-test-echo-initial: test_initial_metadata_value" in initial, out.stderr
        assert "x-grpc-test-echo-trailing-bin: q6ur" in trailing, out.stderr


def test_custom_metadata_from_a_file_the_environment_and_a_command(test_server, serve, tmp_path):
    """The same metadata, with no secret on the command line: -H @FILE, ${env:VAR} in -H and in
    a config section, and a header command (run once), in call, the shell and bench."""
    secret = "s3cret-token-value"
    (tmp_path / "headers").write_text("# the team's token\n"
                                      "x-grpc-test-echo-initial: ${env:ECHO_TOKEN}\n\n")
    helper = tmp_path / "helper.sh"
    helper.write_text(f"#!/bin/sh\necho run >> {tmp_path}/runs\n"
                      "echo 'x-grpc-test-echo-trailing-bin: q6ur'\n")
    helper.chmod(0o755)
    config = tmp_path / "config.toml"
    config.write_text(f'[servers.interop]\naddress = "{test_server.addr}"\n'
                      f'header-command = "{helper}"\n'
                      'headers = { x-from-config = "${env:ECHO_TOKEN}" }\n')
    env = {**os.environ, "ECHO_TOKEN": secret, "RPCSH_CONFIG": str(config)}

    def run(*args, stdin=None):
        out = subprocess.run([RPCSH, *args], input=stdin, capture_output=True, text=True,
                             timeout=30, env=env)
        assert out.returncode == 0, out.stderr
        return out

    out = run("call", "-v", "-a", "interop", "-H", f"@{tmp_path}/headers",
              f"{SERVICE}/UnaryCall", '{"responseSize": 1}')
    initial, trailing = out.stderr.split("Response headers received:")[1].split(
        "Response trailers received:")
    assert f"x-grpc-test-echo-initial: {secret}" in initial, out.stderr
    assert "x-grpc-test-echo-trailing-bin: q6ur" in trailing, out.stderr
    assert "x-from-config: " + secret in out.stderr.split("Request metadata to send:")[1]
    # ${env:VAR} given on the command line (quoted, so the shell does not expand it).
    out = run("call", "-v", "-a", "interop", "-H", "x-grpc-test-echo-initial: ${env:ECHO_TOKEN}",
              f"{SERVICE}/EmptyCall", "{}")
    assert f"x-grpc-test-echo-initial: {secret}" in out.stderr.split("Response headers")[1]
    # The shell sends them too: rpcsh serve's Echo fails with the code an x-echo-code header names.
    (tmp_path / "code").write_text("x-echo-code: ${env:ECHO_CODE}\n")
    ours = serve("--task-interval", "0")
    shell = subprocess.run([RPCSH, "connect", ours.addr, "-H", f"@{tmp_path}/code"],
                           input="Testing/Echo {}\n", capture_output=True, text=True, timeout=30,
                           env={**env, "ECHO_CODE": "5"})
    assert "code = NotFound" in shell.stdout + shell.stderr, shell.stderr
    bench = run("bench", "-a", "interop", "-n", "5", "-H", f"@{tmp_path}/headers",
                f"{SERVICE}/EmptyCall", "{}")
    assert "[OK]  5 responses" in bench.stdout
    assert (tmp_path / "runs").read_text().count("run") == 3  # once a process (of three)
    for missing, says in [(["-H", "@/nonexistent/h"], "cannot read the headers file /nonexistent/h"),
                          (["-H", "x-a: ${env:NOT_SET_HERE}"],
                           "header x-a: environment variable NOT_SET_HERE is not set"),
                          (["--header-command", "echo broken >&2; exit 3"],
                           "the header command failed (exit status: 3): broken")]:
        out = subprocess.run([RPCSH, "call", "-a", test_server.addr, *missing,
                              f"{SERVICE}/EmptyCall", "{}"], capture_output=True, text=True,
                             timeout=30, env={**os.environ, "RPCSH_CONFIG": "/nonexistent"})
        assert out.returncode == 1 and says in out.stderr, out.stderr


def test_status_code_and_message(test_server):
    status = {"code": 2, "message": "test status message"}
    for method, data, stdin in (
            ("UnaryCall", {"responseStatus": status}, None),
            ("FullDuplexCall", None, json.dumps({"responseStatus": status}))):
        out = call(test_server, method, data, stdin=stdin, check=False)
        assert out.returncode == 64 + 2, out.stderr
        assert "ERROR: code = Unknown, message = test status message" in out.stderr
        assert out.stdout == ""


def test_special_status_message(test_server):
    request = json.dumps({"responseStatus": {"code": 2, "message": SPECIAL}}).encode()
    out = subprocess.run([RPCSH, "call", "-a", test_server.addr, f"{SERVICE}/UnaryCall", "-"],
                         input=request, capture_output=True, timeout=30)  # bytes: \r kept
    assert out.returncode == 66, out.stderr
    assert f"message = {SPECIAL}".encode() in out.stderr


def test_unimplemented_method(test_server):
    out = call(test_server, "UnimplementedCall", {}, check=False)
    assert out.returncode == 64 + 12, out.stderr
    assert "ERROR: code = Unimplemented" in out.stderr


def test_unimplemented_service(test_server):
    # Not listed by the server: found by asking reflection for the symbol, then called.
    listed = rpcsh("list", "-a", test_server.addr).stdout.split()
    assert "grpc.testing.UnimplementedService" not in listed
    out = rpcsh("call", "-a", test_server.addr, "grpc.testing.UnimplementedService/UnimplementedCall",
                "{}", check=False)
    assert out.returncode == 64 + 12, out.stderr
    assert "ERROR: code = Unimplemented" in out.stderr


def test_timeout_on_sleeping_server(test_server):
    out = call(test_server, "FullDuplexCall", None, "--timeout", "1ms",
               stdin=json.dumps({"payload": {"body": zeros(27182)}}) + "\n", check=False)
    assert out.returncode == 64 + 4, out.stderr
    assert "DeadlineExceeded" in out.stderr


def shell(server):
    child = pexpect.spawn(RPCSH, ["connect", server.addr, "--no-history"], encoding="utf-8",
                          timeout=20, dimensions=(40, 200), env={**os.environ, "NO_COLOR": "1"})
    child.expect_exact(f"{server.addr}> ")
    return child


def cancelled_and_expected(child, server):
    """The shell says the call was cancelled, and `expect error CANCELLED` holds for it."""
    child.expect_exact("cancelled")
    child.expect_exact(f"{server.addr}> ")
    child.sendline("expect error CANCELLED")
    child.sendline("jobs")
    child.expect_exact("no watches")
    assert "expectation failed" not in child.before
    child.sendline("exit")
    child.expect(pexpect.EOF)


def test_cancel_after_begin_in_the_shell(test_server):
    child = shell(test_server)
    child.sendline(f"{SERVICE}/StreamingInputCall")
    child.expect_exact("StreamingInputCall >> ")
    child.sendline(".cancel")
    cancelled_and_expected(child, test_server)


def test_cancel_after_first_response_in_the_shell(test_server, tmp_path):
    request = tmp_path / "first.json"
    request.write_text(json.dumps({"responseParameters": [{"size": 31415}],
                                   "payload": {"body": zeros(27182)}}))
    child = shell(test_server)
    child.sendline(f"{SERVICE}/FullDuplexCall @{request}")
    # The first response, above the sub-prompt (it may come before the prompt is drawn).
    child.expect('"payload"')
    child.sendcontrol("c")
    cancelled_and_expected(child, test_server)


def test_cancelled_stream_fails_a_piped_session_unless_expected(test_server):
    lines = f"{SERVICE}/StreamingInputCall\n.cancel\n"
    out = rpcsh("connect", test_server.addr, stdin=lines, check=False)
    assert out.returncode == 1, out.stderr
    assert "ERROR: code = Cancelled" in out.stderr
    script = f"connect {test_server.addr}\n{lines}expect error CANCELLED\n"
    out = rpcsh("run", "-", stdin=script, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed, 0 failed" in out.stdout


def test_gzip_compressing_server(stubs):
    """grpcio with server-level compression gzips every response, reflection's too."""
    from interop_testservice import TestServer
    server = TestServer(compression=grpc.Compression.Gzip)
    try:
        assert SERVICE in rpcsh("list", "-a", server.addr).stdout
        out = call(server, "UnaryCall", {"responseSize": 10}, "-v")
        assert body_len(json.loads(out.stdout)) == 10
        assert "grpc-encoding: gzip" in out.stderr
    finally:
        server.stop()


def test_tls(stubs, pki):
    from interop_testservice import TestServer
    ca, cert, key = pki
    server = TestServer(tls=(cert, key))
    try:
        url = f"https://localhost:{server.port}"
        out = rpcsh("call", "-a", url, "--cacert", str(ca), f"{SERVICE}/UnaryCall",
                    '{"responseSize": 3}')
        assert body_len(json.loads(out.stdout)) == 3
        out = rpcsh("list", "-a", url, check=False)  # the system roots do not know this CA
        assert out.returncode == 1 and "rpcsh: error:" in out.stderr
    finally:
        server.stop()


def test_save_bytes_joins_a_streams_chunks_and_file_bytes_go_up(test_server, tmp_path):
    sizes = [31415, 9, 2653]
    saved = tmp_path / "body.bin"
    out = call(test_server, "StreamingOutputCall",
               {"responseParameters": [{"size": n} for n in sizes]},
               "--save-bytes", f"payload.body={saved}")
    assert saved.read_bytes() == bytes(sum(sizes))
    # The saved field is left out of what prints.
    assert all("body" not in line for line in out.stdout.splitlines()), out.stdout[:200]
    chunk = tmp_path / "chunk.bin"
    chunk.write_bytes(bytes(27182))
    up = call(test_server, "StreamingInputCall",
              stdin=json.dumps({"payload": {"body": f"@file:{chunk}"}}))
    assert json.loads(up.stdout) == {"aggregatedPayloadSize": 27182}
