"""`rpcsh grpcurl` against grpcurl 1.8.6 itself: every command line of grpcurl_corpus.CASES,
run by both on the same servers (rpcsh serve, grpcio with and without reflection, TLS, mutual
TLS, a unix socket), gives the same stdout and the same exit code; rpcsh run through a link
named `grpcurl` is the same front end; what grpcurl writes with -protoset-out, and rpcsh with
-proto-out-dir (grpcurl 1.9's), grpcurl reads back."""
import json
import os
import pathlib
import subprocess

import pytest

import grpcurl_corpus as corpus
from conftest import RPCSH, rpcsh


@pytest.fixture(scope="module")
def lab(stubs, tmp_path_factory):
    lab = corpus.Lab(RPCSH, stubs, tmp_path_factory.mktemp("grpcurl-lab"))
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def grpcurl():
    return corpus.grpcurl_binary()


@pytest.mark.parametrize("case", corpus.CASES, ids=[c[0][:90] for c in corpus.CASES])
def test_same_stdout_and_exit_code_as_grpcurl(lab, grpcurl, case):
    line, stdin, succeeds = case
    args = lab.args(line)
    for _ in range(3):
        theirs, _ = corpus.run([grpcurl, *args], stdin)
        ours, _ = corpus.run([RPCSH, "grpcurl", *args], stdin)
        # A -max-time call the server outlasts races two timers: the client's (DeadlineExceeded)
        # and tonic's server's for grpc-timeout (Canceled, "Timeout expired"). Either program
        # can lose it on a busy machine; the pair is run again until both saw the same one.
        raced = "Timeout expired" in theirs.stderr + ours.stderr
        if not raced or ours.returncode == theirs.returncode:
            break
    if succeeds == corpus.BETTER:
        assert theirs.returncode != 0 and ours.returncode == 0, (ours.stderr, theirs.stderr)
        return
    # The corpus says which lines are grpcurl's successes: a line both fail on the same way
    # must be a mistake the corpus means, not a broken set-up.
    assert (theirs.returncode == 0) == succeeds, theirs.stderr
    assert ours.returncode == theirs.returncode, (ours.stderr, theirs.stderr)
    assert corpus.normal(ours.stdout) == corpus.normal(theirs.stdout), ours.stderr
    if ours.returncode not in (0, 2):
        # One line (or block) saying what went wrong, never a panic.
        assert ours.stderr.strip() and "panicked" not in ours.stderr


def test_a_link_named_grpcurl_is_the_same_front_end(lab, tmp_path):
    link = tmp_path / "grpcurl"
    link.symlink_to(RPCSH)
    proc = subprocess.run([str(link), "-plaintext", lab.a, "list", "Greeter"],
                          capture_output=True, text=True, env=corpus.env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "Greeter.SayHello\nGreeter.SayHelloAgain\n"
    usage = subprocess.run([str(link), "-nope"], capture_output=True, text=True)
    assert usage.returncode == 2
    assert "flag provided but not defined: -nope" in usage.stderr
    assert f"{link} [flags] [address] [list|describe] [symbol]" in usage.stderr


def test_protoset_out_is_read_back_by_grpcurl(lab, grpcurl, tmp_path):
    out = tmp_path / "out.protoset"
    proc = rpcsh("grpcurl", "-plaintext", "-protoset-out", str(out), lab.a, "describe",
                 "RouteGuide")
    assert proc.stdout.startswith("RouteGuide is a service:")
    theirs = subprocess.run([grpcurl, "-protoset", str(out), "describe", "RouteGuide"],
                            capture_output=True, text=True, check=True)
    assert theirs.stdout == proc.stdout
    listed = subprocess.run([grpcurl, "-protoset", str(out), "list"], capture_output=True,
                            text=True, check=True)
    assert listed.stdout == "RouteGuide\n"


def test_proto_out_dir_is_read_back_by_grpcurl(lab, grpcurl, tmp_path):
    out = tmp_path / "protos"
    rpcsh("grpcurl", "-plaintext", "-proto-out-dir", str(out), lab.mirror.addr, "list",
          "interop.v1.Mirror")
    assert (out / "interop.proto").exists()
    theirs = subprocess.run([grpcurl, "-import-path", str(out), "-proto", "interop.proto",
                             "describe", "interop.v1.Mirror"], capture_output=True, text=True,
                            check=True)
    assert theirs.stdout.startswith("interop.v1.Mirror is a service:")
    # grpcurl 1.8.6 has no -proto-out-dir: it is 1.9's flag.
    old = subprocess.run([grpcurl, "-proto-out-dir", str(out), "-plaintext", lab.a, "list"],
                         capture_output=True, text=True)
    assert old.returncode == 2


def reindented(text):
    """grpcurl 1.9's JSON: what 1.8 printed, indented again by Go's json.Indent (two spaces,
    `{}` for an empty object), as 1.9 does after its compact marshal."""
    return json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("data", [
    '{"meta":{"k":[1,"x",null,true,{"z":{}}]},"inners":{"5":{}}}',
    '{"extra":{"@type":"type.googleapis.com/interop.v1.Inner","text":"q"}}',
    '{"extra":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"2s"},"anything":{"x":[]}}',
    '{}',
])
def test_grpcurl_19_json_unless_18_is_asked(lab, grpcurl, data):
    method = "interop.v1.Mirror/Reflect"
    args = ["-plaintext", "-d", data, lab.mirror.addr, method]
    theirs = subprocess.run([grpcurl, *args], capture_output=True, text=True, check=True)
    env = {k: v for k, v in corpus.env().items() if k != "RPCSH_GRPCURL"}
    ours = subprocess.run([RPCSH, "grpcurl", *args], capture_output=True, text=True, env=env,
                          check=True)
    assert ours.stdout == reindented(theirs.stdout)
    if data == "{}":
        assert ours.stdout == "{}\n" and theirs.stdout == "{\n  \n}\n"


def test_what_rpcsh_cannot_honour_is_one_clear_line(lab):
    for args in (["-alts", lab.a, "list"], ["xds:///svc.example", "list"]):
        proc = rpcsh("grpcurl", *args, check=False)
        assert proc.returncode == 1
        assert proc.stdout == ""
        assert len(proc.stderr.strip().splitlines()) == 1
        assert "not supported" in proc.stderr


def test_durations_out_of_range_are_no_limit(lab):
    # Go's flag package takes `inf` and 1e300 as floats: no panic, no deadline.
    for flag, value in (("-max-time", "inf"), ("-connect-timeout", "1e300"),
                        ("-keepalive-time", "inf")):
        proc = rpcsh("grpcurl", flag, value, "-plaintext", lab.a, "list", "Greeter")
        assert proc.stdout == "Greeter.SayHello\nGreeter.SayHelloAgain\n", (flag, proc.stderr)


CPP_CASES = [
    "-plaintext {C} list",
    "-plaintext {C} describe lab.cpp.Lab",
    "-plaintext {C} describe lab.cpp.Note",
    "-plaintext -msg-template {C} describe lab.cpp.RpcStatus",
    """-plaintext -d '{"text":"hi","pointCount":3}' {C} lab.cpp.Lab/Echo""",
    """-plaintext -v -H 'x-ping: 1' -d '{"text":"hi","point_count":3}' {C} lab.cpp.Lab/Echo""",
    """-plaintext -emit-defaults -d '{"text":"hi"}' {C} lab.cpp.Lab/Echo""",
    """-plaintext -format text -d 'text: "t" point_count: 2' {C} lab.cpp.Lab/Echo""",
    """-plaintext -d '{"count":3}' {C} lab.cpp.Lab/Count""",
    """-plaintext -d '{"code":7,"message":"no"}' {C} lab.cpp.Lab/Fail""",
    """-plaintext -d '{"code":9,"message":"later"}' {C} lab.cpp.Lab/Detailed""",
    # Text that is not UTF-8: JSON's \ufffd as grpcurl's. (In text format grpcurl shows the
    # broken bytes themselves, which rpcsh has already replaced: not compared.)
    """-plaintext -d '{}' {C} lab.cpp.Lab/Garbled""",
]


@pytest.fixture(scope="module")
def cpp():
    from cpp_peer import CppServer
    server = CppServer()
    yield server
    server.stop()


@pytest.mark.parametrize("line", CPP_CASES)
def test_same_as_grpcurl_on_a_cpp_server(cpp, grpcurl, line):
    """grpc++'s descriptors carry no json_name: grpcurl names fields as the proto does."""
    import shlex
    args = shlex.split(line.replace("{C}", cpp.addr))
    theirs, _ = corpus.run([grpcurl, *args])
    ours, _ = corpus.run([RPCSH, "grpcurl", *args])
    assert ours.returncode == theirs.returncode, (ours.stderr, theirs.stderr)
    # The server echoes the client's user-agent: each client's own.
    agentless = lambda out: "\n".join(
        l for l in corpus.normal(out).split("\n") if not l.startswith("x-user-agent: "))
    assert agentless(ours.stdout) == agentless(theirs.stdout), ours.stderr


def test_a_stream_from_stdin_is_sent_as_it_is_read(lab):
    """`-d @` on a bidi method: the first answer comes back while stdin is still open."""
    proc = subprocess.Popen([RPCSH, "grpcurl", "-plaintext", "-d", "@", lab.a,
                             "rpcsh.testing.v1.Testing/Chat"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=corpus.env())
    # Were the answer held until stdin closes, the reads below would wait: a watchdog ends it.
    import threading
    watchdog = threading.Timer(20, proc.kill)
    watchdog.start()
    try:
        proc.stdin.write('{"seq": 1}\n')
        proc.stdin.flush()
        first = [proc.stdout.readline() for _ in range(3)]
        assert first == ["{\n", '  "seq": "1"\n', "}\n"]
        proc.stdin.write('{"seq": 2}\n')
        proc.stdin.close()
        assert proc.stdout.read() == '{\n  "seq": "2"\n}\n'
        assert proc.wait(timeout=10) == 0
    finally:
        watchdog.cancel()
        proc.kill()
