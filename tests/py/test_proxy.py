"""rpcsh behind an HTTP proxy: a real one (proxy.py, from PyPI) started here, that alone knows the
name `grpc.test` (tests/py/proxy_plugin.py resolves it to loopback, as squid's hosts_file
would). Every command and protocol reaches it through HTTPS_PROXY (gRPC's rule), `--proxy` or a
config section, TLS included (checked against grpc.test end to end); NO_PROXY and `--proxy
none` bypass it, loopback never uses it; each failure of the proxy is one line naming it, and a
password never shows."""
import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest
from conftest import RPCSH
from test_connect_peers import ConnectServer, testing_pb  # noqa: F401 (a fixture)

HERE = pathlib.Path(__file__).resolve().parent


class Proxy:
    def __init__(self, tmp_path, *flags):
        port_file = tmp_path / f"proxy-{time.monotonic_ns()}.port"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", "0",
             "--port-file", str(port_file), "--plugins", "proxy_plugin.TestNames",
             "--num-workers", "1", "--num-acceptors", "1", *flags],
            env={**os.environ, "PYTHONPATH": str(HERE)}, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"proxy.py did not start: {self.proc.stderr.read()}")
        self.port = int(port_file.read_text())
        # The port file comes before the socket listens.
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    p = Proxy(tmp_path_factory.mktemp("proxy"))
    yield p
    p.stop()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """A proxy that wants `alice` and the password `s3cr@t:pw` (Basic)."""
    p = Proxy(tmp_path_factory.mktemp("guarded"), "--basic-auth", "alice:s3cr@t:pw")
    yield p
    p.stop()


def run(*args, env=None, stdin=None, check=True):
    proc = subprocess.run([RPCSH, *args], input=stdin, capture_output=True, text=True,
                          timeout=30, env={**os.environ, **(env or {})})
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def via(proxy):
    # gRPC's rule: HTTPS_PROXY for every target, plaintext ones too.
    return {"HTTPS_PROXY": proxy.url, "NO_PROXY": ""}


NO_PROXY_ENV = {n: "" for n in ["grpc_proxy", "GRPC_PROXY", "HTTPS_PROXY", "https_proxy",
                                "HTTP_PROXY", "http_proxy"]}


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "grpc_proxy", "HTTP_PROXY"])
def test_the_environment_proxies_plaintext_targets_as_grpc_does(serve, proxy, variable):
    """grpc-go reads HTTPS_PROXY for every target and C-core grpc_proxy, https_proxy, then
    http_proxy: a plaintext target goes through any of them (curl would skip HTTPS_PROXY)."""
    server = serve("--task-interval", "0")
    env = {**NO_PROXY_ENV, variable: proxy.url, "NO_PROXY": ""}
    out = run("call", "-v", "-a", hidden(server), "--plaintext", "Greeter/SayHello",
              '{"name": "env"}', env=env)
    assert '"hello env"' in out.stdout and f"127.0.0.1:{proxy.port}" in out.stderr, out.stderr
    # grpc_proxy comes first: a dead HTTPS_PROXY beside it is not used.
    if variable == "grpc_proxy":
        env["HTTPS_PROXY"] = "http://127.0.0.1:1"
        run("call", "-a", hidden(server), "--plaintext", "Greeter/SayHello", "{}", env=env)


def hidden(server):
    """The server's address under the name only the proxy knows."""
    return "grpc.test:" + server.addr.rsplit(":", 1)[1]


@pytest.mark.parametrize("protocol", ["grpc", "grpc-web"])
@pytest.mark.parametrize("command, expect", [
    (["call", "Greeter/SayHello", '{"name": "p"}'], '"hello p"'),
    (["list"], "RouteGuide"),
    (["describe", "Greeter"], "rpc SayHello"),
    (["template", "RouteGuide/GetFeature"], '"latitude"'),
    (["health"], "SERVING"),
    (["bench", "-n", "20", "Greeter/SayHello", '{"name": "p"}'], "[OK]  20 responses"),
    (["run", "SCRIPT"], "1 passed"),
    (["connect"], '"hello shell"'),
], ids=lambda c: c[0] if isinstance(c, list) else None)
def test_every_command_reaches_a_name_only_the_proxy_knows(serve, proxy, tmp_path, protocol,
                                                           command, expect):
    server = serve("--task-interval", "0")
    target = "http://" + hidden(server)
    script = tmp_path / "s.rpcsh"
    script.write_text('Greeter/SayHello {"name": "run"}\nexpect {"message": "hello run"}\n')
    stdin = None
    if command[0] == "connect":
        args = ["connect", target, "--protocol", protocol]
        stdin = 'Greeter/SayHello {"name": "shell"}\n'
    else:
        args = [command[0], "-a", target, "--protocol", protocol,
                *[str(script) if c == "SCRIPT" else c for c in command[1:]]]
    if command[0] == "health" and protocol != "grpc":
        args += []  # health is asked in the session's protocol too
    out = run(*args, env=via(proxy), stdin=stdin)
    assert expect in out.stdout + out.stderr, (out.stdout, out.stderr)


def test_tls_runs_end_to_end_through_the_tunnel(serve, proxy, pki):
    ca, cert, key = pki
    server = serve("--task-interval", "0", "--tls-cert", str(cert), "--tls-key", str(key))
    for protocol in ["grpc", "grpc-web"]:
        out = run("call", "-v", "-a", hidden(server), "--cacert", str(ca), "--protocol", protocol,
                  "Greeter/SayHello", '{"name": "tls"}', env=via(proxy))
        assert '"hello tls"' in out.stdout
        assert f"(TLS) through proxy 127.0.0.1:{proxy.port}" in out.stderr, out.stderr
    # The certificate is checked against the target's name, not the proxy's.
    wrong = run("call", "-a", hidden(server), "--cacert", str(ca), "--authority", "other.test",
                "Greeter/SayHello", "{}", env=via(proxy), check=False)
    assert wrong.returncode == 1 and "certificate" in wrong.stderr, wrong.stderr


def test_connect_protocol_through_the_proxy(proxy, testing_pb):  # noqa: F811
    server = ConnectServer(testing_pb)
    try:
        port = server.h1.rsplit(":", 1)[1]
        out = run("call", "-a", f"http://grpc.test:{port}", "--protocol", "connect",
                  "--protoset", str(testing_pb), "grpc.testing.TestService/UnaryCall",
                  '{"responseSize": 1}', env=via(proxy))
        assert out.stdout.strip() == '{"payload":{"body":"AA=="}}'
        common = ["--protocol", "connect", "--protoset", str(testing_pb)]
        bench = run("bench", "-n", "5", "-a", f"http://grpc.test:{port}", *common,
                    "grpc.testing.TestService/EmptyCall", "{}", env=via(proxy))
        assert "[OK]  5 responses" in bench.stdout, bench.stdout
        shell = run("connect", f"http://grpc.test:{port}", *common, env=via(proxy),
                    stdin='grpc.testing.TestService/UnaryCall {"responseSize": 1}\n')
        assert '"AA=="' in shell.stdout, shell.stderr
    finally:
        server.proc.kill()
        server.proc.wait()


def test_proxy_credentials_from_the_url_and_never_shown(serve, guarded):
    server = serve("--task-interval", "0")
    target = "http://" + hidden(server)
    url = f"http://alice:s3cr%40t%3Apw@127.0.0.1:{guarded.port}"
    out = run("call", "-v", "-a", target, "--proxy", url, "Greeter/SayHello", '{"name": "a"}')
    assert '"hello a"' in out.stdout
    missing = run("call", "-a", target, "--proxy", guarded.url, "Greeter/SayHello", "{}",
                  check=False)
    assert missing.returncode == 1 and missing.stderr.count("rpcsh: error:") == 1
    assert f"the proxy 127.0.0.1:{guarded.port} wants credentials (407" in missing.stderr
    wrong_url = f"http://alice:nope-s3cr@127.0.0.1:{guarded.port}"
    wrong = run("call", "-v", "-a", target, "--proxy", wrong_url, "Greeter/SayHello", "{}",
                check=False)
    assert "refused the credentials in its URL (407" in wrong.stderr, wrong.stderr
    config = run("config", "show", "-a", target, "--proxy", url)
    for shown in (out, missing, wrong, config):
        text = shown.stdout + shown.stderr
        assert "s3cr" not in text and "nope" not in text, text


def test_what_the_proxy_says_is_one_line_naming_it(serve, proxy, tmp_path):
    server = serve("--task-interval", "0")
    cases = [
        ("grpc.test:1", proxy.url, f"the proxy 127.0.0.1:{proxy.port} could not reach grpc.test:1 (502"),
        ("forbidden.test:1", proxy.url,
         f"the proxy 127.0.0.1:{proxy.port} refused to connect to forbidden.test:1 (403"),
        (hidden(server), "http://127.0.0.1:1", "cannot reach the proxy 127.0.0.1:1"),
        (hidden(server), "https://127.0.0.1:3128", "wants TLS to the proxy itself"),
        (hidden(server), "socks5://127.0.0.1:1080", "socks5 proxies are not supported"),
    ]
    for target, url, says in cases:
        out = run("call", "-a", "http://" + target, "--proxy", url, "Greeter/SayHello", "{}",
                  check=False)
        assert out.returncode == 1 and says in out.stderr, (url, out.stderr)
        assert out.stderr.count("rpcsh: error:") == 1 and "--tls" not in out.stderr, out.stderr
    # A proxy that does not speak HTTP (an HTTP/2 server's preface).
    from raw_h2_server import RawH2Server
    raw = RawH2Server("silent")
    try:
        out = run("call", "-a", "http://" + hidden(server), "--proxy", "http://" + raw.addr,
                  "Greeter/SayHello", "{}", check=False)
        assert "answered CONNECT with something other than HTTP" in out.stderr, out.stderr
    finally:
        raw.stop()


def test_no_proxy_none_and_loopback_bypass_it(serve, tmp_path):
    server = serve("--task-interval", "0")
    dead = {**NO_PROXY_ENV, "HTTPS_PROXY": "http://127.0.0.1:1"}
    # Loopback: never proxied.
    run("call", "-a", server.addr, "Greeter/SayHello", "{}", env=dead)
    # Through the dead proxy: its error. Bypassed: straight to a name nobody else knows.
    through = run("call", "-a", "http://" + hidden(server), "Greeter/SayHello", "{}", env=dead,
                  check=False)
    assert "cannot reach the proxy 127.0.0.1:1" in through.stderr, through.stderr
    for bypass, args in [({"NO_PROXY": "grpc.test"}, []), ({"NO_PROXY": ".test"}, []),
                         ({"no_proxy": "*"}, []), ({}, ["--proxy", "none"])]:
        out = run("call", "-a", "http://" + hidden(server), *args, "Greeter/SayHello", "{}",
                  env={**dead, **bypass}, check=False)
        assert "proxy" not in out.stderr and "cannot connect to grpc.test" in out.stderr, (
            bypass, args, out.stderr)


def test_a_config_sections_proxy(serve, proxy, tmp_path):
    server = serve("--task-interval", "0")
    config = tmp_path / "config.toml"
    config.write_text(f'[servers.hidden]\naddress = "http://{hidden(server)}"\n'
                      f'proxy = "{proxy.url}"\n')
    out = run("call", "-a", "hidden", "Greeter/SayHello", '{"name": "c"}',
              env={"RPCSH_CONFIG": str(config), **NO_PROXY_ENV})
    assert '"hello c"' in out.stdout
