"""A raw HTTP/2 server (Python h2) that misbehaves in one chosen way, for tests of what rpcsh does
with a broken or hostile server. It ignores grpc-timeout, as such servers do.

Modes:
- `silent`: accepts every call (reflection included) and answers nothing at all;
- `stall`: answers headers and one empty message, then nothing, the stream left open;
- `message:TEXT`: ends every call with grpc-status 2 and the raw header value TEXT (bytes
  as given, so a broken percent-encoding or UTF-8 reaches the client as it is);
- `reset`: resets every stream (RST_STREAM, PROTOCOL_ERROR) before answering;
- `details:N`: ends every call with NOT_FOUND and a `grpc-status-details-bin` of a
  google.rpc.Status whose message is N bytes long (headers past hyper's 16 KB default).
"""
import socket
import threading

import h2.config
import h2.connection
import h2.events


class SocketServer:
    """A loopback TCP server that serves each connection on a thread of its own with `_serve`,
    one way per `mode`; `stop` closes the socket and every connection."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.stopped = False
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def stop(self):
        self.stopped = True
        self.sock.close()
        for c in self.connections:
            try:
                c.close()
            except OSError:
                pass


class RawH2Server(SocketServer):
    def _serve(self, conn):
        h2conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding=None, validate_outbound_headers=False,
            normalize_outbound_headers=False))
        # Huffman coding in pure Python takes minutes for a header of megabytes.
        encode = h2conn.encoder.encode
        h2conn.encoder.encode = lambda headers, huffman=True: encode(headers, huffman=False)
        h2conn.initiate_connection()
        conn.sendall(h2conn.data_to_send())
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            try:
                events = h2conn.receive_data(data)
            except Exception:  # noqa: BLE001 - a test server: the client went away
                return
            for event in events:
                if isinstance(event, h2.events.RequestReceived):
                    self._answer(h2conn, event.stream_id)
            try:
                conn.sendall(h2conn.data_to_send())
            except OSError:  # the client gave up on what it was sent (a header over its limit)
                return

    def _answer(self, h2conn, stream):
        headers = [(b":status", b"200"), (b"content-type", b"application/grpc")]
        if self.mode == "silent":
            return
        if self.mode == "stall":
            h2conn.send_headers(stream, headers)
            h2conn.send_data(stream, b"\x00\x00\x00\x00\x00")
            return
        if self.mode == "reset":
            h2conn.reset_stream(stream, error_code=1)
            return
        if self.mode.startswith("details:"):
            import base64
            text = b"x" * int(self.mode.removeprefix("details:"))
            length, varint = len(text), b""
            while True:
                varint += bytes([(length & 0x7F) | (0x80 if length > 0x7F else 0)])
                length >>= 7
                if not length:
                    break
            status = b"\x08\x05\x12" + varint + text  # google.rpc.Status{code: 5, message}
            h2conn.send_headers(stream, headers + [
                (b"grpc-status", b"5"), (b"grpc-message", b"big"),
                (b"grpc-status-details-bin", base64.b64encode(status))], end_stream=True)
            return
        if self.mode.startswith("message:"):
            text = self.mode.removeprefix("message:").encode("latin-1")
            h2conn.send_headers(stream, headers + [(b"grpc-status", b"2"), (b"grpc-message", text)],
                                end_stream=True)
