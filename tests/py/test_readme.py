"""The README is a test: every `sh` and `console` block in README.md runs here, against
`rpcsh serve`, unless a comment right above it says it is not run and why (it needs a server the
suite cannot have, runs for ever, or is the set-up itself). A block runs as a bash script
(`set -e`, `pipefail`) in a folder with the files its examples name; a `console` block's output
is compared with what the README shows (`...` stands for any lines). So that an example fits in
a test, the server's documented address becomes the test server's, and durations and counts are
scaled down (`-z 30s` to `-z 1s`, `-n 100000` to `-n 200`, steps of `/10s` to `/1s`, 1,000
held streams to 5)."""
import os
import pathlib
import re
import signal
import subprocess
import sys

import pytest
from conftest import ROOT, RPCSH

README = (ROOT / "README.md").read_text()
BLOCK = re.compile(r"(?:<!-- readme: (?P<mark>[^\n]*?) -->\n)?```(?P<lang>sh|console)\n(?P<body>.*?)```",
                   re.S)
ADDRESSES = ["localhost:50051", "127.0.0.1:50051", "server:50051", "127.0.0.1:40713"]
SCALED = [(r"-z \d+s", "-z 1s"), (r"-n \d{4,}", "-n 200"), (r"(/)\d+s\b", r"\g<1>1s"),
          (r"--hold \d+s", "--hold 1s"), (r"--streams \d+", "--streams 5")]


def blocks():
    for m in BLOCK.finditer(README):
        line = README[:m.start()].count("\n") + 1 + (1 if m.group("mark") else 0)
        yield pytest.param(m.group("lang"), m.group("body"), m.group("mark"), id=f"line {line}")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder with what the examples name, and `rpcsh` (the binary under test) on the PATH."""
    d = tmp_path_factory.mktemp("readme")
    for name in ("examples", "proto"):
        (d / name).symlink_to(ROOT / name)
    (d / "smoke.rpcsh").write_text((ROOT / "examples/scripts/greeter.rpcsh").read_text())
    (d / "adds.jsonl").write_text('{"number1": 1, "number2": 2}\n{"number1": 3, "number2": 4}\n')
    (d / "login-then-browse.rpcsh").write_text(
        'Greeter/SayHello {"name": "login"}\nexpect {"message": "hello login"}\n'
        'RouteGuide/GetFeature {"latitude": 409146138, "longitude": -746188906}\n')
    (d / "notes.json").write_text('{"message": "a"}\n{"message": "b"}\n')
    (d / "bin").mkdir()
    (d / "bin" / "rpcsh").symlink_to(RPCSH)
    return d


@pytest.mark.parametrize("lang, body, mark", list(blocks()))
def test_readme_block(lang, body, mark, serve, workdir):
    if mark is not None:
        assert mark.startswith("not run: ") and len(mark) > 20, f"say why: {mark!r}"
        pytest.skip(mark)
    server = serve()
    for address in ADDRESSES:
        body = body.replace(address, server.addr)
    for pattern, scaled in SCALED:
        body = re.sub(pattern, scaled, body)
    env = {**os.environ, "RPCSH_ADDR": server.addr, "HOME": str(workdir),
           "PATH": f"{workdir / 'bin'}:{pathlib.Path(sys.executable).parent}:{os.environ['PATH']}"}
    if lang == "sh":
        out = bash(["-e", "-o", "pipefail", "-c", body], workdir, env)
        assert out.returncode == 0, f"{body}\n--- stdout\n{out.stdout}\n--- stderr\n{out.stderr}"
        return
    for command, expected in console(body):
        out = bash(["-c", command], workdir, env)
        shown = (out.stdout + out.stderr).replace(server.addr, "localhost:50051")
        assert matches(expected, shown.splitlines()), f"$ {command}\n{shown}"


def bash(args, cwd, env):
    """bash with `args`, in a process group of its own: a block that hangs is killed whole,
    what it started included."""
    proc = subprocess.Popen(["bash", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        err += "\n(killed after 120 s)"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def console(body):
    """The `$ ` commands of a console block, each with the lines shown after it."""
    steps = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return steps


def matches(expected, actual):
    """Whether `actual` is `expected`, a `...` line standing for any lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0] == expected[0] and matches(expected[1:], actual[1:])
