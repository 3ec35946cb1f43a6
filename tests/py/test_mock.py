"""`rpcsh serve --mock`: a recording served as a server. The seed's grpcio clients run through
`rpcsh proxy --record` against `rpcsh serve`; the recording, served with --mock, answers the
same clients as the real services did (all four call styles); a call that matches nothing gets
UNIMPLEMENTED naming the nearest recorded request."""
import base64
import json
import random
import subprocess

import pytest
from conftest import DB, ROOT, RPCSH, rpcsh
from test_relay import Relay
from test_relay_record import stop


class Mock:
    def __init__(self, *flags):
        self.proc = subprocess.Popen([RPCSH, "serve", "--listen", "127.0.0.1:0", *flags],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on "), (line, self.proc.stderr.read())
        self.addr = line.removeprefix("listening on ").strip()

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def output_of(capsys, run):
    capsys.readouterr()
    run()
    # RecordRoute's elapsed time differs on every run (and is left out of the recording).
    lines = [line for line in capsys.readouterr().out.splitlines() if "elapsed" not in line.lower()]
    # RouteChat prints what it sends from one thread and what it receives from another: how
    # the two interleave is timing, not the services. Its lines are compared as a set.
    start = next((i for i, l in enumerate(lines) if "RouteChat" in l), len(lines))
    end = next((i for i, l in enumerate(lines) if i > start and l.startswith("Greeter")), len(lines))
    return lines[:start] + sorted(lines[start:end]) + lines[end:]


def test_a_recording_of_the_seed_clients_answers_them_as_the_real_services(serve, started,
                                                                          tmp_path, capsys):
    import helloworld_grpc_client
    import routeguide_grpc_client
    server = serve("--task-interval", "0")
    script = tmp_path / "seen.rpcsh"
    through = started(Relay, server.addr, "--record", str(script), "--ignore", "elapsedTime")

    def clients(addr):
        return lambda: (routeguide_grpc_client.run(addr, str(DB), random.Random(7)),
                        helloworld_grpc_client.run(addr))
    real = output_of(capsys, clients(through.addr))
    assert "recorded" in stop(through)
    protos = [f"--proto={ROOT / 'proto' / p}" for p in ("routeguide.proto", "helloworld.proto")]
    mock = started(Mock, "--mock", str(script), *protos)
    mocked = output_of(capsys, clients(mock.addr))
    assert len(real) > 100 and mocked == real
    # The mock serves reflection and health, and the recording replays green against it.
    listed = rpcsh("list", "-a", mock.addr).stdout.split()
    assert "RouteGuide" in listed and "grpc.health.v1.Health" in listed
    assert rpcsh("run", str(script), "-a", mock.addr, check=False).returncode == 0


def test_unmatched_calls_name_the_nearest_recording(started, tmp_path):
    script = tmp_path / "stubs.rpcsh"
    script.write_text('call Greeter/SayHello {"name": "ana"}\nexpect exact {"message": "hi ana"}\n'
                      'call Greeter/SayHello {"name": "bo"}\nexpect error NOT_FOUND "no bo"\n')
    mock = started(Mock, "--mock", str(script), f"--proto={ROOT / 'proto' / 'helloworld.proto'}")
    ok = rpcsh("call", "-a", mock.addr, "Greeter/SayHello", '{"name": "ana"}')
    assert '"hi ana"' in ok.stdout
    failed = rpcsh("call", "-a", mock.addr, "Greeter/SayHello", '{"name": "bo"}', check=False)
    assert failed.returncode == 64 + 5 and "no bo" in failed.stderr
    missed = rpcsh("call", "-a", mock.addr, "Greeter/SayHello", '{"name": "cy"}', check=False)
    assert missed.returncode == 64 + 12, missed.stderr
    assert "no recorded call of Greeter.SayHello matches" in missed.stderr
    assert "stubs.rpcsh:" in missed.stderr and '"name":' in missed.stderr
    # Or the status chosen for it.
    strict = started(Mock, "--mock", str(script), "--unmatched", "NOT_FOUND",
                     f"--proto={ROOT / 'proto' / 'helloworld.proto'}")
    missed = rpcsh("call", "-a", strict.addr, "Greeter/SayHello", '{"name": "cy"}', check=False)
    assert missed.returncode == 64 + 5 and "no recorded call" in missed.stderr


@pytest.mark.parametrize("flags,said", [
    ([], "needs the schema"),
    (["--proto=PROTO"], "no method of the schema"),
], ids=["no schema", "unknown method"])
def test_mistakes_are_one_error(tmp_path, flags, said):
    script = tmp_path / "bad.rpcsh"
    script.write_text('call Nowhere/Thing {}\nexpect exact {}\n')
    flags = [f.replace("PROTO", str(ROOT / "proto" / "helloworld.proto")) for f in flags]
    out = subprocess.run([RPCSH, "serve", "--listen", "127.0.0.1:0", "--mock", str(script),
                          *flags], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and said in out.stderr, out.stderr
    assert out.stderr.count("rpcsh: error:") == 1


def test_a_recording_of_the_grpc_js_client_answers_it_as_the_real_services(serve, started,
                                                                          tmp_path):
    from test_node_peers import NODE, node_env
    server = serve("--task-interval", "0")
    script = tmp_path / "seen.rpcsh"
    through = started(Relay, server.addr, "--record", str(script))

    def client(addr):
        out = subprocess.run(["node", str(NODE / "seed_client.js"), addr], capture_output=True,
                             text=True, timeout=60, env=node_env())
        assert out.returncode == 0, out.stderr
        return out.stdout
    real = client(through.addr)
    stop(through)
    # Contact/getTask is a subscription the client cancels, fed by another call's push: the
    # proxy does not record it (it says so); a stub written by hand answers it.
    text = script.read_text()
    assert "Contact/getTask is not recorded" in text
    task = json.loads(real)["task"]
    script.write_text(text + f'call Contact/getTask {{}}\nexpect [{{"task": {json.dumps(task)}}}]\n')
    # The schema from the real server's reflection this time.
    mock = started(Mock, "--mock", str(script), "--from", server.addr)
    assert client(mock.addr) == real


def test_an_edited_stub_file_answers_on_the_next_call(started, tmp_path):
    script = tmp_path / "stubs.rpcsh"
    script.write_text('call Greeter/SayHello {"name": "ana"}\nexpect exact {"message": "one"}\n')
    mock = started(Mock, "--mock", str(script), f"--proto={ROOT / 'proto' / 'helloworld.proto'}")

    def said():
        return rpcsh("call", "-a", mock.addr, "Greeter/SayHello", '{"name": "ana"}').stdout
    assert '"one"' in said()
    script.write_text('call Greeter/SayHello {"name": "ana"}\nexpect exact {"message": "two"}\n')
    assert '"two"' in said()
    # A file that no longer reads leaves the previous stubs answering.
    script.write_text('call Nowhere/Thing {}\n')
    assert '"two"' in said()


def test_a_sleep_before_the_expect_delays_the_answer(started, tmp_path):
    import time
    script = tmp_path / "slow.rpcsh"
    script.write_text('call Greeter/SayHello {"name": "ana"}\nsleep 300ms\n'
                      'expect exact {"message": "late"}\n')
    mock = started(Mock, "--mock", str(script), f"--proto={ROOT / 'proto' / 'helloworld.proto'}")
    start = time.monotonic()
    out = rpcsh("call", "-a", mock.addr, "Greeter/SayHello", '{"name": "ana"}')
    assert '"late"' in out.stdout and time.monotonic() - start >= 0.3


def test_answers_name_the_requests_fields(started, tmp_path):
    script = tmp_path / "templates.rpcsh"
    script.write_text('call Greeter/SayHello {}\nexpect exact {"message": "hello ${request.name}!"}\n'
                      'call Cal/Add {}\nexpect exact {"number": "${request.number1}"}\n')
    protos = [f"--proto={ROOT / 'proto' / p}" for p in ("helloworld.proto", "SimpleCal.proto")]
    mock = started(Mock, "--mock", str(script), *protos)
    out = rpcsh("call", "-a", mock.addr, "Greeter/SayHello", '{"name": "zed"}')
    assert json.loads(out.stdout) == {"message": "hello zed!"}
    out = rpcsh("call", "-a", mock.addr, "Cal/Add", '{"number1": 41, "number2": 1}')
    assert json.loads(out.stdout) == {"number": 41}


def test_fake_answers_every_method_of_googleapis_the_same_for_the_same_seed(started, tmp_path):
    from test_real_schemas import GOOGLEAPIS_FILES, googleapis_root
    from conftest import descriptor_set
    served = descriptor_set(googleapis_root(), GOOGLEAPIS_FILES, tmp_path / "googleapis.pb")
    empty = tmp_path / "none.rpcsh"
    empty.write_text("# no stubs: every answer is made up\n")
    mocks = [started(Mock, "--mock", str(empty), "--protoset", str(served), "--fake", "--seed",
                     "7") for _ in range(2)]
    methods = []
    for service in rpcsh("list", "-a", mocks[0].addr).stdout.split():
        if service.startswith("google."):
            methods += rpcsh("list", "-a", mocks[0].addr, service).stdout.split()
    assert len(methods) > 40, methods
    for method in methods:
        service, name = method.rsplit(".", 1)
        answers = [rpcsh("call", "-a", m.addr, f"{service}/{name}", "{}", check=False)
                   for m in mocks]
        assert answers[0].returncode == 0, (method, answers[0].stderr)
        if answers[0].stdout.strip() == "{}":  # only what has no fields answers nothing
            described = rpcsh("describe", "-a", mocks[0].addr, f"{service}/{name}").stdout
            output = described.split("returns (")[1].split(")")[0].removeprefix("stream ")
            fields = rpcsh("describe", "-a", mocks[0].addr, output.lstrip(".")).stdout
            assert " = " not in fields, (method, fields)
        assert answers[0].stdout == answers[1].stdout, method


def test_a_recording_keeps_the_answers_metadata_status_and_pace(stubs, started, tmp_path):
    """grpcio's interop TestService through `proxy --record`, then the recording as a mock: a
    grpcio client gets the same headers, trailers, status and messages, at the recorded pace
    (or at once with --pace none); the recording replays green against the real server."""
    import time

    import grpc
    import grpc_testing_pb2 as pb
    import grpc_testing_pb2_grpc as pb_grpc
    from interop_testservice import ECHO_INITIAL, ECHO_TRAILING, TestServer
    real = started(TestServer)
    script = tmp_path / "seen.rpcsh"
    through = started(Relay, real.addr, "--record", str(script))
    echo = ((ECHO_INITIAL, "initial value"), (ECHO_TRAILING, b"\xab\xab\xab"))
    paced = pb.StreamingOutputCallRequest(
        response_parameters=[pb.ResponseParameters(size=3, interval_us=150_000)] * 3)

    def clients(addr):
        with grpc.insecure_channel(addr) as channel:
            stub = pb_grpc.TestServiceStub(channel)
            reply, call = stub.UnaryCall.with_call(pb.SimpleRequest(response_size=5),
                                                   metadata=echo)
            said = [reply, call.initial_metadata(), call.trailing_metadata()]
            try:
                stub.UnaryCall(pb.SimpleRequest(
                    response_status=pb.EchoStatus(code=9, message="not now")))
            except grpc.RpcError as e:
                said.append((e.code(), e.details()))
            start = time.monotonic()
            said.append([len(m.payload.body) for m in stub.StreamingOutputCall(paced)])
            return said, time.monotonic() - start

    def application(metadata):
        return sorted((k, v) for k, v in metadata if k.startswith("x-"))

    def comparable(said):
        reply, initial, trailing, *rest = said
        return [reply, application(initial), application(trailing), *rest]
    seen, took = clients(through.addr)
    assert took >= 0.45
    assert "recorded" in stop(through)
    text = script.read_text()
    assert "expect header x-grpc-test-echo-initial initial value" in text, text
    assert "expect trailer x-grpc-test-echo-trailing-bin q6ur" in text, text
    assert "\npace " in text, text
    assert rpcsh("run", str(script), "-a", real.addr, check=False).returncode == 0
    mock = started(Mock, "--mock", str(script), "--from", real.addr)
    mocked, took = clients(mock.addr)
    assert comparable(mocked) == comparable(seen) and took >= 0.45, (mocked, seen)
    assert application(mocked[1]) == [("x-grpc-test-echo-initial", "initial value")]
    at_once = started(Mock, "--mock", str(script), "--from", real.addr, "--pace", "none")
    mocked, took = clients(at_once.addr)
    assert comparable(mocked) == comparable(seen) and took < 0.3


def test_hand_written_stubs_give_error_details_and_the_nearest_answer(stubs, started, tmp_path):
    import grpc
    import helloworld_pb2
    import helloworld_pb2_grpc
    details = b"\x08\x03\x12\x03bad"  # google.rpc.Status{code: 3, message: "bad"}
    script = tmp_path / "stubs.rpcsh"
    script.write_text('call Greeter/SayHello {"name": "x"}\nexpect error INVALID_ARGUMENT "bad"\n'
                      f'expect trailer grpc-status-details-bin {base64.b64encode(details).decode()}\n'
                      'call Greeter/SayHello {"name": "ana"}\nexpect exact {"message": "hi"}\n')
    proto = f"--proto={ROOT / 'proto' / 'helloworld.proto'}"
    mock = started(Mock, "--mock", str(script), proto)
    nearest = started(Mock, "--mock", str(script), proto, "--match", "nearest")
    for addr in (mock.addr, nearest.addr):
        with grpc.insecure_channel(addr) as channel:
            stub = helloworld_pb2_grpc.GreeterStub(channel)
            with pytest.raises(grpc.RpcError) as failed:
                stub.SayHello(helloworld_pb2.HelloRequest(name="x"))
            assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert dict(failed.value.trailing_metadata())["grpc-status-details-bin"] == details
    with grpc.insecure_channel(mock.addr) as channel:
        with pytest.raises(grpc.RpcError) as failed:
            helloworld_pb2_grpc.GreeterStub(channel).SayHello(helloworld_pb2.HelloRequest(name="an"))
        assert failed.value.code() == grpc.StatusCode.UNIMPLEMENTED
    with grpc.insecure_channel(nearest.addr) as channel:
        reply = helloworld_pb2_grpc.GreeterStub(channel).SayHello(
            helloworld_pb2.HelloRequest(name="an"))
        assert reply.message == "hi"


def test_a_ping_pong_client_is_answered_as_the_recorded_stream_interleaved(stubs, started,
                                                                           tmp_path):
    """interop ping_pong: the client sends its next request only after the answer to the last;
    the recording's `interleave` lets the mock answer it so, instead of waiting for the end."""
    import queue

    import grpc
    import grpc_testing_pb2 as pb
    import grpc_testing_pb2_grpc as pb_grpc
    from interop_testservice import TestServer
    real = started(TestServer)
    script = tmp_path / "seen.rpcsh"
    through = started(Relay, real.addr, "--record", str(script))

    def ping_pong(addr, sizes=(1, 2, 3, 4)):
        asked = queue.Queue()
        with grpc.insecure_channel(addr) as channel:
            replies = pb_grpc.TestServiceStub(channel).FullDuplexCall(
                iter(asked.get, None), timeout=10)
            got = []
            for size in sizes:
                asked.put(pb.StreamingOutputCallRequest(
                    response_parameters=[pb.ResponseParameters(size=size)]))
                got.append(len(next(replies).payload.body))
            asked.put(None)
            return got + [len(m.payload.body) for m in replies]
    assert ping_pong(through.addr) == [1, 2, 3, 4]
    assert "recorded" in stop(through)
    assert "\ninterleave 0 1 2 3\n" in script.read_text(), script.read_text()
    mock = started(Mock, "--mock", str(script), "--from", real.addr)
    assert ping_pong(mock.addr) == [1, 2, 3, 4]
    # A stream that goes another way than recorded ends with the unmatched status.
    with pytest.raises(grpc.RpcError) as failed:
        ping_pong(mock.addr, sizes=(1, 2, 9))
    assert failed.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "another way than recorded" in failed.value.details()
