"""10,000 unary calls with a check of each answer, three ways, against the same `rpcsh serve`:

1. one `rpcsh run` script (Cal/Add then `expect` on the sum, 10,000 times);
2. one-shot grpcurl runs (timed over a sample, scaled to 10,000: running all takes minutes);
3. a Python grpcio loop: generated stubs, one channel, an assert per answer.

    python bench/script_vs_peers.py RPCSH GRPCURL STUBS_DIR [CALLS] [GRPCURL_SAMPLE]
"""
import os
import subprocess
import sys
import tempfile
import time


def main():
    rpcsh, grpcurl, stubs = sys.argv[1], sys.argv[2], sys.argv[3]
    calls = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    sample = int(sys.argv[5]) if len(sys.argv) > 5 else 200
    server = subprocess.Popen([rpcsh, "serve", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    addr = server.stdout.readline().removeprefix("listening on ").strip()
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".rpcsh", delete=False) as f:
            for i in range(calls):
                f.write(f'Cal/Add {{"number1": {i}, "number2": 1}}\nexpect {{"number": {i + 1}}}\n')
            script = f.name
        start = time.perf_counter()
        out = subprocess.run([rpcsh, "run", "--addr", addr, script], capture_output=True, text=True)
        t_rpcsh = time.perf_counter() - start
        assert out.returncode == 0 and out.stdout.endswith(f"{calls} passed, 0 failed\n"), out.stderr[-500:]
        os.unlink(script)

        start = time.perf_counter()
        for i in range(sample):
            got = subprocess.run([grpcurl, "-plaintext", "-d", f'{{"number1": {i}, "number2": 1}}', addr, "Cal/Add"],
                                 capture_output=True, text=True)
            assert f'"number": {i + 1}' in got.stdout, got.stdout + got.stderr
        t_grpcurl = (time.perf_counter() - start) / sample * calls

        sys.path.insert(0, stubs)
        import grpc
        import SimpleCal_pb2
        import SimpleCal_pb2_grpc
        channel = grpc.insecure_channel(addr)
        stub = SimpleCal_pb2_grpc.CalStub(channel)
        stub.Add(SimpleCal_pb2.AddRequest(number1=0, number2=1))  # connect first, as rpcsh does
        start = time.perf_counter()
        for i in range(calls):
            assert stub.Add(SimpleCal_pb2.AddRequest(number1=i, number2=1)).number == i + 1
        t_python = time.perf_counter() - start
        channel.close()
    finally:
        server.terminate()
        server.wait()
    print(f"{calls} unary calls, each checked:")
    print(f"  rpcsh run (one script):       {t_rpcsh:6.2f} s  ({calls / t_rpcsh:7.0f} calls/s)")
    print(f"  grpcurl, one run per call:    {t_grpcurl:6.2f} s  (from {sample} runs)")
    print(f"  Python grpcio loop, 1 channel:{t_python:6.2f} s  ({calls / t_python:7.0f} calls/s)")
    print(f"  rpcsh vs grpcurl: {t_grpcurl / t_rpcsh:.1f}x faster; vs Python: {t_python / t_rpcsh:.2f}x")


if __name__ == "__main__":
    main()
