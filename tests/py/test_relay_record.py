"""`rpcsh proxy --record`: what real clients send through the proxy becomes an `rpcsh run`
script that replays green against the same server and red, with the diff, against one whose
data changed. The seed's grpcio client against `rpcsh serve` and against the seed's grpcio
server (no reflection: the proxy decodes with --proto), the grpc-js client of all five
services, and calls of concurrent connections kept in the order they started."""
import json
import random
import signal
import subprocess
import sys
import time

import pytest
from conftest import DB, ROOT, RPCSH, rpcsh
from test_node_peers import NODE, node_env
from test_relay import Relay

ROUTE_PROTO = f"--proto={ROOT / 'proto' / 'routeguide.proto'}"


def stop(relay):
    """Stops the proxy as a user does (Ctrl-C): what it saw is recorded; its stderr."""
    relay.proc.send_signal(signal.SIGINT)
    _, err = relay.proc.communicate(timeout=10)
    assert relay.proc.returncode in (0, 130), err
    return err


def changed_db(tmp_path):
    """The seed's feature database with the feature GetFeature asks for renamed."""
    features = json.loads(DB.read_text())
    for f in features:
        if f["location"]["latitude"] == 409146138:
            f["name"] = "Renamed Trail"
    path = tmp_path / "changed_db.json"
    path.write_text(json.dumps(features))
    return path


def seed_server(started, stubs, db):
    class Seed:
        def __init__(self):
            self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "py" /
                                                              "seed_server.py"),
                                          "--stubs", str(stubs), "--db", str(db)],
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True)
            line = self.proc.stdout.readline()
            assert line.startswith("listening on "), (line, self.proc.stderr.read())
            self.addr = line.removeprefix("listening on ").strip()

        def stop(self):
            self.proc.kill()
            self.proc.wait()
    return started(Seed)


def replay(script, *flags):
    return rpcsh("run", str(script), *flags, check=False, timeout=60)


def test_the_seed_clients_calls_replay_green_then_red_against_changed_data(serve, started,
                                                                         tmp_path, capsys):
    import routeguide_grpc_client
    server = serve("--task-interval", "0")
    script = tmp_path / "seen.rpcsh"
    # RecordRoute's elapsed time differs on every run: left out of the expectations.
    through = started(Relay, server.addr, "--record", str(script), "--ignore", "elapsedTime")
    routeguide_grpc_client.run(through.addr, str(DB), random.Random(7))
    capsys.readouterr()
    err = stop(through)
    assert "recorded 5 call(s)" in err, err
    text = script.read_text()
    assert text.startswith("# recorded by rpcsh")
    assert f"connect {server.addr}" in text
    # Each style as the client made it: the request as sent, the stream's messages and end.
    assert 'call RouteGuide/GetFeature {"latitude":409146138,"longitude":-746188906}' in text
    # ListFeature's 100 features, each listed: what serve --mock answers with.
    assert 'expect [{"name":"Patriots Path, Mendham, NJ 07945, USA"' in text, text
    assert text.count("\nend\n") == 2, text  # RecordRoute and RouteChat
    assert '{"location":{},"message":"msg 1"}' in text, text
    green = replay(script)
    assert green.returncode == 0, green.stdout + green.stderr
    assert "5 passed, 0 failed" in green.stdout + green.stderr
    other = serve("--task-interval", "0", "--db", str(changed_db(tmp_path)))
    red = replay(script, "-a", other.addr)
    out = red.stdout + red.stderr
    assert red.returncode == 1, out
    assert "Berkshire Valley Management Area Trail" in out and "Renamed Trail" in out, out


def test_a_grpcio_server_without_reflection_decoded_from_protos(started, stubs, tmp_path,
                                                                capsys):
    import routeguide_grpc_client
    upstream = seed_server(started, stubs, DB)
    script = tmp_path / "seen.rpcsh"
    through = started(Relay, upstream.addr, ROUTE_PROTO, "--record", str(script),
                      "--ignore", "elapsedTime")
    routeguide_grpc_client.run(through.addr, str(DB), random.Random(3))
    capsys.readouterr()
    printed = through.printed("end Ok in", count=5)
    assert '< {"name":"Berkshire Valley Management Area Trail' in printed, printed
    assert "recorded 5 call(s)" in stop(through)
    green = replay(script, ROUTE_PROTO)
    assert green.returncode == 0, green.stdout + green.stderr
    changed = seed_server(started, stubs, changed_db(tmp_path))
    red = replay(script, ROUTE_PROTO, "-a", changed.addr)
    assert red.returncode == 1 and "Renamed Trail" in red.stdout + red.stderr, red.stdout


def test_the_grpc_js_client_of_five_services_replays(serve, started, tmp_path):
    server = serve("--task-interval", "0")
    script = tmp_path / "seen.rpcsh"
    through = started(Relay, server.addr, "--record", str(script))
    out = subprocess.run(["node", str(NODE / "seed_client.js"), through.addr],
                         capture_output=True, text=True, timeout=60, env=node_env())
    assert out.returncode == 0, out.stderr
    err = stop(through)
    text = script.read_text()
    for method in ("Greeter/SayHello", "RouteGuide/RouteChat", "compute.Compute/",
                   "Cal/Add", "Contact/"):
        assert f"call {method}" in text, text
    green = replay(script)
    assert green.returncode == 0, text + green.stdout + green.stderr
    assert "recorded" in err


def test_concurrent_connections_are_recorded_in_the_order_they_started(serve, started,
                                                                       tmp_path):
    server = serve("--task-interval", "0")
    script = tmp_path / "seen.rpcsh"
    through = started(Relay, server.addr, "--record", str(script))
    testing = f"--proto={ROOT / 'proto' / 'testing.proto'}"
    # The slow call starts first and ends last; the quick ones, on their own connections,
    # start and end meanwhile.
    slow = subprocess.Popen([RPCSH, "call", "-a", through.addr, testing, "Testing/Echo",
                             '{"delay": "1s", "payload": "c2xvdw=="}'], stdout=subprocess.PIPE)
    time.sleep(0.3)
    rpcsh("call", "-a", through.addr, "Greeter/SayHello", '{"name": "quick"}',
          "-H", "authorization: Bearer s3cr3t", "-H", "x-team: red")
    rpcsh("call", "-a", through.addr, "Cal/Add", '{"number1": 1, "number2": 2}')
    assert slow.wait(timeout=10) == 0
    stop(through)
    calls = [line for line in script.read_text().splitlines()
             if line.startswith(("call ", "header ", "expect"))]
    assert calls == [
        'call rpcsh.testing.v1.Testing/Echo {"payload":"c2xvdw==","delay":"1s"}',
        'expect exact {"payload":"c2xvdw=="}',
        "header set authorization ${env:RPCSH_AUTHORIZATION}",
        "header set x-team red",
        'call Greeter/SayHello {"name":"quick"}',
        'expect exact {"message":"hello quick"}',
        "header unset authorization",
        "header unset x-team",
        'call Cal/Add {"number1":1,"number2":2}',
        'expect exact {"number":3}',
    ], calls
    # The secret stays out of the file; the replay takes it from the environment.
    assert "s3cr3t" not in script.read_text()
