"""rpcsh against etcd 3.4 (Debian's etcd-server: grpc-go, no reflection), its schema from the
.proto files of Debian's Go source package with gogoproto and grpc-gateway's googleapis on the
import path: KV, a Watch that sees a concurrent Put, leases, an error status, and describe with
the files' doc comments."""
import base64
import json
import os
import shutil
import socket
import subprocess
import time

import pytest
from conftest import RPCSH, rpcsh
from ingress import free_port

GOCODE = "/usr/share/gocode/src"
RPC = "etcd/etcdserver/etcdserverpb/rpc.proto"


def b64(text):
    return base64.b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    if not shutil.which("etcd") or not os.path.isdir(f"{GOCODE}/go.etcd.io/etcd"):
        pytest.skip("etcd-server or golang-etcd-server-dev is not installed "
                    "(scripts/debian-peers.sh installs them)")
    tmp = tmp_path_factory.mktemp("etcd")
    (tmp / "inc").mkdir()
    # rpc.proto imports its siblings as etcd/...: the source package keeps them under go.etcd.io.
    (tmp / "inc" / "etcd").symlink_to(f"{GOCODE}/go.etcd.io/etcd")
    client, peer = free_port(), free_port()
    proc = subprocess.Popen(
        ["etcd", "--data-dir", str(tmp / "data"), "--name", "rpcsh-test",
         "--listen-client-urls", f"http://127.0.0.1:{client}",
         "--advertise-client-urls", f"http://127.0.0.1:{client}",
         "--listen-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-cluster", f"rpcsh-test=http://127.0.0.1:{peer}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    addr = f"127.0.0.1:{client}"
    schema = ["-I", str(tmp / "inc"), "-I", f"{GOCODE}/github.com/gogo/protobuf",
              "-I", f"{GOCODE}/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis",
              "--proto", RPC]
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"etcd did not start: {proc.stderr.read()}")
        out = subprocess.run([RPCSH, "call", "-a", addr, *schema, "KV/Range", '{"key": "AA=="}'],
                             capture_output=True, text=True)
        if out.returncode == 0:
            break
        time.sleep(0.1)
    yield addr, schema
    proc.terminate()
    proc.wait(timeout=10)


def call(etcd, method, data, check=True):
    addr, schema = etcd
    return rpcsh("call", "-a", addr, *schema, method, json.dumps(data), check=check)


def test_put_range_delete(etcd):
    call(etcd, "KV/Put", {"key": b64("colour"), "value": b64("blue")})
    got = json.loads(call(etcd, "etcdserverpb.KV/Range", {"key": b64("colour")}).stdout)
    assert got["count"] == "1" and got["kvs"][0]["value"] == b64("blue"), got
    gone = json.loads(call(etcd, "KV/DeleteRange", {"key": b64("colour")}).stdout)
    assert gone["deleted"] == "1", gone


def test_a_watch_sees_a_concurrent_put(etcd):
    addr, schema = etcd
    watch = subprocess.Popen([RPCSH, "call", "-a", addr, *schema, "Watch/Watch", "-",
                              "--format", "jsonl"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        watch.stdin.write(json.dumps({"createRequest": {"key": b64("watched")}}) + "\n")
        watch.stdin.flush()
        created = json.loads(watch.stdout.readline())
        assert created.get("created") is True, created
        call(etcd, "KV/Put", {"key": b64("watched"), "value": b64("seen")})
        event = json.loads(watch.stdout.readline())
        assert event["events"][0]["kv"]["value"] == b64("seen"), event
    finally:
        watch.kill()
        watch.wait()


def test_leases_and_an_error_status(etcd):
    granted = json.loads(call(etcd, "Lease/LeaseGrant", {"TTL": 60}).stdout)
    lease = granted["ID"]
    alive = json.loads(call(etcd, "Lease/LeaseTimeToLive", {"ID": lease}).stdout)
    assert 0 < int(alive["TTL"]) <= 60, alive
    call(etcd, "KV/Put", {"key": b64("leased"), "value": b64("x"), "lease": lease})
    kv = json.loads(call(etcd, "KV/Range", {"key": b64("leased")}).stdout)["kvs"][0]
    assert kv["lease"] == lease, kv
    failed = call(etcd, "KV/Put", {"key": b64("k"), "value": b64("v"), "lease": "12345"},
                  check=False)
    assert failed.returncode == 64 + 5, failed.stderr
    assert "code = NotFound, message = etcdserver: requested lease not found" in failed.stderr


def test_describe_shows_etcds_comments(etcd):
    _, schema = etcd
    out = rpcsh("describe", *schema, "etcdserverpb.KV").stdout
    assert "  // Put puts the given key into the key-value store.\n" in out, out
    assert "  rpc Put(.etcdserverpb.PutRequest) returns (.etcdserverpb.PutResponse);" in out
