"""The grpc-java peer (tests/java/LabServer.java, on Debian's libgrpc-java 1.41 and Netty), built
once into target/peers/java-lab/<hash of its sources> with protoc, Debian's grpc_java_plugin and
javac, and started on a free loopback port."""
import hashlib
import os
import pathlib
import re
import shutil
import subprocess

import pytest
from conftest import Peer

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROTO = ROOT / "tests" / "cpp" / "lab.proto"
SERVER = ROOT / "tests" / "java" / "LabServer.java"
JARS = ["grpc-api", "grpc-core", "grpc-netty", "grpc-protobuf", "grpc-protobuf-lite", "grpc-stub",
        "grpc-context", "protobuf", "guava", "perfmark-api", "gson", "error_prone_annotations",
        "jsr305", "netty-buffer", "netty-common", "netty-codec", "netty-codec-http",
        "netty-codec-http2", "netty-handler", "netty-resolver", "netty-transport"]


def classpath():
    jars = [f"/usr/share/java/{j}.jar" for j in JARS]
    missing = [j for j in jars if not os.path.exists(j)]
    if missing or not shutil.which("javac") or not os.path.exists("/usr/bin/grpc_java_plugin"):
        pytest.skip(f"the grpc-java toolchain is missing ({missing or 'javac, grpc_java_plugin'}): "
                    "scripts/debian-peers.sh installs it")
    return ":".join(jars)


def build():
    cp = classpath()
    digest = hashlib.sha256(PROTO.read_bytes() + SERVER.read_bytes()).hexdigest()[:16]
    out = ROOT / "target" / "peers" / "java-lab" / digest
    if (out / "classes" / "LabServer.class").exists():
        return out / "classes", cp
    gen, classes = out / "gen", out / "classes"
    gen.mkdir(parents=True, exist_ok=True)
    subprocess.run(["protoc", f"-I{PROTO.parent}", f"--java_out={gen}",
                    "--plugin=protoc-gen-grpc-java=/usr/bin/grpc_java_plugin",
                    f"--grpc-java_out={gen}", PROTO.name], check=True)
    # grpc-java 1.41's plugin marks its classes @javax.annotation.Generated, which JDK 11+
    # no longer ships (later plugins can leave it out).
    for stub in gen.rglob("*Grpc.java"):
        stub.write_text(re.sub(r"@javax\.annotation\.Generated\([^)]*\)", "", stub.read_text()))
    subprocess.run(["javac", "-nowarn", "-d", str(classes), "-cp", cp,
                    *map(str, gen.rglob("*.java")), str(SERVER)], check=True,
                   capture_output=True)
    return classes, cp


class JavaServer(Peer):
    def __init__(self):
        classes, cp = build()
        super().__init__(["java", "-cp", f"{classes}:{cp}", "LabServer"], "LabServer")
