"""A schema of many files (bench/schema_server.py on grpcio, with reflection): a one-shot
command builds only what its method uses, yet calls, describes and templates as usual."""
import re
import subprocess
import sys

import pytest
from conftest import ROOT, rpcsh


@pytest.fixture(scope="module")
def schema():
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "schema_server.py"), "30", "10"],
                            stdout=subprocess.PIPE, text=True)
    addr = proc.stdout.readline().removeprefix("listening on ").strip()
    method = proc.stdout.readline().split()[1]
    message = proc.stdout.readline().split()[1]
    yield addr, method, message
    proc.kill()
    proc.wait()


def test_a_call_builds_only_what_its_method_uses(schema):
    addr, method, _ = schema
    out = rpcsh("call", "-v", "-a", addr, method, "{}")
    assert out.stdout.strip() == "{}"
    built, received = map(int, re.search(r"built (\d+) of the (\d+) messages", out.stderr).groups())
    assert 0 < built < received / 2, out.stderr


def test_describe_template_and_the_shell_see_the_whole_types(schema):
    addr, method, message = schema
    text = rpcsh("describe", "-a", addr, message).stdout
    assert f"message {message} {{" in text and re.search(r"\.big\.p\d+\.Msg19 field_number_0", text)
    template = rpcsh("template", "-a", addr, method).stdout
    assert "fieldNumber11WithALongishName" in template
    service = method.split("/")[0]
    out = rpcsh("connect", addr, stdin=f"use {service}\nCall3 {{}}\nlist {service}\n")
    assert out.stdout.startswith("{}\n")
    assert "big.p9.Svc29.Call4\n" in out.stdout  # the shell lists names, as rpcsh list does
