"""Big schemas: rpcsh beside grpcurl against grpcio servers with reflection hosting synthetic
schemas (bench/schema_server.py) of 10, 100 and 1,000 services. Medians of RUNS runs:

- the shell's start to its first prompt on a pseudo-terminal, and its RSS at that prompt;
- `call` of the method whose file pulls the most descriptors (nearly the whole schema), wall
  time and peak RSS (GNU time), rpcsh and grpcurl;
- `describe` of that method's response message, and `list`.

    python bench/schema.py RPCSH GRPCURL [RUNS=7] [SIZES=10:10,100:100,1000:200]
"""
import os
import pathlib
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
BIG = ["--max-msg-size", str(64 << 20)]


def measure(cmd):
    """(seconds, peak RSS in MiB) of `cmd` under GNU time."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True,
                          timeout=300)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed: {proc.stderr}")
    return elapsed, int(proc.stderr.strip().splitlines()[-1]) / 1024


def shell_start(rpcsh, addr):
    """(seconds to the first prompt, RSS in MiB at that moment)."""
    import pexpect
    start = time.perf_counter()
    child = pexpect.spawn(rpcsh, ["connect", addr, "--no-history", *BIG], encoding="utf-8",
                          timeout=120, env={**os.environ, "NO_COLOR": "1"})
    child.expect_exact("> ")
    elapsed = time.perf_counter() - start
    status = pathlib.Path(f"/proc/{child.pid}/status").read_text()
    rss = int(next(l for l in status.splitlines() if l.startswith("VmRSS")).split()[1]) / 1024
    child.sendline("exit")
    child.expect(pexpect.EOF)
    return elapsed, rss


def median(runs, fn):
    results = [fn() for _ in range(runs)]
    return tuple(statistics.median(r[i] for r in results) for i in range(2))


def main():
    rpcsh, grpcurl = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    sizes = sys.argv[4] if len(sys.argv) > 4 else "10:10,100:100,1000:200"
    os.environ["RPCSH_CONFIG"] = "/nonexistent"
    print(f"medians of {runs}; ratios rpcsh / grpcurl")
    print(f"{'services/files (MB)':<22}{'command':<28}{'rpcsh':>18}{'grpcurl':>18}{'ratio':>14}")
    for size in sizes.split(","):
        services, files = size.split(":")
        server = subprocess.Popen([sys.executable, str(HERE / "schema_server.py"), services, files],
                                  stdout=subprocess.PIPE, text=True)
        try:
            addr = server.stdout.readline().removeprefix("listening on ").strip()
            method = server.stdout.readline().split()[1]
            message = method.split("/")[0].rsplit(".", 1)[0] + ".Msg1"
            server.stdout.readline()  # the file's biggest message
            mb = int(server.stdout.readline().split()[1]) / 1e6
            label = f"{services}/{files} ({mb:.1f})"
            t, rss = median(runs, lambda: shell_start(rpcsh, addr))
            print(f"{label:<22}{'shell, first prompt':<28}{t * 1000:>9.0f} ms {rss:>5.1f} MiB")
            rows = [
                ("call " + method.split(".")[-1],
                 [rpcsh, "call", "--addr", addr, *BIG, method, "{}"],
                 [grpcurl, "-plaintext", "-max-msg-sz", str(64 << 20), "-d", "{}", addr, method]),
                ("describe " + message.split(".")[-1],
                 [rpcsh, "describe", "--addr", addr, *BIG, message],
                 [grpcurl, "-plaintext", "-max-msg-sz", str(64 << 20), addr, "describe", message]),
                ("list", [rpcsh, "list", "--addr", addr, *BIG],
                 [grpcurl, "-plaintext", "-max-msg-sz", str(64 << 20), addr, "list"]),
            ]
            for name, mine, theirs in rows:
                mt, mr = median(runs, lambda: measure(mine))
                tt, tr = median(runs, lambda: measure(theirs))
                print(f"{'':<22}{name:<28}{mt * 1000:>6.0f} ms {mr:>5.1f} MiB"
                      f"{tt * 1000:>6.0f} ms {tr:>5.1f} MiB {mt / tt:>5.2f}x {mr / tr:>5.2f}x",
                      flush=True)
        finally:
            server.kill()


if __name__ == "__main__":
    main()
