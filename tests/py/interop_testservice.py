"""grpc.testing.TestService on grpcio, written to the server side of the gRPC interop test
descriptions (grpc/grpc doc/interop-test-descriptions.md), with reflection. rpcsh is driven
through the cases against it in test_interop_cases.py.

    server = TestServer(compression=None)   # or grpc.Compression.Gzip: compress every response
    server = TestServer(tls=(cert_pem, key_pem))   # TLS on the same port kind
    server.addr; server.stop()
    server.seen   # (method path, {header: value}) of every call it received, reflection's too
"""
import pathlib
import time
from concurrent import futures

import grpc

ECHO_INITIAL = "x-grpc-test-echo-initial"
ECHO_TRAILING = "x-grpc-test-echo-trailing-bin"


def _echo_metadata(context):
    """custom_metadata: the two echo headers come back, as initial and trailing metadata."""
    received = dict(context.invocation_metadata())
    if ECHO_INITIAL in received:
        context.send_initial_metadata(((ECHO_INITIAL, received[ECHO_INITIAL]),))
    if ECHO_TRAILING in received:
        context.set_trailing_metadata(((ECHO_TRAILING, received[ECHO_TRAILING]),))


def _fail_if_asked(request, context):
    status = request.response_status
    if status.code:
        context.abort(grpc.StatusCode(_code(status.code)), status.message)


class _Seen(grpc.ServerInterceptor):
    """Keeps the path and request headers of every call, before any handler runs."""

    def __init__(self):
        self.seen = []

    def intercept_service(self, continuation, details):
        self.seen.append((details.method, dict(details.invocation_metadata)))
        return continuation(details)


def _code(number):
    return next(c for c in grpc.StatusCode if c.value[0] == number).value


class TestServer:
    def __init__(self, compression=None, tls=None):
        import grpc_testing_pb2 as pb
        import grpc_testing_pb2_grpc as pb_grpc
        from grpc_reflection.v1alpha import reflection

        class Servicer(pb_grpc.TestServiceServicer):
            def EmptyCall(self, request, context):
                _echo_metadata(context)
                return pb.Empty()

            def UnaryCall(self, request, context):
                _echo_metadata(context)
                status = request.response_status
                if status.code:
                    # As grpcio's own interop server does: the status is set and a response
                    # still returned, so a message goes out before the non-OK status.
                    context.set_code(grpc.StatusCode(_code(status.code)))
                    context.set_details(status.message)
                if request.response_compressed.value:
                    context.set_compression(grpc.Compression.Gzip)
                payload = pb.Payload(body=b"\0" * request.response_size)
                return pb.SimpleResponse(payload=payload)

            def StreamingOutputCall(self, request, context):
                _echo_metadata(context)
                for p in request.response_parameters:
                    if p.interval_us:
                        time.sleep(p.interval_us / 1e6)
                    yield pb.StreamingOutputCallResponse(payload=pb.Payload(body=b"\0" * p.size))
                _fail_if_asked(request, context)

            def StreamingInputCall(self, request_iterator, context):
                _echo_metadata(context)
                total = sum(len(r.payload.body) for r in request_iterator)
                return pb.StreamingInputCallResponse(aggregated_payload_size=total)

            def FullDuplexCall(self, request_iterator, context):
                _echo_metadata(context)
                for request in request_iterator:
                    _fail_if_asked(request, context)
                    for p in request.response_parameters:
                        if p.interval_us:
                            time.sleep(p.interval_us / 1e6)
                        yield pb.StreamingOutputCallResponse(
                            payload=pb.Payload(body=b"\0" * p.size))

            def HalfDuplexCall(self, request_iterator, context):
                requests = list(request_iterator)
                for request in requests:
                    for p in request.response_parameters:
                        yield pb.StreamingOutputCallResponse(
                            payload=pb.Payload(body=b"\0" * p.size))

        spy = _Seen()
        self.seen = spy.seen
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=8), compression=compression,
            interceptors=[spy])
        pb_grpc.add_TestServiceServicer_to_server(Servicer(), self.server)
        names = (pb.DESCRIPTOR.services_by_name["TestService"].full_name, reflection.SERVICE_NAME)
        reflection.enable_server_reflection(names, self.server)
        if tls:
            cert, key = (pathlib.Path(p).read_bytes() for p in tls)
            credentials = grpc.ssl_server_credentials([(key, cert)])
            self.port = self.server.add_secure_port("127.0.0.1:0", credentials)
        else:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.addr = f"127.0.0.1:{self.port}"
        self.server.start()

    def stop(self):
        self.server.stop(0)
