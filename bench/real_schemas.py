"""Real schemas, rpcsh beside grpcurl in one run (medians of RUNS, wall time and peak RSS):

- all of googleapis as one protoset (npm google-proto-files, every file but google/protobuf's,
  compiled by grpcio-tools' protoc with --include_imports: ~21 MB, 7,200 files, 1,870
  services): `list`, `describe` of a message, `call` of PredictionService/Predict, and the shell
  with that protoset (time to its prompt, RSS 3 s later);
- through reflection (tests/py/set_server.py: grpcio serving a descriptor set with
  grpcio-reflection): Predict, and the Google Ads API's GoogleAdsService/Search, whose request
  and response reach most of the Ads schema;
- a synthetic chain of 200 files whose method reaches all 4,001 messages: `describe --protoset`
  of its response message, and a call through reflection.

    python bench/real_schemas.py RPCSH GRPCURL GOOGLE_PROTO_FILES [RUNS=5]
"""
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "py"))
from chain_schema import chain  # noqa: E402
from schema import measure, median  # noqa: E402
from set_server import SetServer  # noqa: E402

BIG = ["--max-msg-size", str(64 << 20)]
OUT = HERE.parent / "target" / "bench-schemas"


def protoc(include, files, out):
    import grpc_tools
    from grpc_tools import protoc as tool

    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    if out.exists():
        return out
    saved = os.dup(2)  # protoc's unused-import warnings would drown the output
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    try:
        failed = tool.main(["protoc", f"-I{include}", f"-I{well_known}", "--include_imports",
                            f"--descriptor_set_out={out}", *files])
    finally:
        os.dup2(saved, 2)
    if failed:
        sys.exit(f"bench: protoc failed on {files[:3]}...")
    return out


def shell(rpcsh, args):
    """(seconds to the first prompt, RSS in MiB 3 s after it)."""
    import pexpect
    start = time.perf_counter()
    child = pexpect.spawn(rpcsh, ["connect", *args, "--no-history", *BIG], encoding="utf-8",
                          timeout=120, env={**os.environ, "NO_COLOR": "1"})
    child.expect_exact("> ")
    elapsed = time.perf_counter() - start
    time.sleep(3)
    status = pathlib.Path(f"/proc/{child.pid}/status").read_text()
    rss = int(next(l for l in status.splitlines() if l.startswith("VmRSS")).split()[1]) / 1024
    child.sendline("exit")
    child.expect(pexpect.EOF)
    return elapsed, rss


def row(runs, name, mine, theirs):
    mt, mr = median(runs, lambda: measure(mine))
    if theirs is None:
        print(f"{name:<44}{mt * 1000:>7.0f} ms {mr:>6.1f} MiB", flush=True)
        return
    tt, tr = median(runs, lambda: measure(theirs))
    print(f"{name:<44}{mt * 1000:>7.0f} ms {mr:>6.1f} MiB{tt * 1000:>7.0f} ms {tr:>6.1f} MiB"
          f"{mt / tt:>7.2f}x {mr / tr:>5.2f}x", flush=True)


def main():
    rpcsh, grpcurl, gpf = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    os.environ["RPCSH_CONFIG"] = "/nonexistent"
    OUT.mkdir(parents=True, exist_ok=True)
    every = sorted(str(p.relative_to(gpf)) for p in gpf.glob("google*/**/*.proto")
                   if not str(p.relative_to(gpf)).startswith("google/protobuf/"))
    every += sorted(str(p.relative_to(gpf)) for p in gpf.glob("grafeas/**/*.proto"))
    googleapis = protoc(gpf, every, OUT / "googleapis.pb")
    ads = protoc(gpf, ["google/ads/googleads/v25/services/google_ads_service.proto"],
                 OUT / "ads.pb")
    folder = pathlib.Path(tempfile.mkdtemp())
    chained = protoc(folder, chain(folder), OUT / "chain.pb")
    g = [grpcurl, "-plaintext", "-max-msg-sz", str(64 << 20)]
    print(f"medians of {runs}; ratios rpcsh / grpcurl")
    print(f"{'':<44}{'rpcsh':>18}{'grpcurl':>18}{'ratio':>15}")
    ps = ["--protoset", str(googleapis)]
    predict = "google.cloud.aiplatform.v1.PredictionService/Predict"
    mb = googleapis.stat().st_size / 1e6
    print(f"googleapis protoset ({mb:.1f} MB)")
    row(runs, "  list", [rpcsh, "list", *ps], [*g, "-protoset", str(googleapis), "list"])
    row(runs, "  describe PredictRequest",
        [rpcsh, "describe", *ps, "google.cloud.aiplatform.v1.PredictRequest"],
        [*g, "-protoset", str(googleapis), "describe", "google.cloud.aiplatform.v1.PredictRequest"])
    server = SetServer(googleapis)
    try:
        row(runs, "  call Predict",
            [rpcsh, "call", "-a", server.addr, *ps, predict, '{"endpoint":"e"}'],
            [*g, "-protoset", str(googleapis), "-d", '{"endpoint":"e"}', server.addr, predict])
        t, rss = median(runs, lambda: shell(rpcsh, [server.addr, *ps]))
        print(f"{'  shell: prompt, RSS 3 s later':<44}{t * 1000:>7.0f} ms {rss:>6.1f} MiB")
        print("googleapis through reflection")
        row(runs, "  call Predict", [rpcsh, "call", "-a", server.addr, *BIG, predict, "{}"],
            [*g, "-d", "{}", server.addr, predict])
    finally:
        server.stop()
    server = SetServer(ads)
    try:
        search = "google.ads.googleads.v25.services.GoogleAdsService/Search"
        print(f"Google Ads API v25 through reflection ({ads.stat().st_size / 1e6:.1f} MB)")
        row(runs, "  call GoogleAdsService/Search",
            [rpcsh, "call", "-a", server.addr, *BIG, search, "{}"],
            [*g, "-d", "{}", server.addr, search])
    finally:
        server.stop()
    print(f"synthetic chain, 200 files, 4,001 messages ({chained.stat().st_size / 1e6:.1f} MB)")
    row(runs, "  describe --protoset chain.p199.Msg19",
        [rpcsh, "describe", "--protoset", str(chained), "chain.p199.Msg19"],
        [*g, "-protoset", str(chained), "describe", "chain.p199.Msg19"])
    server = SetServer(chained)
    try:
        row(runs, "  call Chain/Get through reflection",
            [rpcsh, "call", "-a", server.addr, *BIG, "chain.p199.Chain/Get", "{}"],
            [*g, "-d", "{}", server.addr, "chain.p199.Chain/Get"])
    finally:
        server.stop()


if __name__ == "__main__":
    main()
