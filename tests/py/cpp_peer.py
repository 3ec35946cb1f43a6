"""The C++ gRPC peer (tests/cpp/lab_server.cc, on Debian's libgrpc++), built once into
target/peers/cpp-lab/<hash of its sources> with protoc, grpc_cpp_plugin and g++, and started on
a free loopback port or a unix socket."""
import hashlib
import pathlib
import shutil
import subprocess

import pytest
from conftest import Peer

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCES = ROOT / "tests" / "cpp"


def build():
    """The server's binary, built if its sources changed; skips when the toolchain is missing."""
    for tool in ("protoc", "grpc_cpp_plugin", "g++", "pkg-config"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is missing (scripts/debian-peers.sh installs the C++ peer's toolchain)")
    digest = hashlib.sha256()
    for f in sorted(SOURCES.iterdir()):
        digest.update(f.name.encode() + f.read_bytes())
    out = ROOT / "target" / "peers" / "cpp-lab" / digest.hexdigest()[:16]
    binary = out / "lab_server"
    if binary.exists():
        return binary
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["protoc", f"-I{SOURCES}", f"--cpp_out={out}", f"--grpc_out={out}",
                    f"--plugin=protoc-gen-grpc={shutil.which('grpc_cpp_plugin')}", "lab.proto"],
                   check=True)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "grpc++", "protobuf"],
                           check=True, capture_output=True, text=True).stdout.split()
    subprocess.run(["g++", "-O1", "-std=c++17", f"-I{out}", str(SOURCES / "lab_server.cc"),
                    str(out / "lab.pb.cc"), str(out / "lab.grpc.pb.cc"), *flags,
                    "-lgrpc++_reflection", "-o", str(binary) + ".tmp"], check=True)
    pathlib.Path(str(binary) + ".tmp").rename(binary)
    return binary


class CppServer(Peer):
    """A running lab_server; `addr` is what it printed after `listening on`."""

    def __init__(self, *args):
        super().__init__([str(build()), *args], "lab_server")
