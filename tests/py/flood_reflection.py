"""A grpcio server whose reflection service (v1 and v1alpha) floods the client with schema, one
way per mode, for tests of rpcsh's schema budget (tests/py/test_hostile_schemas.py):

- `endless:SIZE`: service flood.Flood's file imports f1.proto, which imports f2.proto, and so on
  without end, each file padded to SIZE bytes;
- `tiny:COUNT`: the same chain, but every answer also carries COUNT tiny files of their own
  (millions of files in a few answers);
- `big:SIZE`: flood.Flood's file imports 20 files of SIZE bytes each;
- `one:SIZE`: flood.Flood's file alone, of SIZE bytes;
- `garbage:0`: every file asked for is answered with bytes that are no descriptor;
- `deep:N`: flood.Flood's file holds a message nested N levels deep (N > 100: past what
  protobuf decoders take);
- `elsewhere:0`: flood.Flood's file is answered with a file that defines something else.

The service itself answers nothing: these runs end before any call."""
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2


def _file(name, deps=(), pad=0, service=False):
    f = descriptor_pb2.FileDescriptorProto(name=name, package="flood", syntax="proto3")
    f.dependency.extend(deps)
    f.message_type.add(name="M" + name.split(".")[0].replace("-", "_"))
    if service:
        s = f.service.add(name="Flood")
        s.method.add(name="Get", input_type=".flood.Mf0", output_type=".flood.Mf0")
    if pad:
        # Comments are kept by reflection clients that show them: padding any server may send.
        f.source_code_info.location.add(path=[4, 0], span=[0, 0, 0],
                                        leading_comments="x" * pad)
    return f.SerializeToString()


def _field(number, payload):
    """A length-delimited field, encoded."""
    n, varint = len(payload), b""
    while True:
        varint += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            break
    return bytes([number << 3 | 2]) + varint + payload


def _deep(levels):
    """A top-level message (field 4 of a file) of messages nested `levels` deep, encoded by hand:
    Python's protobuf refuses to encode past its recursion limit."""
    inner = _field(1, b"N%d" % levels)
    for i in reversed(range(levels)):
        inner = _field(1, b"N%d" % i) + _field(3, inner)
    return _field(4, _field(1, b"Deep") + _field(3, inner))


class Flood:
    def __init__(self, mode):
        kind, _, number = mode.partition(":")
        self.kind, self.number = kind, int(number)
        self.asked = 0
        self.sent_bytes = 0

    def files(self, name):
        """The files answering a request for file `name` (or for the service's symbol)."""
        if self.kind == "garbage":
            return [b"\x0a\x05f0.pr\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01 garbage"]
        if self.kind == "elsewhere":
            return [_file("other.proto")]
        if self.kind == "deep":
            return [_file(name, service=True) + _deep(self.number)]
        if self.kind == "one":
            return [_file(name, pad=self.number, service=True)]
        if self.kind == "big":
            deps = [f"b{i}.proto" for i in range(20)]
            if name == "f0.proto":
                return [_file(name, deps, service=True)]
            return [_file(name, pad=self.number)]
        k = int(name[1:].split(".")[0])
        pad = self.number if self.kind == "endless" else 0
        out = [_file(name, [f"f{k + 1}.proto"], pad=pad, service=k == 0)]
        if self.kind == "tiny":
            out += [_file(f"t{k}-{i}.proto") for i in range(self.number)]
        return out

    def answer(self, request):
        self.asked += 1
        response = reflection_pb2.ServerReflectionResponse(original_request=request)
        which = request.WhichOneof("message_request")
        if which == "list_services":
            response.list_services_response.service.add(name="flood.Flood")
        elif which in ("file_containing_symbol", "file_by_filename"):
            name = request.file_by_filename if which == "file_by_filename" else "f0.proto"
            files = self.files(name)
            self.sent_bytes += sum(map(len, files))
            response.file_descriptor_response.file_descriptor_proto.extend(files)
        else:
            response.error_response.error_code = grpc.StatusCode.NOT_FOUND.value[0]
            response.error_response.error_message = "not here"
        return response

    def serve(self, requests, context):
        for request in requests:
            yield self.answer(request)


class FloodServer:
    def __init__(self, mode):
        self.flood = Flood(mode)
        handler = grpc.stream_stream_rpc_method_handler(
            self.flood.serve,
            request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
            response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString)
        services = [grpc.method_handlers_generic_handler(
            f"grpc.reflection.{v}.ServerReflection", {"ServerReflectionInfo": handler})
            for v in ("v1", "v1alpha")]
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=[
            ("grpc.max_send_message_length", 256 << 20)])
        self.server.add_generic_rpc_handlers(services)
        self.addr = "127.0.0.1:%d" % self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def stop(self):
        self.server.stop(None)


if __name__ == "__main__":
    import sys
    import time
    server = FloodServer(sys.argv[1])
    print(server.addr, flush=True)
    while True:
        time.sleep(60)
