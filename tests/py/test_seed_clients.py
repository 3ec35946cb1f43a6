"""The seed's own Python grpcio clients against `rpcsh serve`, with what they print asserted."""
import math
import random
import re

import grpc
import pytest
from conftest import DB


def point_text(lat, lon):
    """How the seed's clients print a Point: protobuf text format, zero fields omitted."""
    return "".join(f"{k}: {v}\n" for k, v in (("latitude", lat), ("longitude", lon)) if v)


def seed_distance(start, end):
    """The seed server's get_distance, verbatim in substance."""
    f = 10000000.0
    lat1, lat2, lon1, lon2 = start[0] / f, end[0] / f, start[1] / f, end[1] / f
    a = (math.sin(math.radians(lat2 - lat1) / 2) ** 2
         + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 6371000 * 2 * math.atan2(math.sqrt(a), math.sqrt(1 - a))


def test_helloworld_client(server, capsys):
    import helloworld_grpc_client
    helloworld_grpc_client.run(server.addr)
    assert capsys.readouterr().out == (
        "Greeter client received: hello czl\nGreeter client received: hello daydaygo\n")


def test_compute_client_counts_code_points(server, capsys):
    import compute_client
    compute_client.main(server.addr)
    compute_client.main(server.addr, "你好")
    compute_client.main(server.addr, "")
    assert capsys.readouterr().out == "received: 6\nreceived: 2\nreceived: 0\n"


def test_cal_client(server, capsys):
    import cal_client
    cal_client.run(100, 300, server.addr)
    cal_client.run(-7, 6, server.addr)
    assert capsys.readouterr().out == "100 + 300 = 400\n100 * 300 = 30000\n-7 + 6 = -1\n-7 * 6 = -42\n"


def test_cal_overflow_is_out_of_range(server):
    import cal_client
    with pytest.raises(grpc.RpcError) as e:
        cal_client.run(2147483647, 2, server.addr)
    assert e.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert "2147483647" in e.value.details() and "2" in e.value.details()


def test_routeguide_client_all_four_call_styles(server, capsys):
    import routeguide_db
    import routeguide_grpc_client
    rng = random.Random(7)
    routeguide_grpc_client.run(server.addr, str(DB), rng)
    out = capsys.readouterr().out
    sections = re.split(r"-------------- \w+ --------------\n", out)
    assert len(sections) == 5, out
    _, get, listing, record, chat = sections

    assert get == (
        "Feature called Berkshire Valley Management Area Trail, Jefferson, NJ, USA at "
        + point_text(409146138, -746188906) + "\n"
        + "Found no feature at \n")

    db = routeguide_db.read_routeguide_db(str(DB))
    inside = [f for f in db
              if 400000000 <= f.location.latitude <= 420000000
              and -750000000 <= f.location.longitude <= -730000000]
    expected = "".join(f"Feature called {f.name} at {point_text(f.location.latitude, f.location.longitude)}\n"
                       for f in inside)
    assert listing == expected
    assert len(inside) > 50

    # The route is 20 random database features: every point matches, counted from 0 (not 1).
    route_rng = random.Random(7)
    route = [db[route_rng.randint(0, len(db) - 1)].location for _ in range(20)]
    metres = sum(seed_distance((a.latitude, a.longitude), (b.latitude, b.longitude))
                 for a, b in zip(route, route[1:]))
    assert record.splitlines()[-1] == (
        f"point count: 20 feature count: 20 distance: {int(metres)} elapsed time:0")

    # Notes 1 and 4 share (0, 0): the fourth note is answered with the first, and only then.
    assert chat.count("send message") == 5
    received = [line for line in chat.splitlines() if line.startswith("recived")]
    assert received == ["recived message msg 1 location "]  # Point(0, 0) prints as nothing
    assert chat.index("send message msg 4") < chat.index("recived message msg 1")


def test_contact_client_receives_pushed_tasks(server):
    import contact_client
    tasks = contact_client.run(server.addr, 3, "任务:推送")
    assert tasks == ["任务:推送"] * 3
    assert "服务端接收到消息:push 任务:推送" in contact_client.printed
    assert any(p.startswith("服务端接收到消息:数据:") for p in contact_client.printed)
    log = server.stop()
    assert "tellResult: client acknowledged" in log and "客户端接收到任务:任务:推送" in log


def test_contact_generator_pushes_batches(serve):
    import contact_client
    server = serve("--task-interval", "100ms")
    tasks = _generated(server.addr, 25)
    assert len(tasks) == 25
    for t in tasks:
        m = re.fullmatch(r"任务:(\d+)", t)
        assert m and 100 <= int(m.group(1)) <= 200, t


def _generated(addr, n):
    """Only getTask and tellResult, as the seed's client without sendStatus: tasks come from the
    server's generator alone."""
    import contact_client
    import contact_pb2_grpc
    received = []
    with grpc.insecure_channel(addr) as channel:
        contact_client.tell_result(contact_pb2_grpc.ContactStub(channel), received, n)
    return received
