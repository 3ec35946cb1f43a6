"""Schemas a server chooses to make hostile (issue: a broken or hostile server never crashes
rpcsh): a chain of message types 10,000 deep, and a diamond whose every level holds two fields
of the next (2^40 paths). `template` of either, one-shot and in the shell after a call, is
bounded: no stack overflow, no memory blow-up, one note saying where it was cut."""
import json

import pytest
from conftest import rpcsh, rpcsh_peak
from google.protobuf import descriptor_pb2
from set_server import SetServer


def deep_set(path, levels, width, numbered=False):
    """`numbered`: each level but the last has an int64 `n` too (field 100)."""
    fds = descriptor_pb2.FileDescriptorSet()
    f = fds.file.add(name="deep.proto", package="deep", syntax="proto3")
    for i in range(levels):
        m = f.message_type.add(name=f"M{i}")
        if i + 1 < levels:
            for w in range(width):
                m.field.add(name=f"f{w}", number=w + 1, type=11, label=1,
                            type_name=f".deep.M{i + 1}")
            if numbered:
                m.field.add(name="n", number=100, type=3, label=1)
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


@pytest.fixture
def flood(started):
    from flood_reflection import FloodServer
    return lambda mode: started(FloodServer, mode)


@pytest.mark.parametrize("mode", ["endless:1000000", "tiny:50000"])
@pytest.mark.parametrize("command", [["call", "flood.Flood/Get", "{}"], ["describe", "Flood"],
                                     ["template", "flood.Mf0"]])
def test_a_schema_without_end_stops_at_the_budget(flood, mode, command):
    """Imports without end (1 MB each, or with 50,000 tiny files in every answer): rpcsh stops
    asking at --max-schema-size, says so once, and stays small."""
    server = flood(mode)
    out, err, code, peak = rpcsh_peak(command[0], "-a", server.addr, *command[1:])
    assert code == 1, err
    assert "the server's schema passed --max-schema-size (128 MiB)" in err, err
    assert "--max-schema-size 512MiB" in err and err.count("rpcsh: error:") == 1, err
    assert peak < 300, peak
    # It stopped asking just past the budget (tiny files cost more than their bytes).
    if mode.startswith("endless"):
        assert 128 << 20 < server.flood.sent_bytes < 140 << 20, server.flood.sent_bytes
    else:
        assert server.flood.sent_bytes < 128 << 20


def test_the_budget_is_the_users_to_set(flood):
    server = flood("endless:1000000")
    out, err, code, _ = rpcsh_peak("describe", "-a", server.addr, "--max-schema-size", "20MiB",
                                   "Flood")
    assert "passed --max-schema-size (20 MiB) after" in err, err
    assert 20 << 20 < server.flood.sent_bytes < 30 << 20, server.flood.sent_bytes
    out, err, code, _ = rpcsh_peak("describe", "-a", server.addr, "--max-schema-size", "banana",
                                   "Flood")
    assert code == 2 and "is not a size" in err, err


@pytest.mark.parametrize("mode", ["endless:1000000", "tiny:50000", "big:4000000"])
def test_the_shell_keeps_a_flooding_schema_within_the_budget(flood, mode):
    """The shell reads every file the server has, for completion: the budget stops it too, and the
    shell lives on (20 files of 4 MB are within the budget: read, in bounded memory)."""
    server = flood(mode)
    out, err, code, peak = rpcsh_peak("connect", server.addr,
                                      stdin="list\ndescribe flood.Flood\nhelp set\n")
    assert "flood.Flood" in out and "set timeout" in out, (out, err)
    if mode.startswith("big"):
        assert "rpc Get(.flood.Mf0) returns (.flood.Mf0)" in out and code == 0, err
    else:
        assert err.count("passed --max-schema-size (128 MiB)") == 1, err
    assert peak < 300, peak


def test_one_big_file_under_a_raised_message_limit(flood):
    server = flood("one:48000000")
    for args, stdin in [(["call", "-a", server.addr, "flood.Flood/Get", "{}"], None),
                        (["connect", server.addr], "describe flood.Flood\n")]:
        out, err, code, peak = rpcsh_peak(*args, "--max-msg-size", "100MB", stdin=stdin)
        assert "Unimplemented" in out + err or "rpc Get" in out, err  # the schema was read
        assert peak < 300, peak


@pytest.mark.parametrize("mode, says", [
    ("garbage:0", "the server's reflection sent a file descriptor that does not decode (26 bytes)"),
    ("elsewhere:0", "the server lists flood.Flood, but no file its reflection gives defines it"),
    ("deep:300", "DescriptorProto.nested_type (99 times): FileDescriptorProto.message_type"),
])
def test_a_broken_reflection_answer_is_said_in_one_short_line(flood, mode, says):
    server = flood(mode)
    runs = [rpcsh_peak("connect", server.addr, stdin="describe flood.Flood\nhelp set\n")]
    if not mode.startswith("deep"):  # one-shot builds only what the method uses: it works
        runs.append(rpcsh_peak("describe", "-a", server.addr, "flood.Flood"))
    for out, err, code, _ in runs:
        assert says in err and err.count("rpcsh: error:") == 1, err
        assert max(map(len, err.splitlines())) < 300, err
    assert "set timeout" in runs[0][0]  # the shell lived on


def test_a_call_builds_only_the_request_types_its_json_fills(tmp_path):
    """A request type chaining 100,000 messages: a one-shot call builds the levels its JSON
    fills (and stubs past them), not the chain: the whole chain's pool took 398 MiB."""
    path = deep_set(tmp_path / "chain.pb", 100_000, 1)
    server = SetServer(path)
    try:
        request = '{"f0": {"f0": {"f0": {}}}}'
        for schema in (["-a", server.addr], ["-a", server.addr, "--protoset", str(path)]):
            out, err, code, peak = rpcsh_peak("call", *schema, "Deep/Get", request, timeout=120)
            assert code == 0 and json.loads(out) == json.loads(request), err
            assert peak < 150, f"{schema[-2]}: {peak:.0f} MiB"
        # A field the filled level does not have is still named, with the level's fields.
        out, err, code, _ = rpcsh_peak("call", "-a", server.addr, "Deep/Get",
                                       '{"f0": {"f0": {"nope": 1}}}', timeout=120)
        assert code == 1 and "deep.M2 has the fields: f0" in err, err
        # Streamed from stdin, a request may name any type later: built whole, as before.
        out, err, code, _ = rpcsh_peak("call", "-a", server.addr, "Deep/Get", "-",
                                       stdin='{"f0": {"f0": {}}}', timeout=120)
        assert code == 0 and json.loads(out) == {"f0": {"f0": {}}}, err
    finally:
        server.stop()


def test_bench_builds_only_the_request_types_its_data_fills(tmp_path):
    """`rpcsh bench` knows its requests before the first call: on the 100,000-deep chain it
    builds the levels they fill, as a call does (built whole, the run took 127 MiB on a 4 MB
    schema and about 400 here). Each line of a data file counts: the deepest is the second, a
    template whose placeholder is no JSON until filled."""
    path = deep_set(tmp_path / "chain.pb", 100_000, 1, numbered=True)
    big = ["--max-msg-size", "16MB"]  # the file is 4.7 MB
    server = SetServer(path)
    try:
        lines = tmp_path / "requests.jsonl"
        lines.write_text('{"f0": {}}\n\n{"f0": {"f0": {"f0": {"n": {{n}}, "f0": {}}}}}\n')
        for data in (['{"f0": {"f0": {"f0": {}}}}'], ["--data-file", str(lines)]):
            out, err, code, peak = rpcsh_peak("bench", "-a", server.addr, *big, "-n", "20",
                                              "-c", "2", "--output", "json", "Deep/Get", *data,
                                              timeout=120)
            assert code == 0, err
            assert json.loads(out)["statuses"] == {"OK": 20}, out
            assert peak < 150, f"{data[0]}: {peak:.0f} MiB"
        # A line naming a field its level lacks is refused with its place, before any call.
        lines.write_text('{"f0": {}}\n{"f0": {"f0": {"nope": 1}}}\n')
        out, err, code, _ = rpcsh_peak("bench", "-a", server.addr, *big, "-n", "5", "Deep/Get",
                                       "--data-file", str(lines), timeout=120)
        assert code == 1 and f"{lines}:2" in err and "deep.M2 has the fields: f0, n" in err, err
    finally:
        server.stop()
