"""bench/hostile.sh: each flood mode of tests/py/flood_reflection.py, against `rpcsh call`,
the shell (`describe` then exit) and `grpcurl describe`, each killed at 30 s and limited to 6 GB
of address space: seconds and peak RSS in MiB."""
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "py"))
from flood_reflection import FloodServer  # noqa: E402

MODES = ["endless:1000000", "tiny:50000", "big:4000000", "one:48000000"]


def measured(args, stdin=None):
    cmd = ["/usr/bin/time", "-f", "%e %M", "timeout", "30", *args]
    out = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                         preexec_fn=lambda: __import__("resource").setrlimit(
                             __import__("resource").RLIMIT_AS, (6 << 30, 6 << 30)))
    seconds, kib = out.stderr.strip().splitlines()[-1].split()[-2:]
    return float(seconds), int(kib) / 1024


def main():
    rpcsh, grpcurl = sys.argv[1:3]
    print(f"{'mode':<18} {'rpcsh call':>16} {'rpcsh shell':>16} {'grpcurl describe':>18}")
    for mode in MODES:
        server = FloodServer(mode)
        big = ["--max-msg-size", "100MB"] if mode.startswith("one") else []
        try:
            call = measured([rpcsh, "call", "-a", server.addr, *big, "flood.Flood/Get", "{}"])
            shell = measured([rpcsh, "connect", server.addr, *big],
                             stdin="describe flood.Flood\n")
            peer_big = ["-max-msg-sz", str(100 << 20)] if big else []
            theirs = measured([grpcurl, "-plaintext", *peer_big, server.addr, "describe",
                               "flood.Flood"])
        finally:
            server.stop()
        cell = lambda m: f"{m[0]:5.2f} s {m[1]:6.0f} MiB"  # noqa: E731
        print(f"{mode:<18} {cell(call):>16} {cell(shell):>16} {cell(theirs):>18}")


if __name__ == "__main__":
    main()
