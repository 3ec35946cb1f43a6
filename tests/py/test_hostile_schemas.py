"""Schemas a server chooses to make hostile (issue: a broken or hostile server never crashes
rpcsh): a chain of message types 10,000 deep, and a diamond whose every level holds two fields
of the next (2^40 paths). `template` of either, one-shot and in the shell after a call, is
bounded: no stack overflow, no memory blow-up, one note saying where it was cut."""
import json

import pytest
from conftest import rpcsh
from google.protobuf import descriptor_pb2
from set_server import SetServer


def deep_set(path, levels, width):
    fds = descriptor_pb2.FileDescriptorSet()
    f = fds.file.add(name="deep.proto", package="deep", syntax="proto3")
    for i in range(levels):
        m = f.message_type.add(name=f"M{i}")
        if i + 1 < levels:
            for w in range(width):
                m.field.add(name=f"f{w}", number=w + 1, type=11, label=1,
                            type_name=f".deep.M{i + 1}")
        else:
            m.field.add(name="x", number=1, type=5, label=1)
    f.service.add(name="Deep").method.add(name="Get", input_type=".deep.M0",
                                          output_type=".deep.M0")
    path.write_bytes(fds.SerializeToString())
    return path


@pytest.fixture(scope="module", params=[(10_000, 1), (40, 2)], ids=["chain", "diamond"])
def hostile(request, tmp_path_factory):
    levels, width = request.param
    path = deep_set(tmp_path_factory.mktemp("deep") / "deep.pb", levels, width)
    server = SetServer(path)
    yield path, server
    server.stop()


def depth(value):
    d = 0
    while isinstance(value, dict) and value:
        value = next(iter(value.values()))
        d += 1
    return d


def test_template_is_bounded_one_shot(hostile):
    path, server = hostile
    for schema in (["--protoset", str(path)], ["-a", server.addr]):
        out = rpcsh("template", *schema, "deep.Deep/Get", timeout=60)
        assert out.stderr.count("rpcsh: note: the template of deep.M0 is cut at") == 1, out.stderr
        template = json.loads(out.stdout)
        assert depth(template) <= 33
        assert len(out.stdout) < 5_000_000


def test_template_is_bounded_in_the_shell_after_a_call(hostile):
    _, server = hostile
    script = "deep.Deep/Get {}\ntemplate deep.M0\nDeep/Get {}\n"
    out = rpcsh("connect", server.addr, stdin=script, timeout=60)
    # The call before and the call after the template both answered (the shell lived on).
    lines = out.stdout.splitlines()
    assert lines[0] == "{}" and lines[-1] == "{}", out.stdout[:300]
    assert len(lines) > 3
    assert "note: the template of deep.M0 is cut at" in out.stderr
