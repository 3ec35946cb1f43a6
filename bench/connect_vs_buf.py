"""rpcsh against buf curl on a Connect unary call, side by side in one run: both one-shot, both
with the schema from the same descriptor set, against the same connect-node server over HTTP/1.1
(grpc.testing.TestService/UnaryCall, a 3-byte answer). Median wall time and peak RSS over N
interleaved runs each, and the ratio rpcsh / buf curl. Run with bench/connect.sh."""
import pathlib
import subprocess
import sys
import tempfile

from client_vs_grpcurl import run

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "py"))
from conftest import INTEROP, descriptor_set  # noqa: E402


def main():
    rpcsh, buf, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with tempfile.TemporaryDirectory() as tmp:
        schema = descriptor_set(INTEROP, ["grpc_testing.proto"], pathlib.Path(tmp) / "testing.binpb")
        server = subprocess.Popen(["node", str(ROOT / "tests" / "node" / "connect_server.js"), str(schema)],
                                  stdout=subprocess.PIPE, text=True)
        h1 = server.stdout.readline().removeprefix("listening on ").split()[0]
        data = '{"responseSize": 3}'
        method = "grpc.testing.TestService/UnaryCall"
        try:
            calls = {
                "rpcsh": [rpcsh, "call", "-a", h1, "--protocol", "connect", "--protoset", str(schema),
                          method, data],
                "buf curl": [buf, "curl", "--protocol", "connect", "--schema", str(schema),
                             "--data", data, f"http://{h1}/{method}"],
            }
            results = {name: [] for name in calls}
            for _ in range(3):  # warm-up: page cache, the server's JIT
                for cmd in calls.values():
                    run(cmd)
            for _ in range(runs):
                for name, cmd in calls.items():
                    results[name].append(run(cmd))
        finally:
            server.terminate()
            server.wait()
    print(f"one-shot Connect unary call, schema from a descriptor set, HTTP/1.1, {runs} runs each "
          "(median wall, max peak RSS):")
    med = {}
    for name, samples in results.items():
        walls = sorted(s[0] for s in samples)
        wall = walls[len(walls) // 2] * 1000
        rss = max(s[1] for s in samples) / 1024
        med[name] = (wall, rss)
        print(f"  {name:9} {wall:7.2f} ms  {rss:6.1f} MiB")
    print(f"  ratio rpcsh/buf curl: wall {med['rpcsh'][0] / med['buf curl'][0]:.2f}x, "
          f"RSS {med['rpcsh'][1] / med['buf curl'][1]:.2f}x")


if __name__ == "__main__":
    main()
