"""rpcsh against containerd 1.6 (Debian's, grpc-go, no reflection) on a unix socket, run as root
with its own config under a temporary folder (CRI off), its schema from the .proto files of
Debian's Go source package (`import weak`, gogoproto options): version, namespaces, an event seen
by Events/Subscribe (an Any whose type URL has no `/`, decoded when its file is given, a
placeholder when not), and a published event whose Any holds a well-known type."""
import json
import os
import shutil
import subprocess
import time

import pytest
from conftest import RPCSH, rpcsh

GOCODE = "/usr/share/gocode/src"
API = "github.com/containerd/containerd/api"


@pytest.fixture(scope="module")
def containerd(tmp_path_factory):
    if not shutil.which("containerd") or not os.path.isdir(f"{GOCODE}/{API}"):
        pytest.skip("containerd or golang-github-containerd-containerd-dev is not installed "
                    "(scripts/debian-peers.sh installs them)")
    if os.geteuid() != 0:
        pytest.skip("containerd runs as root")
    tmp = tmp_path_factory.mktemp("ctr")
    socket = tmp / "c.sock"
    config = tmp / "config.toml"
    config.write_text(f"""version = 2
root = "{tmp}/root"
state = "{tmp}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{socket}"
[ttrpc]
  address = "{socket}.ttrpc"
""")
    proc = subprocess.Popen(["containerd", "--config", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"containerd did not start: {proc.stderr.read()}")
        if socket.exists():
            break
        time.sleep(0.05)
    include = ["-I", GOCODE, "-I", f"{GOCODE}/github.com/gogo/protobuf"]
    yield f"unix:{socket}", include
    proc.terminate()
    proc.wait(timeout=20)


def proto(name):
    return ["--proto", f"{API}/{name}"]


def test_version_and_namespaces(containerd):
    addr, include = containerd
    out = rpcsh("call", "-a", addr, *include, *proto("services/version/v1/version.proto"),
                "Version/Version", "{}")
    assert json.loads(out.stdout)["version"].startswith("1.6"), out.stdout
    ns = proto("services/namespaces/v1/namespace.proto")
    rpcsh("call", "-a", addr, *include, *ns, "-H", "containerd-namespace: default",
          "Namespaces/Create", '{"namespace": {"name": "listed"}}')
    listed = json.loads(rpcsh("call", "-a", addr, *include, *ns, "Namespaces/List", "{}").stdout)
    assert "listed" in [n["name"] for n in listed["namespaces"]], listed


@pytest.mark.parametrize("with_events", [True, False], ids=["event-file", "no-event-file"])
def test_subscribe_sees_an_event_whose_type_url_has_no_slash(containerd, with_events):
    addr, include = containerd
    events = proto("services/events/v1/events.proto")
    if with_events:
        events += proto("events/namespace.proto")
    watch = subprocess.Popen([RPCSH, "call", "-a", addr, *include, *events, "Events/Subscribe",
                              '{"filters": ["topic==\\"/namespaces/create\\""]}',
                              "--format", "jsonl"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        name = f"seen{with_events}"
        time.sleep(0.5)  # subscribed before the event
        rpcsh("call", "-a", addr, *include, *proto("services/namespaces/v1/namespace.proto"),
              "-H", "containerd-namespace: default", "Namespaces/Create",
              json.dumps({"namespace": {"name": name}}))
        envelope = json.loads(watch.stdout.readline())
    finally:
        watch.kill()
        _, err = watch.communicate()
    event = envelope["event"]
    assert event["@type"] == "containerd.events.NamespaceCreate", envelope
    if with_events:
        assert event["name"] == name, envelope
    else:
        assert event["@error"].startswith("containerd.events.NamespaceCreate is not in the schema")
        assert event["@value"], envelope
    assert "unsupported type url" not in err, err


def test_an_event_with_a_well_known_type_in_its_any(containerd):
    addr, include = containerd
    events = proto("services/events/v1/events.proto")
    watch = subprocess.Popen([RPCSH, "call", "-a", addr, *include, *events, "Events/Subscribe",
                              '{"filters": ["topic==\\"/rpcsh/test\\""]}', "--format", "jsonl"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        # events.proto imports no struct.proto: the well-known types are known all the same.
        rpcsh("call", "-a", addr, *include, *events, "-H", "containerd-namespace: default",
              "Events/Publish", json.dumps({"topic": "/rpcsh/test", "event": {
                  "@type": "type.googleapis.com/google.protobuf.Struct",
                  "value": {"answer": 42}}}))
        envelope = json.loads(watch.stdout.readline())
    finally:
        watch.kill()
        watch.communicate()
    assert envelope["event"] == {"@type": "type.googleapis.com/google.protobuf.Struct",
                                 "value": {"answer": 42}}, envelope
