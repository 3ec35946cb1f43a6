"""A grpcio server of any FileDescriptorSet, with grpcio-reflection (v1alpha, as grpcio ships
it) over Python protobuf's own descriptor pool: every unary method answers its request's bytes
when the request and response types are one, else an empty message, and says in the trailer
`request-hex` what bytes it received. `fail` names methods (`pkg.Svc/Method`) that fail instead,
with a google.rpc.Status carrying `google.rpc.BadRequest` and `google.rpc.ErrorInfo` details;
`answers` maps methods to the bytes they answer instead, and `streams` unary methods to the
messages they answer as if they streamed (none, or several: a broken server)."""
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


class SetServer:
    def __init__(self, set_path, fail=(), status_set=None, answers=None, streams=None,
                 fail_message="precondition failed"):
        self.fail_message = fail_message
        fds = descriptor_pb2.FileDescriptorSet.FromString(open(set_path, "rb").read())
        self.pool = descriptor_pool.DescriptorPool()
        for file in fds.file:
            self.pool.Add(file)
        status_pool = self.pool
        if status_set is not None:
            status_pool = descriptor_pool.DescriptorPool()
            for file in descriptor_pb2.FileDescriptorSet.FromString(open(status_set, "rb").read()).file:
                status_pool.Add(file)
        self.status_pool = status_pool
        self.answers = answers or {}
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        names = []
        for file in fds.file:
            for svc in file.service:
                full = f"{file.package}.{svc.name}" if file.package else svc.name
                names.append(full)
                streams = streams or {}
                handlers = {m.name: grpc.unary_unary_rpc_method_handler(
                    self._handler(f"{full}/{m.name}", m, fail)) for m in svc.method
                    if not m.client_streaming and not m.server_streaming}
                for m in svc.method:
                    answers_of = streams.get(f"{full}/{m.name}")
                    if answers_of is not None:
                        handlers[m.name] = grpc.unary_stream_rpc_method_handler(
                            lambda request, context, out=answers_of: iter(out))
                self.server.add_generic_rpc_handlers(
                    (grpc.method_handlers_generic_handler(full, handlers),))
        from grpc_reflection.v1alpha import reflection
        reflection.enable_server_reflection(names + [reflection.SERVICE_NAME], self.server,
                                            self.pool)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.addr = f"127.0.0.1:{self.port}"
        self.server.start()

    def message_class(self, name, pool=None):
        return message_factory.GetMessageClass((pool or self.pool).FindMessageTypeByName(name))

    def _details(self):
        cls = lambda n: self.message_class(n, self.status_pool)
        bad = cls("google.rpc.BadRequest")()
        violation = bad.field_violations.add()
        violation.field, violation.description = "name", "must not be empty"
        info = cls("google.rpc.ErrorInfo")(reason="EMPTY_NAME", domain="rpcsh.test")
        status = cls("google.rpc.Status")(code=9, message="precondition failed")
        status.details.add().Pack(bad)
        status.details.add().Pack(info)
        return status.SerializeToString()

    def _handler(self, path, method, fail):
        same = method.input_type == method.output_type

        def handle(request: bytes, context):
            context.set_trailing_metadata([("request-hex", request.hex())])
            if path in fail:
                trailers = [("request-hex", request.hex())]
                if self.status_pool is not self.pool:  # the status types are at hand
                    trailers.append(("grpc-status-details-bin", self._details()))
                context.set_trailing_metadata(trailers)
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, self.fail_message)
            if path in self.answers:
                return self.answers[path]
            return request if same else b""

        return handle

    def stop(self):
        self.server.stop(0)
