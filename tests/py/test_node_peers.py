"""Node.js peers: rpcsh's list/describe/template/call/shell/scripts against a grpc-js server with
@grpc/reflection serving a schema across several files and packages (tests/node), and a grpc-js
client calling `rpcsh serve`'s five seed services in all four call styles. The packages are
installed by scripts/node-peers.sh into target/node-peers (NODE_PATH)."""
import json
import os
import pathlib
import subprocess
import urllib.parse

import pytest
from conftest import ROOT, RPCSH, rpcsh

NODE = ROOT / "tests" / "node"
LIBRARY = "acme.library.v2.Library"


def node_env():
    env = dict(os.environ)
    env.setdefault("NODE_PATH", str(ROOT / "target" / "node-peers" / "node_modules"))
    return env


@pytest.fixture
def start_library():
    """Starts grpc-js servers (flags of library_server.js); each call returns an address."""
    procs = []

    def start(*flags):
        proc = subprocess.Popen(["node", str(NODE / "library_server.js"), *flags],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=node_env())
        procs.append(proc)
        line = proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the grpc-js server did not start: {line!r} {proc.stderr.read()}")
        return line.removeprefix("listening on ").strip()

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.fixture
def library(start_library):
    return start_library()


def test_lists_both_packages(library):
    listed = rpcsh("list", "-a", library).stdout.split()
    assert "acme.library.v2.Library" in listed and "acme.archive.v1.Library" in listed
    methods = rpcsh("list", "-a", library, LIBRARY).stdout.split()
    assert f"{LIBRARY}.GetBook" in methods and f"{LIBRARY}.Chat" in methods


def test_describe_finds_types_of_files_grpc_js_does_not_import(library):
    out = rpcsh("describe", "-a", library, "acme.library.v2.Book").stdout
    for line in (".acme.types.v1.Author author = 3;", "map<string, int32> stock = 5;",
                 ".google.protobuf.Timestamp published = 8;", "oneof pricing {",
                 "repeated .acme.library.v2.Book.Review reviews = 12;"):
        assert line in out, out
    out = rpcsh("describe", "-a", library, "acme.types.v1.Genre").stdout
    assert "SCIENCE = 2;" in out


def test_describe_of_a_shared_short_name_is_ambiguous_as_in_call(library):
    for command in (["describe", "Library"], ["call", "Library/GetBook", "{}"],
                    ["template", "Library/GetBook"]):
        out = rpcsh(command[0], "-a", library, *command[1:], check=False)
        assert out.returncode == 1, out.stderr
        assert 'service name "Library" is ambiguous' in out.stderr, out.stderr
        assert "acme.archive.v1.Library" in out.stderr and LIBRARY in out.stderr


def test_template_spans_the_files(library):
    template = json.loads(rpcsh("template", "-a", library, f"{LIBRARY}/AddBooks").stdout)
    assert template["author"]["born"] == "1970-01-01T00:00:00Z"
    assert template["genre"] == "GENRE_UNSPECIFIED"
    assert template["price"] == {"currency": "", "units": "0", "nanos": 0}


def test_unary_call_every_field_kind(library):
    book = json.loads(rpcsh("call", "-a", library, f"{LIBRARY}/GetBook",
                            '{"isbn": "978-0"}').stdout)
    assert book == {
        "isbn": "978-0", "title": "Solaris", "tags": ["classic", "sea"],
        "author": {"name": "Stanisław Lem", "born": "1922-01-01T00:00:00Z"},
        "stock": {"berlin": 3, "kraków": 7},
        "price": {"currency": "EUR", "units": "12", "nanos": 500000000},
        "published": "1961-01-01T00:00:00Z", "genre": "FICTION", "cover": "AAEC/w==",
        "pages": "204", "reviews": [{"by": "ana", "stars": 5}],
    }
    other = json.loads(rpcsh("call", "-a", library, "acme.archive.v1.Library/Find",
                             '{"isbn": "978-1"}').stdout)
    assert other["free"] is True and other["genre"] == "SCIENCE"


def test_streams_every_style(library):
    listed = rpcsh("call", "-a", library, f"{LIBRARY}/ListBooks", '{"genre": "SCIENCE"}').stdout
    assert [json.loads(line)["title"] for line in listed.splitlines()] == ["Cosmos"]
    added = rpcsh("call", "-a", library, f"{LIBRARY}/AddBooks", "-",
                  stdin='{"title": "a"}\n{"title": "b", "published": "2020-01-01T00:00:00Z"}\n')
    assert json.loads(added.stdout) == {"added": 2, "titles": ["a", "b"]}
    chat = rpcsh("call", "-a", library, f"{LIBRARY}/Chat", "-",
                 stdin='{"text": "hi"}\n{"text": "there"}\n')
    assert [json.loads(line) for line in chat.stdout.splitlines()] == \
        [{"text": "echo: hi"}, {"text": "echo: there"}]


def test_failed_call_shows_trailers_with_v(library):
    out = rpcsh("call", "-v", "-a", library, f"{LIBRARY}/Fail", '{"reason": "closed"}',
                check=False)
    assert out.returncode == 64 + 9, out.stderr
    assert "ERROR: code = FailedPrecondition, message = refused: closed" in out.stderr
    trailers = out.stderr.split("Response trailers received:")[1]
    assert "x-reason: closed" in trailers and "x-reason-bin: yv4=" in trailers, out.stderr


def test_headers_reach_grpc_js_and_bin_values_show_as_base64(library):
    out = rpcsh("call", "-v", "-a", library, f"{LIBRARY}/EchoHeaders", "{}",
                "-H", "x-user: alice", "-H", "x-blob-bin: yv4=")
    assert json.loads(out.stdout) == {"headers": {"x-user": "alice", "x-blob-bin": "yv4="}}
    echoed = out.stderr.split("Response headers received:")[1]
    assert "x-user: alice" in echoed and "x-blob-bin: yv4=" in echoed, out.stderr


def test_non_ascii_header_is_refused_before_grpc_js_drops_it(library):
    out = rpcsh("call", "-a", library, f"{LIBRARY}/EchoHeaders", "{}",
                "-H", "x-user: alice é", check=False)
    assert out.returncode == 1
    assert out.stderr.count("rpcsh: error:") == 1
    assert "header x-user is not printable ASCII" in out.stderr and "x-user-bin" in out.stderr
    assert out.stdout == ""


def test_shell_and_script(library, tmp_path):
    session = (f"use {LIBRARY}\nGetBook {{\"isbn\": \"978-1\"}}\nAddBooks\n{{\"title\": \"x\"}}\n"
               ".end\nwatch ListBooks {}\nChat\n{\"text\": \"yo\"}\n.end\n")
    out = rpcsh("connect", library, stdin=session)
    lines = out.stdout.splitlines()
    assert json.loads(lines[0])["title"] == "Cosmos"
    assert json.loads(lines[1]) == {"added": 1, "titles": ["x"]}
    assert "[1] watching Library/ListBooks" in out.stderr  # notices: stderr when piped
    assert sum(line.startswith("[1] {") for line in lines) == 2, out.stdout
    assert '{"text":"echo: yo"}' in lines
    script = tmp_path / "library.rpcsh"
    script.write_text(f"connect {library}\nuse {LIBRARY}\n"
                      "GetBook {\"isbn\": \"978-0\"}\nexpect {\"author\": {\"name\": \"Stanisław Lem\"}}\n"
                      "Fail {\"reason\": \"x\"}\nexpect error FAILED_PRECONDITION \"refused\"\n")
    out = rpcsh("run", str(script))
    assert "2 passed, 0 failed" in out.stdout


def test_grpc_js_client_calls_rpcsh_serve_in_all_four_styles(serve):
    server = serve("--task-interval", "0")
    out = subprocess.run(["node", str(NODE / "seed_client.js"), server.addr], capture_output=True,
                         text=True, timeout=60, env=node_env())
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["greeter"] == "hello node"
    assert got["compute"] == "5"
    assert (got["add"], got["multiply"]) == (7, 12)
    assert got["feature"] == "Berkshire Valley Management Area Trail, Jefferson, NJ, USA"
    assert got["listed"] == 100
    # Two of the three points are features; counted from 0, not the seed's 1.
    assert got["summary"]["pointCount"] == 3 and got["summary"]["featureCount"] == 2
    assert got["chat"] == ["a", "a", "b"]
    assert got["status"] == ["服务端接收到消息:push from node"]
    assert got["task"] == "from node"
    assert got["told"] == {}


def test_tls_and_gzip_requests(start_library, pki):
    ca, cert, key = pki
    port = start_library("--tls", str(cert), str(key)).rsplit(":", 1)[1]
    url = f"https://localhost:{port}"
    out = rpcsh("call", "-v", "-a", url, "--cacert", str(ca), "--compress", "gzip",
                f"{LIBRARY}/AddBooks", "-", stdin='{"title": "gz"}')
    assert json.loads(out.stdout) == {"added": 1, "titles": ["gz"]}
    assert "(TLS)" in out.stderr and "Request compression: grpc-encoding: gzip" in out.stderr


def test_grpc_web_clients_call_rpcsh_serve_over_both_http_versions(serve):
    """A gRPC-Web client of Node's own http/http2 modules, and a browser's CORS preflight."""
    server = serve("--task-interval", "0")
    out = subprocess.run(["node", str(NODE / "grpc_web_client.js"), server.addr],
                         capture_output=True, text=True, timeout=60, env=node_env())
    assert out.returncode == 0, out.stderr
    check_grpc_web_answers(json.loads(out.stdout))


def check_grpc_web_answers(got):
    """What grpc_web_client.js saw, over both HTTP versions, as a gRPC-Web server answers."""
    for version in ("h1", "h2"):
        hello, failing = got[version]["hello"], got[version]["failing"]
        assert hello["contentType"] == "application/grpc-web+proto", hello
        assert hello["messages"] == ["hello web"] and hello["grpcStatus"] == "0", hello
        assert hello["allowOrigin"] == "http://example.test"
        assert "grpc-status" in hello["exposed"] and "grpc-message" in hello["exposed"], hello
        # grpc-message is percent-encoded, as the gRPC spec has it.
        assert failing["grpcStatus"] == "5", failing
        assert urllib.parse.unquote(failing["grpcMessage"]) == "no such thing", failing
    assert got["preflight"]["status"] == 200
    assert got["preflight"]["allowOrigin"] == "http://example.test"
    assert "x-grpc-web" in got["preflight"]["allowHeaders"]


def test_a_status_detail_that_is_not_base64_is_dropped_not_a_panic():
    """tonic 0.14's Status::from_header_map panics on it: rpcsh sanitizes responses first."""
    proc = subprocess.Popen(["node", str(NODE / "bad_status_server.js")], stdout=subprocess.PIPE,
                            text=True, env=node_env())
    try:
        addr = proc.stdout.readline().removeprefix("listening on ").strip()
        proto = ["--proto", str(ROOT / "proto" / "helloworld.proto")]
        for command in (["call", "-a", addr, *proto, "Greeter/SayHello", "{}"],
                        ["bench", "-a", addr, *proto, "Greeter/SayHello", "{}", "-n", "5"]):
            out = rpcsh(*command, check=False)
            assert "panicked" not in out.stderr, out.stderr
            assert out.returncode != 101
        failed = rpcsh("call", "-a", addr, *proto, "Greeter/SayHello", "{}", check=False)
        assert failed.returncode == 64 + 5
        assert failed.stderr.startswith("ERROR: code = NotFound, message = gone")
    finally:
        proc.kill()
        proc.wait()


def test_schema_tools_against_grpc_js(library, tmp_path):
    """Export, convert and drift-check a grpc-js server's schema: its reflection sends one file
    a package, with no imports; what rpcsh writes imports what each file uses."""
    from conftest import descriptor_set
    from test_reflection_peers import GRPCURL
    from test_schema_export import assert_same_files, comparable, compiled_tree
    pb, tree = tmp_path / "library.pb", tmp_path / "tree"
    rpcsh("describe", "-a", library, "--protoset-out", str(pb), "--proto-out", str(tree))
    exported = comparable(pb)
    assert "acme_types_v1.proto" in exported["acme_library_v2.proto"].dependency
    # The tree protoc compiles holds what the server was started from: grpc-js's descriptors
    # (relative type names, a map entry named as its field) become the source's again.
    protos = NODE / "protos"
    rebuilt = comparable(compiled_tree(tree, tmp_path / "rebuilt.pb"))
    original = comparable(descriptor_set(protos, ["acme/library/v2/library.proto",
                                                  "acme/archive/v1/archive.proto"],
                                         tmp_path / "original.pb"))
    for package in ("acme.library.v2", "acme.archive.v1", "acme.types.v1"):
        [ours] = [f for f in rebuilt.values() if f.package == package]
        [theirs] = [f for f in original.values() if f.package == package]
        for f in (ours, theirs):
            f.ClearField("name")
            f.ClearField("dependency")
            f.ClearField("options")
            # grpc-js orders nested types its own way: the order means nothing on the wire.
            for m in f.message_type:
                nested = sorted(m.nested_type, key=lambda n: n.name)
                del m.nested_type[:]
                m.nested_type.extend(nested)
        assert_same_files({package: theirs}, {package: ours}, [package])
    described = subprocess.run([GRPCURL, "-protoset", str(pb), "describe",
                                "acme.library.v2.Book"], capture_output=True, text=True,
                               check=True).stdout
    assert ".acme.types.v1.Author author = 3;" in described
    # encode with the server's schema, decode with the exported one.
    book = '{"isbn": "978-0", "author": {"name": "Lem"}, "stock": {"berlin": 3}}'
    binary = subprocess.run([RPCSH, "encode", "-a", library, "acme.library.v2.Book", book,
                             "--base64"], capture_output=True, text=True, check=True).stdout
    decoded = rpcsh("decode", "--protoset", str(pb), "acme.library.v2.Book", "--base64",
                    stdin=binary).stdout
    assert json.loads(decoded) == json.loads(book)
    # The server matches the files it was started from, and the files grpc-js's schema became.
    out = rpcsh("check", library, "-I", str(protos), "--proto",
                str(protos / "acme/library/v2/library.proto"), "--proto",
                str(protos / "acme/archive/v1/archive.proto"))
    assert "0 breaking" in out.stdout, out.stdout
    assert rpcsh("check", library, "--protoset", str(descriptor_set(
        tree, ["acme_library_v2.proto", "acme_archive_v1.proto"], tmp_path / "t.pb"))).returncode == 0
