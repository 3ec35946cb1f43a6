"""A Python grpcio server of interop.v1.Mirror (protos/interop.proto), with grpcio-reflection's
v1alpha service only — the reflection a grpcio server ships with — or none at all. Remembers the
last request it received so tests can check what actually reached it."""
from concurrent import futures

import grpc


class Mirror:
    def __init__(self, reflection=True):
        import hidden_pb2
        import interop_pb2
        import interop_pb2_grpc
        from google.protobuf import empty_pb2  # noqa: F401  (registers the type)

        self.received = []
        pb, hidden = interop_pb2, hidden_pb2
        outer = self

        class Servicer(interop_pb2_grpc.MirrorServicer):
            def Reflect(self, request, context):
                outer.received.append(request)
                return request

            def ReflectStream(self, request_iterator, context):
                for request in request_iterator:
                    outer.received.append(request)
                    yield request

            def Wait(self, request, context):
                outer.received.append(request)
                return request

            def Pack(self, request, context):
                reply = pb.Everything(text="packed")
                reply.extra.Pack(hidden.Hidden(secret="s3", tags=["a", "b"]))
                return reply

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        interop_pb2_grpc.add_MirrorServicer_to_server(Servicer(), self.server)
        if reflection:
            from grpc_reflection.v1alpha import reflection as refl
            names = (pb.DESCRIPTOR.services_by_name["Mirror"].full_name, refl.SERVICE_NAME)
            refl.enable_server_reflection(names, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.addr = f"127.0.0.1:{self.port}"
        self.server.start()

    def stop(self):
        self.server.stop(0)
