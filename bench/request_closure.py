"""A call whose request reaches every type of a 4 MB schema, by reflection from a grpcio
server: tests/py/chain_schema.py's 200 files of 20 messages (each holding the same message of
the file before and the one before it in its own file), and a service whose request is the last
file's Msg19, which reaches all 4,000. rpcsh builds a request as far as its JSON goes; grpcurl
builds the whole closure. Medians of RUNS runs, wall and peak RSS, for each rpcsh binary given
and grpcurl; then each binary's `rpcsh bench` of 100 such calls (its start builds the same).

    python bench/request_closure.py GRPCURL RPCSH [RPCSH...] [--runs N]"""
import pathlib
import statistics
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "py"))
from chain_schema import chain  # noqa: E402
from schema_server import serve  # noqa: E402


def measured(args):
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M", *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    seconds, kib = out.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kib) / 1024


def main():
    args = sys.argv[1:]
    runs = 7
    if "--runs" in args:
        k = args.index("--runs")
        runs = int(args[k + 1])
        del args[k:k + 2]
    grpcurl, binaries = args[0], args[1:]
    folder = pathlib.Path(tempfile.mkdtemp())
    names = chain(folder)
    (folder / "svc.proto").write_text('syntax = "proto3";\npackage scale;\nimport "c199.proto";\n'
                                      "service Svc0 { rpc GetThing(chain.p199.Msg19) returns "
                                      "(chain.p199.Request); }\n")
    server, port, _, out = serve(folder, [*names, "svc.proto"])
    addr = f"127.0.0.1:{port}"
    method = "scale.Svc0/GetThing"
    print(f"{out.stat().st_size / 1e6:.1f} MB of descriptors; {method} '{{}}', medians of {runs}")
    try:
        rows = [(b, [b, "call", "-a", addr, "--max-msg-size", "64MB", method, "{}"]) for b in binaries]
        rows += [(f"{b} bench -n 100", [b, "bench", "-a", addr, "--max-msg-size", "64MB", "-n",
                                        "100", "-c", "1", method, "{}"]) for b in binaries]
        rows.append(("grpcurl", [grpcurl, "-plaintext", "-max-msg-sz", str(64 << 20), "-d", "{}",
                                 addr, method]))
        results = {}
        for name, cmd in rows:
            samples = [measured(cmd) for _ in range(runs)]
            results[name] = (statistics.median(s[0] for s in samples),
                             statistics.median(s[1] for s in samples))
        theirs = results["grpcurl"]
        for name, (t, rss) in results.items():
            ratios = "" if "bench" in name else (f"   {t / theirs[0]:.2f}x wall "
                                                  f"{rss / theirs[1]:.2f}x RSS")
            print(f"  {name:<40} {t * 1000:6.0f} ms {rss:6.1f} MiB{ratios}")
    finally:
        server.stop(None)


if __name__ == "__main__":
    main()
