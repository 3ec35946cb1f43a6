"""Servers that break gRPC's rules, as a broken or hostile server may (grpcio made to answer a
unary method as if it streamed): none of it is taken silently."""
import json
import pathlib

import pytest
from conftest import descriptor_set, rpcsh, rpcsh_peak
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
        # bench counts them as errors, on its raw HTTP/2 path as on tonic's (with --compress).
        for extra in ([], ["--compress", "gzip"]):
            bench = rpcsh("bench", "-a", server.addr, "-n", "3", *extra, "Checker/Check", "{}")
            assert "[Internal]  3 responses" in bench.stdout, bench.stdout
            assert says in bench.stdout or extra, bench.stdout  # tonic's unary has its wording
    finally:
        server.stop()


ESCAPES = "\x1b]0;PWNED\x07\x1b[2J\x1b[31mred"


def test_terminal_escapes_from_a_server_are_shown_escaped(checker_set, tmp_path):
    server = SetServer(checker_set, fail={CHECK}, fail_message=f"bad {ESCAPES} news\r\nline 2")
    try:
        for args, stdin in ((["call", "-a", server.addr, "Checker/Check", "{}"], None),
                            (["connect", server.addr], "Checker/Check {}\n"),
                            (["grpcurl", "-plaintext", "-d", "{}", server.addr, CHECK],
                             None)):
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
    # rpcsh grpcurl too, where grpcurl itself writes them raw.
    for args in (["list"], ["describe"], ["describe", f"evil.Ev{ESCAPES}il"]):
        out = rpcsh("grpcurl", "-protoset", str(path), *args, check=False)
        assert out.returncode == 0 and r"Ev\x1b]0;PWNED" in out.stdout, repr(out)
        assert "\x1b" not in out.stdout + out.stderr, repr(out.stdout + out.stderr)


@pytest.fixture
def raw(started):
    from raw_h2_server import RawH2Server
    return lambda mode: started(RawH2Server, mode)


def timed(*args, stdin=None):
    import time
    started = time.monotonic()
    out = rpcsh(*args, stdin=stdin, check=False, timeout=20)
    return out, time.monotonic() - started


def test_timeout_bounds_a_call_whose_server_stalls_after_its_headers(raw, checker_set):
    server = raw("stall")
    out, took = timed("call", "-a", server.addr, "--protoset", str(checker_set), "--timeout", "1s",
                      "Checker/Check", "{}")
    assert out.returncode == 64 + 4, (out.returncode, out.stderr)
    assert "DeadlineExceeded" in out.stdout + out.stderr
    assert took < 5, took
    # The shell's `set timeout` likewise, and the shell lives on.
    out, took = timed("connect", server.addr, "--protoset", str(checker_set),
                      stdin="set timeout 1s\nChecker/Check {}\nlist\n")
    assert "DeadlineExceeded" in out.stdout + out.stderr and took < 8, (took, out.stderr)
    assert "unused.v1.Checker" in out.stdout


@pytest.mark.parametrize("command", [
    ["call", "Checker/Check", "{}"], ["list"], ["list", "Checker"], ["describe", "Checker"],
    ["template", "Checker/Check"],
])
def test_timeout_bounds_reflection_from_a_silent_server(raw, command):
    server = raw("silent")
    out, took = timed(command[0], "-a", server.addr, "--timeout", "1s", *command[1:])
    assert out.returncode == 64 + 4, (out.returncode, out.stderr)
    assert "DeadlineExceeded" in out.stdout + out.stderr
    assert took < 5, took


def test_the_shells_timeout_bounds_reflection_and_the_shell_lives_on(raw):
    server = raw("silent")
    out, took = timed("connect", server.addr, stdin="set timeout 1s\nlist\ndescribe Checker\n"
                      "Checker/Check {}\nset timeout off\nhelp set\n")
    assert out.stderr.count("DeadlineExceeded") == 3, out.stderr
    assert "reflection did not finish within 1s" in out.stderr, out.stderr
    assert "set timeout" in out.stdout, out.stdout  # the shell answered after them
    assert took < 10, took


@pytest.mark.parametrize("sent, shown", [
    ("bad %FF%FE utf8 %E4%BD%A0", "bad \ufffd\ufffd utf8 你 (the server's message is not UTF-8"),
    ("raw \xff byte", "raw \ufffd byte (the server's message is not UTF-8"),
    ("bad %ZZ percent", "bad %ZZ percent"),
])
def test_a_broken_grpc_message_is_shown_lossily(raw, checker_set, sent, shown):
    server = raw("message:" + sent)
    out = rpcsh("call", "-a", server.addr, "--protoset", str(checker_set), "Checker/Check", "{}",
                check=False)
    assert out.returncode == 64 + 2, out.stderr
    assert f"ERROR: code = Unknown, message = {shown}" in out.stdout + out.stderr, out.stderr


def test_bench_reports_at_once_on_ctrl_c_and_a_second_one_quits(raw, checker_set):
    import signal
    import subprocess
    import time
    from conftest import RPCSH
    server = raw("stall")
    args = [RPCSH, "bench", "-a", server.addr, "--protoset", str(checker_set), "-n", "100",
            "-c", "4", "Checker/Check", "{}"]
    for presses in (1, 2):
        bench = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)  # every call in flight, stalled
        started = time.monotonic()
        for _ in range(presses):
            bench.send_signal(signal.SIGINT)
            time.sleep(0.2)
        out, err = bench.communicate(timeout=10)
        assert time.monotonic() - started < 3, err
        assert "bench stopped: reporting what was measured so far" in err, err
        if presses == 1:
            assert bench.returncode == 0 and "requests" in out.lower(), (out, err)


def test_response_headers_past_16_kb_are_read(raw, checker_set):
    server = raw("details:40000")
    out = rpcsh("call", "-a", server.addr, "--protoset", str(checker_set), "Checker/Check", "{}",
                check=False)
    assert out.returncode == 64 + 5, out.stderr
    assert "ERROR: code = NotFound, message = big" in out.stdout + out.stderr, out.stderr
    assert "protocol error" not in out.stderr
    # Past the limit, one line naming it and the flag; the flag raises it, and lowers it.
    server = raw("details:20000000")
    call = ["call", "-a", server.addr, "--protoset", str(checker_set), "Checker/Check", "{}"]
    out = rpcsh(*call, check=False)
    assert out.returncode == 1 and out.stderr.count("rpcsh: error:") == 1, out.stderr
    assert "--max-header-size" in out.stderr, out.stderr
    out = rpcsh(*call, "--max-header-size", "64MiB", check=False)
    assert out.returncode == 64 + 5, out.stderr
    server = raw("details:40000")
    out = rpcsh("call", "-a", server.addr, "--protoset", str(checker_set), "Checker/Check", "{}",
                "--max-header-size", "16KiB", check=False)
    assert out.returncode == 1 and "--max-header-size" in out.stderr, out.stderr


def test_an_http2_error_from_the_server_does_not_hint_tls(raw, checker_set):
    server = raw("reset")
    out = rpcsh("call", "-a", server.addr, "--protoset", str(checker_set), "Checker/Check", "{}",
                check=False)
    # A reset stream (RST_STREAM PROTOCOL_ERROR) is INTERNAL, as gRPC's HTTP/2 mapping says.
    assert out.returncode == 64 + 13, out.stderr
    assert "ERROR: code = Internal, message = the server broke HTTP/2 on this call" in out.stderr
    assert "--tls" not in out.stderr and out.stderr.count("ERROR:") == 1


@pytest.mark.parametrize("levels", [3, 5000])
def test_any_nested_in_any_is_printed_in_bounded_memory(tmp_path, levels):
    from google.protobuf import any_pb2, duration_pb2
    served = descriptor_set(PROTOS, ["hostile.proto"], tmp_path / "hostile.pb")
    inner = any_pb2.Any()
    inner.Pack(duration_pb2.Duration(seconds=3))
    for _ in range(levels):
        outer = any_pb2.Any()
        outer.Pack(inner)
        inner = outer
    box = b"\x0a" + _varint(len(inner.SerializeToString())) + inner.SerializeToString()
    server = SetServer(served, answers={"hostile.v1.Boxes/Get": box})
    try:
        out, err, code, peak = rpcsh_peak("call", "-a", server.addr, "Boxes/Get", "{}")
        shell, shell_err, _, shell_peak = rpcsh_peak("connect", server.addr,
                                                     stdin="Boxes/Get {}\nlist\n")
    finally:
        server.stop()
    assert "hostile.v1.Boxes" in shell, shell_err  # the shell lived on
    assert (levels == 3) == ("nests google.protobuf.Any" not in shell_err), shell_err
    if levels == 3:
        assert code == 0, err
        assert out.count("type.googleapis.com/google.protobuf.Any") == 3, out
        assert '"3s"' in out
    else:
        assert code == 1, err
        assert "nests google.protobuf.Any more than 64 levels deep" in err, err
        assert err.count("rpcsh: error:") == 1
    # Both stayed small (they took gigabytes).
    assert peak < 300 and shell_peak < 300, (peak, shell_peak)


def test_an_any_without_a_slash_or_of_an_unknown_type_prints_and_the_stream_goes_on(tmp_path):
    """containerd's events are Anys whose type URL has no `/`; a server may send a type the
    schema lacks. Neither stops a stream or leaves half a line."""
    from google.protobuf import any_pb2, duration_pb2
    served = descriptor_set(PROTOS, ["hostile.proto"], tmp_path / "hostile.pb")

    def box(url, value):
        any_bytes = b"\x0a" + _varint(len(url)) + url.encode() + b"\x12" + _varint(len(value)) + value
        return b"\x0a" + _varint(len(any_bytes)) + any_bytes

    inner_box = box("type.googleapis.com/google.protobuf.Duration",
                    duration_pb2.Duration(seconds=3).SerializeToString())
    known = any_pb2.Any()
    known.Pack(duration_pb2.Duration(seconds=4))
    answers = [box("hostile.v1.Box", inner_box),               # no slash, a known type
               box("type.googleapis.com/x.v1.Unknown", b"\x08\x01"),  # not in the schema
               b"\x0a" + _varint(len(known.SerializeToString())) + known.SerializeToString()]
    server = SetServer(served, streams={"hostile.v1.Boxes/Watch": answers})
    try:
        out = rpcsh("call", "-a", server.addr, "Boxes/Watch", "{}", "--format", "jsonl",
                    check=False)
        shell = rpcsh("connect", server.addr, stdin="Boxes/Watch {}\nexpect count 3\n",
                      check=False)
    finally:
        server.stop()
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines[0] == {"inner": {"@type": "hostile.v1.Box", "inner": {
        "@type": "type.googleapis.com/google.protobuf.Duration", "value": "3s"}}}, lines[0]
    assert lines[1] == {"inner": {
        "@type": "type.googleapis.com/x.v1.Unknown",
        "@error": "x.v1.Unknown is not in the schema: @value holds its bytes",
        "@value": "CAE="}}, lines[1]
    assert lines[2] == {"inner": {"@type": "type.googleapis.com/google.protobuf.Duration",
                                  "value": "4s"}}, lines[2]
    assert shell.returncode == 0 and "@error" in shell.stdout, (shell.stdout, shell.stderr)


def test_a_request_any_may_hold_any_well_known_type_whatever_the_schema(tmp_path):
    """hostile.proto imports any.proto alone: Struct, Duration and the rest are known all the
    same (grpcurl's and buf's well-known types are built in), by reflection and by protoset, in
    a call and in the shell. The grpcio server echoes the request's bytes."""
    served = descriptor_set(PROTOS, ["hostile.proto"], tmp_path / "hostile.pb")
    server = SetServer(served)
    request = ('{"inner": {"@type": "type.googleapis.com/google.protobuf.Struct",'
               ' "value": {"a": 1, "b": [true, "x"]}}}')
    try:
        for source in ([], ["--protoset", str(served)]):
            out = rpcsh("call", "-a", server.addr, *source, "Boxes/Get", request, check=False)
            assert out.returncode == 0, (source, out.stderr)
            assert json.loads(out.stdout) == {"inner": {
                "@type": "type.googleapis.com/google.protobuf.Struct",
                "value": {"a": 1, "b": [True, "x"]}}}, out.stdout
        shell = rpcsh("connect", server.addr, stdin=(
            'Boxes/Get {"inner": {"@type": "type.googleapis.com/google.protobuf.Duration",'
            ' "value": "1.5s"}}\n'), check=False)
        assert '"1.500s"' in shell.stdout or '"1.5s"' in shell.stdout, (shell.stdout, shell.stderr)
    finally:
        server.stop()


def test_a_compression_the_server_lacks_gets_a_hint(tmp_path):
    """grpcio (gRPC C-core) has no zstd: it fails the call INTERNAL, naming grpc-encoding."""
    served = descriptor_set(PROTOS, ["hostile.proto"], tmp_path / "hostile.pb")
    server = SetServer(served)
    try:
        out = rpcsh("call", "-a", server.addr, "--compress", "zstd", "Boxes/Get", "{}",
                    check=False)
        assert out.returncode == 64 + 13, out.stderr
        assert "hint: the server does not take the request's compression: try --compress gzip" \
            in out.stderr, out.stderr
        rpcsh("call", "-a", server.addr, "--compress", "gzip", "Boxes/Get", "{}")
    finally:
        server.stop()


def _varint(n):
    out = b""
    while True:
        out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            return out


@pytest.mark.parametrize("mode, protocol, code, says", [
    ("web:0", "grpc-web", 13, "the server ended the call OK without its one response message"),
    ("web:2", "grpc-web", 13, "the server sent a second response message to a call that answers one"),
    ("web-stall", "grpc-web", 4, "the call did not finish within --timeout"),
    ("connect-stall", "connect", 4, "the call did not finish within --timeout"),
    ("connect-error:bad \x1b]0;PWNED\x07 news", "connect", 9, r"bad \x1b]0;PWNED\x07 news"),
])
def test_connect_and_grpc_web_servers_that_break_the_rules(checker_set, mode, protocol, code, says):
    """The same rules over HTTP/1.1 (a server on plain sockets): one response message for a
    unary call, --timeout whatever the server sends, control characters escaped."""
    import time
    from raw_web_server import RawWebServer
    server = RawWebServer(mode)
    try:
        common = ["--protoset", str(checker_set), "--protocol", protocol]
        started = time.monotonic()
        out = rpcsh("call", "-a", server.addr, *common, "--timeout", "1s", "Checker/Check", "{}",
                    check=False)
        assert time.monotonic() - started < 5
        assert out.returncode == 64 + code, out.stderr
        shell = rpcsh("connect", server.addr, *common, stdin="set timeout 1s\nChecker/Check {}\n",
                      check=False)
    finally:
        server.stop()
    for run in (out, shell):
        assert says in run.stderr and "\x1b" not in run.stdout + run.stderr, run.stderr
