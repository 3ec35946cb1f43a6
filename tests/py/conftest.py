"""Fixtures for the interop tests: the seed's Python stubs compiled from proto/ with grpc_tools,
and `rpcsh serve` started on a free loopback port."""
import os
import pathlib
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROTOS = ["helloworld.proto", "routeguide.proto", "compute.proto", "SimpleCal.proto", "contact.proto"]
RPCSH = os.environ.get("RPCSH_BIN", str(ROOT / "target" / "debug" / "rpcsh"))
DB = ROOT / "data" / "route_guide_db.json"
INTEROP = pathlib.Path(__file__).resolve().parent / "protos"
# The developer's own config file must not leak into the tests.
os.environ["RPCSH_CONFIG"] = "/nonexistent/rpcsh-tests/config.toml"
os.environ["RPCSH_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), "rpcsh-tests-cache")
# The tests fork (pexpect's pty) from a process that hosts grpcio servers: grpcio's fork
# handlers then run in the child before it execs rpcsh, and have made it die ("epoll_wait
# error: Bad file descriptor"). Read by grpcio when it is first imported, below this.
os.environ["GRPC_ENABLE_FORK_SUPPORT"] = "false"


def rpcsh(*args, stdin=None, check=True, timeout=30):
    """Runs the rpcsh binary; with `check`, asserts it exited 0."""
    proc = subprocess.run([RPCSH, *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


# Forks and execs rpcsh, then says its peak RSS. A child made by a big process starts at that
# process's high-water mark (Linux keeps it across exec), so the pytest process cannot spawn
# rpcsh itself: a fresh, small Python does.
_PEAK_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("\\n@peak-kib %d\\n" % usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status) % 256)
"""


def rpcsh_peak(*args, stdin=None, timeout=60):
    """Runs the rpcsh binary; returns its stdout, stderr, exit code and peak RSS in MiB (of that
    one process)."""
    proc = subprocess.run([sys.executable, "-c", _PEAK_LAUNCHER, RPCSH, *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout)
    err, _, peak = proc.stderr.rpartition("\n@peak-kib ")
    return proc.stdout, err, proc.returncode, int(peak) / 1024


def _compile_stubs(out: pathlib.Path) -> None:
    import grpc_tools
    from grpc_tools import protoc

    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    for folder, files in ((ROOT / "proto", PROTOS), (INTEROP, ["interop.proto", "hidden.proto", "grpc_testing.proto"])):
        args = ["protoc", f"-I{folder}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}"]
        if protoc.main(args + files) != 0:
            raise RuntimeError(f"grpc_tools.protoc failed on {folder}")


def descriptor_set(folder: pathlib.Path, files: list, out: pathlib.Path) -> pathlib.Path:
    """A FileDescriptorSet of `files` (imports included), for peers that take their schema at
    run time."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    if protoc.main(["protoc", f"-I{folder}", f"-I{well_known}", "--include_imports",
                    f"--descriptor_set_out={out}", *files]) != 0:
        raise RuntimeError(f"grpc_tools.protoc failed on {files}")
    return out


@pytest.fixture(scope="session", autouse=True)
def stubs(tmp_path_factory):
    """Generates the *_pb2 modules the seed's code imports, as the blog does with grpc_tools."""
    out = tmp_path_factory.mktemp("stubs")
    _compile_stubs(out)
    sys.path.insert(0, str(out))
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    return out


class Peer:
    """A server run as a process that prints `listening on ADDR` when it serves (`rpcsh serve`,
    and the peers of other stacks); `stop` kills it."""

    def __init__(self, command, what):
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"{what} did not start: {line!r} {self.proc.stderr.read()}")
        self.addr = line.removeprefix("listening on ").strip()

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Server(Peer):
    """A running `rpcsh serve`; `addr` is what it printed after `listening on`."""

    def __init__(self, *args: str):
        listen = [] if "--listen" in args else ["--listen", "127.0.0.1:0"]
        super().__init__([RPCSH, "serve", *listen, *args], "rpcsh serve")

    def stop(self) -> str:
        """Stops the server gracefully and returns what it logged."""
        self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        assert self.proc.returncode == 0, err
        return err


@pytest.fixture
def serve():
    servers = []

    def start(*args: str) -> Server:
        server = Server(*args)
        servers.append(server)
        return server

    yield start
    for s in servers:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


@pytest.fixture
def started():
    """Starts test servers of any kind, `started(Kind, *args)`, and stops them after the test."""
    servers = []

    def start(kind, *args):
        servers.append(kind(*args))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def server(serve):
    return serve("--task-interval", "0", "-v")


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A throw-away CA and a server certificate for localhost/127.0.0.1 signed by it (openssl):
    (ca, cert, key) paths."""
    d = tmp_path_factory.mktemp("pki")

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=rpcsh test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost")
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,DNS:grpc.test,IP:127.0.0.1\n"
                               "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
    return d / "ca.pem", d / "server.pem", d / "server.key"
