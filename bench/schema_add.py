"""What `--schema-add` costs on a slow link: a grpcio server (tests/py/set_server.py) answers a
Box whose Any holds a type it does not serve, through bench/delay_proxy.py. Median wall time of
RUNS one-shot calls, in round trips, without the added file (the type stays unknown) and with
it (the server is asked, says NOT_FOUND, the file answers: no round trip more), and a call
whose answer needs nothing added (it must not cost one either).

    python bench/schema_add.py RPCSH [DELAY_MS=25] [RUNS=7]
"""
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests" / "py")]
from delay_proxy import DelayProxy  # noqa: E402
from set_server import SetServer  # noqa: E402
from test_schema_add import EXTRA, secret_box  # noqa: E402


def timed(cmd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return time.perf_counter() - start, proc


def main():
    rpcsh = sys.argv[1]
    delay = int(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.025
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    from conftest import INTEROP, descriptor_set
    with tempfile.TemporaryDirectory() as tmp:
        served = descriptor_set(INTEROP, ["hostile.proto"], pathlib.Path(tmp) / "h.pb")
        plain = SetServer(served)
        boxes = SetServer(served, answers={"hostile.v1.Boxes/Get": secret_box()})
        rtt = 2 * delay
        print(f"round trip {rtt * 1000:.0f} ms, median of {runs}")
        cases = [("Any of an unserved type, no file", boxes, []),
                 ("Any of an unserved type, --schema-add", boxes,
                  ["--schema-add", str(EXTRA / "secret.proto")]),
                 ("nothing to add, no file", plain, []),
                 ("nothing to add, --schema-add", plain,
                  ["--schema-add", str(EXTRA / "secret.proto")])]
        for name, server, extra in cases:
            proxy = DelayProxy(server.addr, delay).start()
            times = []
            for _ in range(runs):
                took, proc = timed([rpcsh, "call", "-a", proxy.addr, *extra, "Boxes/Get", "{}"])
                times.append(took)
            print(f"{name:<42} {statistics.median(times) / rtt:5.1f} round trips"
                  f"  (exit {proc.returncode})")
        plain.stop()
        boxes.stop()


if __name__ == "__main__":
    main()
