"""grpcurl's own command lines (tests/py/grpcurl_corpus.py) run through grpcurl 1.8.6 and
through `rpcsh grpcurl`, against the same servers: the whole corpus's wall time for each, the
best of RUNS rounds (each round runs every line once with each client, interleaved), and the
ratio rpcsh / grpcurl. Lines that wait on purpose (-max-time, -connect-timeout to a closed port)
are left out: they time the deadline, not the client. Run with bench/grpcurl_dropin.sh."""
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "py")]

import conftest  # noqa: E402  (the stubs the seed's server imports)
import grpcurl_corpus as corpus  # noqa: E402


def main():
    rpcsh, grpcurl, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    stubs = pathlib.Path(tempfile.mkdtemp(prefix="grpcurl-bench-stubs-"))
    conftest._compile_stubs(stubs)
    sys.path.insert(0, str(stubs))
    lab = corpus.Lab(rpcsh, stubs, corpus.tmpdir())
    cases = [c for c in corpus.CASES if "-max-time" not in c[0] and "-connect-timeout 1" not in c[0]]
    try:
        best = {"grpcurl": float("inf"), "rpcsh": float("inf")}
        for _ in range(runs):
            total = {"grpcurl": 0.0, "rpcsh": 0.0}
            for line, stdin, _ in cases:
                args = lab.args(line)
                _, t = corpus.run([grpcurl, *args], stdin)
                total["grpcurl"] += t
                _, t = corpus.run([rpcsh, "grpcurl", *args], stdin)
                total["rpcsh"] += t
            for k in best:
                best[k] = min(best[k], total[k])
    finally:
        lab.stop()
    print(f"{len(cases)} command lines, best of {runs} rounds")
    print(f"grpcurl 1.8.6   {best['grpcurl']:.2f} s")
    print(f"rpcsh grpcurl   {best['rpcsh']:.2f} s")
    print(f"ratio           {best['rpcsh'] / best['grpcurl']:.2f}x")


if __name__ == "__main__":
    main()
