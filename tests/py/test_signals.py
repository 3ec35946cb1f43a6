"""The signal policy (README, "Signals"), for every command while it waits on the network: a
one-shot command, `run` and a piped shell end at once on SIGINT (130), SIGTERM (143) or SIGHUP
(129), printing what they had received; the shell typed at ends on SIGTERM with the terminal
restored; `bench` ends so while it sets up, and once its load runs reports on the first Ctrl-C
(tests/py/test_hostile_servers.py)."""
import os
import signal
import subprocess
import time

import pexpect
import pytest
from conftest import RPCSH
from raw_h2_server import RawH2Server


@pytest.fixture(scope="module")
def silent():
    server = RawH2Server("silent")
    yield server
    server.stop()


def interrupted(args, sig, stdin=""):
    """Starts rpcsh, signals it a second later, and returns (exit code, stdout, seconds it took
    to end after the signal)."""
    proc = subprocess.Popen([RPCSH, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdin.write(stdin)
    proc.stdin.flush()  # left open: a piped shell must end on the signal, not at EOF
    time.sleep(1)
    assert proc.poll() is None, proc.stderr.read()  # still waiting on the server
    sent = time.monotonic()
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=10)
    return proc.returncode, out, time.monotonic() - sent


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                       (signal.SIGHUP, 129)])
@pytest.mark.parametrize("command", [
    ["call", "Checker/Check", "{}"], ["list"], ["describe", "Checker"], ["template", "Checker"],
    ["health"], ["run", "SCRIPT"], ["connect"],
    # bench while it sets up (connecting, reflection): its report-on-Ctrl-C starts with the load.
    ["bench", "-n", "5", "Checker/Check", "{}"], ["bench", "--script", "SCRIPT"],
], ids=lambda c: " ".join(c[:2]) if c[0] == "bench" else c[0])
def test_a_command_waiting_on_a_silent_server_ends_on_a_signal(silent, command, sig, code,
                                                               tmp_path):
    script = tmp_path / "s.rpcsh"
    script.write_text("Checker/Check {}\n")
    command = [str(script) if c == "SCRIPT" else c for c in command]
    stdin = "Checker/Check {}\n" if command[0] == "connect" else ""
    args = [command[0], silent.addr] if command[0] == "connect" else [
        command[0], "-a", silent.addr, *command[1:]]
    got, _, took = interrupted(args, sig, stdin)
    assert got == code, got
    assert took < 2, took


def test_an_interrupted_stream_keeps_what_it_received(serve):
    server = serve("--task-interval", "50ms")
    got, out, _ = interrupted(["call", "-a", server.addr, "Contact/getTask", "{}"],
                              signal.SIGINT)
    assert got == 130
    # A batch every 50 ms for a second: every message printed before the signal is there, whole.
    lines = out.splitlines()
    assert len(lines) >= 5, out
    assert all(line.startswith("{") and line.endswith("}") for line in lines), out


def test_the_shell_ends_on_sigterm_with_the_terminal_restored(silent):
    shell = pexpect.spawn("sh", ["-c", f"{RPCSH} connect {silent.addr} --no-history; "
                                       "echo rc=$?; stty -a"],
                          encoding="utf-8", timeout=10, env={**os.environ, "NO_COLOR": "1"})
    try:
        shell.expect_exact(f"{silent.addr}> ")
        shell.send("Checker/Che")  # the line editor holds the terminal raw while typed at
        time.sleep(0.3)
        subprocess.run(["pkill", "-TERM", "-P", str(shell.pid)], check=True)
        shell.expect(r"rc=(\d+)")
        assert shell.match.group(1) == "143"
        shell.expect(pexpect.EOF)
        settings = shell.before.split()
        assert "icanon" in settings and "echo" in settings, shell.before
    finally:
        shell.close(force=True)
