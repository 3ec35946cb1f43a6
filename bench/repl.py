"""The shell's responsiveness, on a pseudo-terminal as a person uses it (stdlib only):

1. start to first prompt of `rpcsh connect ADDR` (reflection of the demo server included):
   median and max over N starts;
2. idle RSS after the prompt (VmRSS) and its peak (VmHWM), from /proc;
3. typing while a watch receives ~1,000 messages a second (Testing/Generate, 1 ms apart):
   the delay from a keystroke to its echo on the screen, and the watch's real message rate.

    python bench/repl.py RPCSH ADDR [STARTS]
"""
import os
import pty
import select
import statistics
import subprocess
import sys
import time


def spawn(rpcsh, addr):
    master, slave = pty.openpty()
    env = dict(os.environ, NO_COLOR="1", TERM="xterm")
    proc = subprocess.Popen([rpcsh, "connect", addr, "--no-history"], stdin=slave, stdout=slave, stderr=slave,
                            env=env, close_fds=True, start_new_session=True)
    os.close(slave)
    return proc, master


def read_until(master, needle, timeout=10.0):
    """Reads until `needle` shows; returns (seconds waited, bytes read)."""
    start, buf = time.perf_counter(), b""
    while needle not in buf:
        left = timeout - (time.perf_counter() - start)
        if left <= 0:
            raise TimeoutError(f"{needle!r} never showed; got {buf[-300:]!r}")
        ready, _, _ = select.select([master], [], [], left)
        if ready:
            try:
                buf += os.read(master, 65536)
            except OSError:
                break
    return time.perf_counter() - start, buf


def stop(proc, master):
    proc.kill()
    proc.wait()
    os.close(master)


def main():
    rpcsh, addr = sys.argv[1], sys.argv[2]
    starts = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    prompt = f"{addr}> ".encode()

    times = []
    for _ in range(starts):
        begin = time.perf_counter()
        proc, master = spawn(rpcsh, addr)
        read_until(master, prompt)
        times.append(time.perf_counter() - begin)
        stop(proc, master)
    print(f"start to first prompt ({starts} starts): median {statistics.median(times) * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms")

    proc, master = spawn(rpcsh, addr)
    read_until(master, prompt)
    time.sleep(0.5)
    status = open(f"/proc/{proc.pid}/status").read()
    field = lambda name: int(next(l for l in status.splitlines() if l.startswith(name)).split()[1]) / 1024
    print(f"idle RSS: {field('VmRSS:'):.1f} MiB (peak so far {field('VmHWM:'):.1f} MiB)")

    os.write(master, b'watch Testing/Generate {"count": 1000000, "interval": "0.001s"}\r')
    read_until(master, b"[1] watching")
    time.sleep(1.0)
    lags, seen = [], b""
    rate_start = time.perf_counter()
    for letter in b"ABCDEFGHIJKLMNOPQRST":
        key = bytes([letter])
        sent = time.perf_counter()
        os.write(master, key)
        waited, got = read_until(master, key, timeout=5)
        seen += got
        lags.append(waited)
        # keep reading for a while, as a person's next keystroke comes later
        end = time.perf_counter() + 0.1
        while time.perf_counter() < end:
            if select.select([master], [], [], 0.01)[0]:
                seen += os.read(master, 65536)
    elapsed = time.perf_counter() - rate_start
    rate = seen.count(b"[1] {") / elapsed
    print(f"typing during a watch at {rate:.0f} msg/s: keystroke-to-echo median "
          f"{statistics.median(lags) * 1000:.1f} ms, max {max(lags) * 1000:.1f} ms (20 keystrokes)")
    status = open(f"/proc/{proc.pid}/status").read()
    print(f"RSS after the watch: {field('VmRSS:'):.1f} MiB")
    stop(proc, master)


if __name__ == "__main__":
    main()
