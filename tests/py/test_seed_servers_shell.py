"""The seed's own Python grpcio servers (tests/py/seed_server.py, no reflection: the shell gets
the seed's protos) under rpcsh's shell on a pseudo-terminal, `watch` of Contact's getTask
included, and the same watch in piped sessions and `rpcsh run` scripts. grpcio sends no response
headers on a server stream before its first message: the watch must not wait for them."""
import os
import subprocess
import sys
import time

import pexpect
import pytest
from conftest import ROOT, RPCSH, rpcsh

PROTOS = [f"--proto={ROOT / 'proto' / name}" for name in ("contact.proto", "SimpleCal.proto")]


@pytest.fixture
def seed(stubs):
    """The seed's servers with Contact, one second between its task batches."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "py" / "seed_server.py"),
                             "--stubs", str(stubs), "--contact-sleep", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"the seed server did not start: {line!r} {proc.stderr.read()}")
    yield line.removeprefix("listening on ").strip()
    proc.kill()
    proc.wait()


def test_watch_of_the_seeds_contact_keeps_the_shell_usable(seed):
    child = pexpect.spawn(RPCSH, ["connect", seed, "--no-history", *PROTOS], encoding="utf-8",
                          timeout=15, dimensions=(40, 200), env={**os.environ, "NO_COLOR": "1"})
    prompt = f"{seed}> "
    child.expect_exact(prompt)
    started = time.monotonic()
    child.sendline("watch Contact/getTask {}")
    child.expect_exact("[1] watching Contact/getTask")
    child.expect_exact(prompt)
    # Well before the seed's first batch (a second away): the watch did not wait for it.
    assert time.monotonic() - started < 0.9
    child.sendline('Cal/Add {"number1": 1, "number2": 2}')
    child.expect_exact('"number": 3')
    child.sendline("jobs")
    child.expect(r"\[1\] Contact/getTask  \d+ messages  running")
    # The batch arrives above the prompt, tagged.
    child.expect(r'\[1\] \{"task":"任务:1\d\d"\}')
    child.sendline('Contact/sendStatus')
    child.expect_exact("sendStatus >> ")
    child.sendline('{"msg": "hi"}')
    child.expect_exact('"ret": "服务端接收到消息:hi"')
    child.sendline(".end")
    child.expect_exact(prompt)
    child.sendline("stop 1")
    child.expect(r"\[1\] stopped after \d+ messages")
    child.sendline("exit")
    child.expect(pexpect.EOF)


def test_watch_in_piped_sessions_and_scripts(seed, tmp_path):
    session = "watch Contact/getTask {}\nCal/Add {\"number1\": 2, \"number2\": 2}\nsleep 1500ms\njobs\n"
    started = time.monotonic()
    out = rpcsh("connect", seed, *PROTOS, stdin=session)
    assert time.monotonic() - started < 10
    lines = out.stdout.splitlines()
    assert "[1] watching Contact/getTask" in out.stderr  # a notice: stderr when piped
    assert lines[0] == '{"number":4}'
    assert any(line.startswith('[1] {"task":"任务:') for line in lines), out.stdout
    script = tmp_path / "contact.rpcsh"
    script.write_text(f"connect {seed}\nwatch Contact/getTask {{}}\nexpect within 5s {{}}\n"
                      "Cal/Multiply {\"number1\": 3, \"number2\": 3}\nexpect {\"number\": 9}\n")
    out = rpcsh("run", *PROTOS, str(script))
    assert "2 passed, 0 failed" in out.stdout, out.stdout + out.stderr


def test_check_of_a_server_without_reflection_says_there_is_nothing_to_compare(seed):
    """The seed's grpcio servers have no reflection: `check` was given the files, so the hint to
    pass them would be wrong; it says why it cannot compare."""
    out = rpcsh("check", seed, *PROTOS, check=False)
    assert out.returncode == 1, out.stderr
    assert "does not support server reflection (v1 or v1alpha): check compares the files" in out.stderr
    assert "nothing to compare the files with" in out.stderr
    assert "describe its API with --proto" not in out.stderr, out.stderr
