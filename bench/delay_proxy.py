"""A TCP proxy that delays every byte by DELAY seconds in each direction: a link with a round
trip of 2 x DELAY, made on loopback without root or kernel modules. Bytes keep their order and
their spacing (each chunk is forwarded DELAY after it arrived, not DELAY after the previous one),
so bandwidth is not throttled. `pause()` freezes it: connections stay open, nothing moves.

    python bench/delay_proxy.py TARGET_HOST:PORT DELAY_MS   # prints `listening on 127.0.0.1:P`
or, from Python, `DelayProxy(target, delay).start()` in a thread of its own.
"""
import asyncio
import sys
import threading
import time


class DelayProxy:
    def __init__(self, target, delay):
        self.host, port = target.rsplit(":", 1)
        self.port = int(port)
        self.delay = delay
        self.addr = None
        self.connections = 0
        self._frozen = threading.Event()
        self._ready = threading.Event()
        self._loop = None

    async def _pump(self, reader, writer):
        queue = asyncio.Queue()

        async def deliver():
            while True:
                due, data = await queue.get()
                if data is None:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                while self._frozen.is_set():
                    await asyncio.sleep(0.05)
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                while self._frozen.is_set():
                    await asyncio.sleep(0.05)
                queue.put_nowait((time.monotonic() + self.delay, data or None))
                if not data:
                    break
        except (ConnectionError, OSError):
            queue.put_nowait((0, None))
        await sender

    async def _client(self, reader, writer):
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer),
                             return_exceptions=True)

    async def _serve(self):
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.addr = "127.0.0.1:%d" % server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await server.serve_forever()

    def start(self):
        """Runs the proxy on a daemon thread; returns once it listens."""
        def run():
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._serve())
        threading.Thread(target=run, daemon=True).start()
        self._ready.wait()
        return self

    def pause(self):
        self._frozen.set()

    def resume(self):
        self._frozen.clear()


if __name__ == "__main__":
    proxy = DelayProxy(sys.argv[1], float(sys.argv[2]) / 1000).start()
    print(f"listening on {proxy.addr}", flush=True)
    threading.Event().wait()
