"""An HTTP/1.1 server on plain sockets that answers every POST as a broken Connect or gRPC-Web
server would, one way per mode, for tests of what rpcsh does with one:

- `web:N`: a gRPC-Web answer of N messages (each the bytes `\\x0a\\x01a`) and an OK trailer;
- `web-stall`: gRPC-Web headers and one message, then nothing, the connection left open;
- `connect-stall`: a Connect unary answer whose headers promise 10 bytes, none of which come;
- `connect-error:TEXT`: a Connect error (HTTP 400) whose message is TEXT, sent as it is.
"""
import json

from raw_h2_server import SocketServer


def _frame(flags, payload):
    return bytes([flags]) + len(payload).to_bytes(4, "big") + payload


class RawWebServer(SocketServer):
    def _serve(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return
            body += chunk
        try:
            conn.sendall(self._answer())
        except OSError:
            pass
        # Left open: the stalling modes stall, the others let the client close.

    def _answer(self):
        def response(status, content_type, body, length=None):
            return (f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n"
                    f"content-length: {len(body) if length is None else length}\r\n\r\n"
                    ).encode() + body
        mode, _, arg = self.mode.partition(":")
        if mode == "web":
            body = b"".join(_frame(0, b"\x0a\x01a") for _ in range(int(arg)))
            body += _frame(0x80, b"grpc-status: 0\r\n")
            return response("200 OK", "application/grpc-web+proto", body)
        if mode == "web-stall":
            # Chunked, so that the client reads the message and waits for the rest.
            message = _frame(0, b"\x0a\x01a")
            return (b"HTTP/1.1 200 OK\r\ncontent-type: application/grpc-web+proto\r\n"
                    b"transfer-encoding: chunked\r\n\r\n"
                    + b"%x\r\n" % len(message) + message + b"\r\n")
        if mode == "connect-stall":
            return response("200 OK", "application/proto", b"", length=10)
        if mode == "connect-error":
            body = json.dumps({"code": "failed_precondition", "message": arg}).encode()
            return response("400 Bad Request", "application/json", body)
        raise ValueError(self.mode)
