"""rpcsh behind real ingress proxies (nginx `grpc_pass`, haproxy `proto h2`, from Debian's
packages), plaintext and TLS: the four call styles pass through, and what the proxy itself
answers (502/503 with an HTML page when the server behind it is down, 413 past its body limit, a
reset stream when the server dies mid-call) is the status gRPC's HTTP-to-status mapping gives it,
in every command and protocol, never a decoding error."""
import json
import subprocess
import time

import pytest
from conftest import RPCSH, rpcsh
from ingress import Haproxy, Nginx, free_port

UNAVAILABLE, INTERNAL, UNKNOWN = 64 + 14, 64 + 13, 64 + 2


@pytest.fixture
def ingress(tmp_path):
    started = []

    def start(kind, *args, **kwargs):
        started.append(kind(tmp_path, *args, **kwargs))
        return started[-1]

    yield start
    for s in started:
        s.stop()


def dead_upstream():
    return f"127.0.0.1:{free_port()}"


@pytest.mark.parametrize("kind", [Nginx, Haproxy])
@pytest.mark.parametrize("tls", [False, True], ids=["plaintext", "tls"])
def test_the_four_call_styles_pass_through(serve, ingress, pki, kind, tls, tmp_path):
    ca, cert, key = pki
    server = serve("--task-interval", "0")
    proxy = ingress(kind, server.addr, tls=(cert, key) if tls else None)
    target = ["--cacert", str(ca)] if tls else ["--plaintext"]
    script = tmp_path / "styles.rpcsh"
    script.write_text(
        'Greeter/SayHello {"name": "in"}\nexpect {"message": "hello in"}\n'
        'Testing/Generate {"count": 3, "size": 4}\nexpect count 3\n'
        'Testing/Collect\n{"seq": 1}\n{"seq": 2}\n.end\nexpect {"count": "2"}\n'
        'Testing/Chat\n{"seq": 7}\n{"seq": 8}\n.end\nexpect count 2\n')
    out = rpcsh("run", "-a", proxy.addr, *target, str(script), check=False)
    assert out.returncode == 0 and "4 passed, 0 failed" in out.stdout, (out.stdout, out.stderr)


@pytest.mark.parametrize("kind, http", [(Nginx, "502 Bad Gateway"), (Haproxy, "503 Service Unavailable")])
def test_a_dead_upstream_is_unavailable_in_every_command(ingress, kind, http, testing_protos):
    proxy = ingress(kind, dead_upstream())
    said = f"the server answered HTTP {http} with content-type \"text/html\", not gRPC"
    # Through reflection (list, call) and with the schema given (the call itself).
    for args in (["list", "-a", proxy.addr],
                 ["call", "-a", proxy.addr, "Greeter/SayHello", "{}"],
                 ["call", "-a", proxy.addr, *testing_protos, "Greeter/SayHello", "{}"]):
        out = rpcsh(*args, check=False)
        assert out.returncode == UNAVAILABLE, (args, out.returncode, out.stderr)
        assert said in out.stderr and "compression flag" not in out.stderr, out.stderr
        assert "hint: a proxy in front of the server could not reach it" in out.stderr
        assert out.stdout == ""
    # gRPC-Web and Connect share the mapping.
    for protocol in ("grpc-web", "connect"):
        out = rpcsh("call", "-a", proxy.addr, *testing_protos, "--protocol", protocol, "--http2",
                    "Greeter/SayHello", "{}", check=False)
        assert out.returncode == UNAVAILABLE and said in out.stderr, (protocol, out.stderr)
    # -v shows what the proxy said, its page's first line of text.
    out = rpcsh("call", "-v", "-a", proxy.addr, *testing_protos, "Greeter/SayHello", "{}",
                check=False)
    assert f"rpcsh-http-body: {http}" in out.stderr, out.stderr
    assert "content-type: text/html" in out.stderr
    # The shell says it and lives on; bench counts the calls under their status.
    shell = rpcsh("connect", proxy.addr, *testing_protos, stdin="Greeter/SayHello {}\nlist\n",
                  check=False)
    assert "code = Unavailable" in shell.stderr and said in shell.stderr, shell.stderr
    assert "Greeter" in shell.stdout
    bench = rpcsh("bench", "-a", proxy.addr, *testing_protos, "-n", "5", "Greeter/SayHello", "{}")
    assert "[Unavailable]  5 responses" in bench.stdout, bench.stdout


def test_rpcsh_proxy_in_front_of_a_dead_upstream_shows_the_mapped_status(ingress, started,
                                                                         testing_protos):
    from test_relay import Relay
    proxy = ingress(Nginx, dead_upstream())
    relay = started(Relay, proxy.addr, *testing_protos)
    out = rpcsh("call", "-a", relay.addr, *testing_protos, "Greeter/SayHello", "{}", check=False)
    # The answer goes through as it came: the client maps it, the proxy says what it maps to.
    assert out.returncode == UNAVAILABLE and "HTTP 502 Bad Gateway" in out.stderr, out.stderr
    printed = relay.printed("end Unavailable")
    assert "end Unavailable: the server answered HTTP 502 Bad Gateway" in printed, printed
    assert "a message of" not in printed, printed


def test_a_request_past_nginxs_body_limit_is_unknown_with_a_hint(serve, ingress, tmp_path):
    server = serve("--task-interval", "0")
    proxy = ingress(Nginx, server.addr, body_limit="1m")
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"name": "x" * 1_500_000}))
    out = rpcsh("call", "-a", proxy.addr, "Greeter/SayHello", f"@{big}", check=False)
    assert out.returncode == UNKNOWN, (out.returncode, out.stderr)
    assert "HTTP 413 Request Entity Too Large" in out.stderr or "HTTP 413 Payload Too Large" in out.stderr
    assert "client_max_body_size" in out.stderr, out.stderr
    # Under the limit it passes.
    small = rpcsh("call", "-a", proxy.addr, "Greeter/SayHello", '{"name": "small"}')
    assert "hello small" in small.stdout


def test_a_server_killed_mid_stream_behind_nginx_keeps_the_messages(serve, ingress):
    server = serve("--task-interval", "0")
    proxy = ingress(Nginx, server.addr)
    call = subprocess.Popen([RPCSH, "call", "-a", proxy.addr, "Testing/Generate",
                             '{"count": 1000, "interval": "0.05s"}'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = call.stdout.readline()
    assert first.startswith("{"), first
    time.sleep(0.2)
    server.proc.kill()
    rest, err = call.communicate(timeout=30)
    # nginx resets the stream (RST_STREAM INTERNAL_ERROR): INTERNAL, as gRPC maps it.
    assert call.returncode == INTERNAL, (call.returncode, err)
    assert err.startswith("ERROR: code = Internal, message = the server broke HTTP/2"), err
    assert len((first + rest).splitlines()) >= 2


@pytest.fixture(scope="module")
def testing_protos():
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[2]
    return ["--proto", str(root / "proto" / "testing.proto"), "--proto",
            str(root / "proto" / "helloworld.proto"), "-I", str(root / "proto")]
