"""A grpcio server with reflection over a synthetic schema: SERVICES services over FILES files
(`big.pN` packages), each file importing up to 3 earlier ones and google.protobuf.Timestamp,
MESSAGES messages a file of FIELDS fields (200 files of 20 x 12: about 4 MB), 5 methods a service. Every method answers an empty
message. The last file's imports reach nearly every other file, so a call to one of its services
pulls most of the schema's descriptors.

    python bench/schema_server.py SERVICES FILES [MESSAGES=20] [FIELDS=12]
Prints `listening on ADDR`, then the heaviest method (`method pkg.Svc/Method`) and one of its
messages (`message pkg.Msg`), then the size of all descriptors in bytes (`descriptors N`)."""
import pathlib
import sys
import tempfile
from concurrent import futures

import grpc


def generate(folder, services, files, messages, fields):
    per_file = max(1, services // files)
    made = 0
    for f in range(files):
        imports = sorted({f - d for d in (1, 2, 7) if f - d >= 0})
        lines = ['syntax = "proto3";', f"package big.p{f};",
                 'import "google/protobuf/timestamp.proto";']
        lines += [f'import "f{i}.proto";' for i in imports]
        for m in range(messages):
            lines.append(f"message Msg{m} {{")
            for k in range(fields):
                if k < len(imports):
                    kind = f"big.p{imports[k]}.Msg{m}"
                elif k == 1:
                    kind = "google.protobuf.Timestamp"
                elif k % 3 == 0 and m > 0:
                    kind = f"Msg{m - 1}"
                else:
                    kind = ("string", "int64", "bool", "double")[k % 4]
                lines.append(f"  {kind} field_number_{k}_with_a_longish_name = {k + 1};")
            lines.append("}")
        count = per_file if f < files - 1 else services - made
        for s in range(count):
            lines.append(f"service Svc{made} {{")
            for r in range(5):
                lines.append(f"  rpc Call{r}(Msg{r}) returns (Msg{r + 1});")
            lines.append("}")
            made += 1
        (folder / f"f{f}.proto").write_text("\n".join(lines) + "\n")
    return made


def serve(folder, names):
    """Compiles `names` in `folder` and serves their services (each method answering an empty
    message) with reflection: the server, its port and the descriptor set's path."""
    import grpc_tools
    from google.protobuf import descriptor_pb2, descriptor_pool
    from grpc_reflection.v1alpha import reflection
    from grpc_tools import protoc

    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    out = folder / "set.pb"
    import os
    saved = os.dup(2)  # protoc's warnings would drown the output
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    try:
        failed = protoc.main(["protoc", f"-I{folder}", f"-I{well_known}", "--include_imports",
                              f"--descriptor_set_out={out}", *names])
    finally:
        os.dup2(saved, 2)
    if failed:
        sys.exit("protoc failed")
    fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file in fds.file:
        pool.Add(file)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         options=[("grpc.max_send_message_length", 64 << 20)])
    service_names = []
    for file in fds.file:
        for svc in file.service:
            full = f"{file.package}.{svc.name}"
            service_names.append(full)
            handlers = {m.name: grpc.unary_unary_rpc_method_handler(
                lambda request, context: b"", request_deserializer=None,
                response_serializer=None) for m in svc.method}
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(full, handlers),))
    reflection.enable_server_reflection(service_names + [reflection.SERVICE_NAME], server, pool)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port, fds, out


def main():
    services, files = int(sys.argv[1]), int(sys.argv[2])
    messages = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    fields = int(sys.argv[4]) if len(sys.argv) > 4 else 12
    folder = pathlib.Path(tempfile.mkdtemp())
    generate(folder, services, files, messages, fields)
    server, port, fds, out = serve(folder, [f"f{f}.proto" for f in range(files)])
    last = fds.file[-1]
    print(f"listening on 127.0.0.1:{port}")
    print(f"method {last.package}.{last.service[-1].name}/Call0")
    print(f"message {last.package}.Msg{messages - 1}")
    print(f"descriptors {len(out.read_bytes())}", flush=True)
    server.wait_for_termination()

if __name__ == "__main__":
    main()
