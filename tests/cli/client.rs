//! The client commands against `rpcsh serve`: every call style, data source, schema source,
//! TLS and mTLS, headers, -v, error details and exit codes.
use super::*;
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{json, Value};

fn rpcsh(server: &Server) -> Command {
    let mut cmd = Command::from_std(binary());
    cmd.env("RPCSH_ADDR", &server.addr).env_remove("NO_COLOR");
    cmd
}

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn unary_call_prints_the_response_as_json() {
    let server = quiet();
    let out = rpcsh(&server)
        .args([
            "call",
            "RouteGuide/GetFeature",
            r#"{"latitude": 409146138, "longitude": -746188906}"#,
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        json_lines(&out),
        [
            json!({"name": "Berkshire Valley Management Area Trail, Jefferson, NJ, USA",
                "location": {"latitude": 409146138, "longitude": -746188906}})
        ]
    );
    // Every spelling of the method, short service names included.
    for method in [
        "RouteGuide.GetFeature",
        "/RouteGuide/GetFeature",
        "routeguide/getfeature",
    ] {
        rpcsh(&server)
            .args(["call", method, "{}"])
            .assert()
            .success()
            .stdout("{\"location\":{}}\n");
    }
    rpcsh(&server)
        .args(["call", "Compute/SayHello", r#"{"helloworld": "你好"}"#])
        .assert()
        .success()
        .stdout("{\"result\":\"2\"}\n");
    rpcsh(&server)
        .args(["call", "Testing.Echo", r#"{"payload": "aGk="}"#])
        .assert()
        .success()
        .stdout("{\"payload\":\"aGk=\"}\n");
}

#[test]
fn no_data_sends_one_empty_message() {
    let server = quiet();
    rpcsh(&server)
        .args(["call", "Greeter/SayHello"])
        .assert()
        .success()
        .stdout("{\"message\":\"hello \"}\n");
    // and none to a client stream: the summary of an empty route.
    rpcsh(&server)
        .args(["call", "RouteGuide/RecordRoute"])
        .assert()
        .success()
        .stdout("{}\n");
}

#[test]
fn server_stream_prints_every_message() {
    let server = quiet();
    let out = rpcsh(&server)
        .args(["call", "Testing/Generate", r#"{"count": 250, "size": 3}"#])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let messages = json_lines(&out);
    assert_eq!(messages.len(), 250);
    assert_eq!(messages[0], json!({"payload": "eHh4"}));
    assert_eq!(messages[249], json!({"seq": "249", "payload": "eHh4"}));
}

#[test]
fn client_stream_from_inline_file_and_stdin() {
    let server = quiet();
    let route = r#"{"latitude": 409146138, "longitude": -746188906}
{"latitude": 0, "longitude": 0}{"latitude": 10000000}"#;
    let expected_distance = {
        let p = |latitude, longitude| pb::Point {
            latitude,
            longitude,
        };
        let d = rpcsh::serve::demo::route_guide::distance;
        (d(&p(409146138, -746188906), &p(0, 0)) + d(&p(0, 0), &p(10000000, 0))) as i64
    };
    let expected = json!({"pointCount": 3, "featureCount": 1, "distance": expected_distance});
    let inline = rpcsh(&server)
        .args(["call", "RouteGuide/RecordRoute", route])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(json_lines(&inline), vec![expected.clone()]);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("route.json");
    std::fs::write(&file, route).unwrap();
    let from_file = rpcsh(&server)
        .args([
            "call",
            "RouteGuide/RecordRoute",
            &format!("@{}", file.display()),
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(json_lines(&from_file), vec![expected.clone()]);

    for dash in ["-", "@-"] {
        let piped = rpcsh(&server)
            .args(["call", "RouteGuide/RecordRoute", dash])
            .write_stdin(route)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert_eq!(json_lines(&piped), vec![expected.clone()]);
    }
}

#[test]
fn bidi_from_stdin_sends_each_message_as_soon_as_it_is_read() {
    let server = quiet();
    // Write one note, wait for the answer it causes, then write the next: only possible if
    // rpcsh sends each message as it reads it and prints each response as it arrives.
    let mut child = binary()
        .args(["call", "--addr", &server.addr, "RouteGuide/RouteChat", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    use std::io::Write;
    writeln!(
        stdin,
        r#"{{"location": {{"latitude": 7}}, "message": "first"}}"#
    )
    .unwrap();
    writeln!(
        stdin,
        r#"{{"location": {{"latitude": 7}}, "message": "second"}}"#
    )
    .unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(
        line,
        "{\"location\":{\"latitude\":7},\"message\":\"first\"}\n"
    );
    writeln!(
        stdin,
        r#"{{"location": {{"latitude": 7}}, "message": "third"}}"#
    )
    .unwrap();
    let mut two = String::new();
    stdout.read_line(&mut two).unwrap();
    stdout.read_line(&mut two).unwrap();
    assert_eq!(two, "{\"location\":{\"latitude\":7},\"message\":\"first\"}\n{\"location\":{\"latitude\":7},\"message\":\"second\"}\n");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn output_formats_and_field_names() {
    let server = quiet();
    let route = r#"{"latitude": 1}"#;
    rpcsh(&server)
        .args([
            "call",
            "RouteGuide/RecordRoute",
            route,
            "--emit-defaults",
            "--proto-names",
        ])
        .assert()
        .success()
        .stdout("{\"point_count\":1,\"feature_count\":0,\"distance\":0,\"elapsed_time\":0}\n");
    rpcsh(&server)
        .args(["call", "RouteGuide/RecordRoute", route, "--format", "json"])
        .assert()
        .success()
        .stdout("{\n  \"pointCount\": 1\n}\n");
    rpcsh(&server)
        .args([
            "call",
            "RouteGuide/GetFeature",
            r#"{"latitude": 1, "longitude": 2}"#,
            "-f",
            "text",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("location {").and(predicate::str::contains("latitude: 1")),
        );
}

#[test]
fn failed_call_prints_status_and_details_and_exits_64_plus_code() {
    let server = quiet();
    rpcsh(&server)
        .args(["call", "Testing/Echo", r#"{"code": 5, "message": "no such thing"}"#])
        .assert()
        .code(64 + 5)
        .stdout("")
        .stderr(
            predicate::str::starts_with("ERROR: code = NotFound, message = no such thing\n")
                .and(predicate::str::contains(r#"details: {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"REQUESTED","domain":"rpcsh.testing.v1","metadata":{"requested_code":"5"}}"#)),
        );
    rpcsh(&server)
        .args([
            "call",
            "Cal/Multiply",
            r#"{"number1": 65536, "number2": 65536}"#,
        ])
        .assert()
        .code(64 + 11)
        .stderr(predicate::str::contains("code = OutOfRange"));
    rpcsh(&server)
        .args([
            "call",
            "Testing/Echo",
            r#"{"delay": "5s"}"#,
            "--timeout",
            "100ms",
        ])
        .assert()
        .code(64 + 4)
        .stderr(predicate::str::contains("code = DeadlineExceeded"));
}

#[test]
fn server_down_is_a_clear_error() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    Command::from_std(binary())
        .args(["call", "--addr", &free, "Greeter/SayHello"])
        .assert()
        .code(1)
        .stderr(format!("rpcsh: error: cannot connect to {free}: Connection refused (os error 111)\n  hint: is the server running, and is the port right?\n"));
    Command::from_std(binary()).args(["call"]).assert().code(2);
}

#[test]
fn headers_reach_the_server_and_v_shows_them_redacted() {
    let server = quiet();
    let out = rpcsh(&server)
        .args([
            "-v",
            "call",
            "Testing/Echo",
            "{}",
            "-H",
            "x-trace: abc",
            "-H",
            "x-api-key: s3cret",
            "-H",
            "x-blob-bin: AAEC",
        ])
        .args(["-H", "authorization: Bearer t0ken"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let echoed = stderr.split("Response headers received:").nth(1).unwrap();
    assert!(echoed.contains("x-trace: abc"), "{stderr}");
    // -bin values as on the wire: base64 (0x00 0x01 0x02).
    assert!(echoed.contains("x-blob-bin: AAEC"), "{stderr}");
    assert!(echoed.contains("x-api-key: <redacted"), "{stderr}");
    assert!(
        !stderr.contains("s3cret") && !stderr.contains("t0ken"),
        "{stderr}"
    );
    for needle in [
        "Connected to",
        "Schema from server reflection v1 in",
        "Method: /rpcsh.testing.v1.Testing/Echo",
        "Response trailers received:",
        "grpc-status: 0",
        "Received 1 response(s); connect",
    ] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
    let shown = rpcsh(&server)
        .args([
            "-v",
            "call",
            "Testing/Echo",
            "{}",
            "-H",
            "x-api-key: s3cret",
            "--show-secrets",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&shown.stderr).contains("x-api-key: s3cret"));
}

#[test]
fn list_describe_template_health() {
    let server = quiet();
    let services = rpcsh(&server)
        .arg("list")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let services = String::from_utf8(services).unwrap();
    for s in [
        "Cal",
        "Contact",
        "Greeter",
        "RouteGuide",
        "compute.Compute",
        "rpcsh.testing.v1.Testing",
        "grpc.health.v1.Health",
    ] {
        assert!(services.lines().any(|l| l == s), "{s}: {services}");
    }
    rpcsh(&server)
        .args(["ls", "Contact"])
        .assert()
        .success()
        .stdout("Contact.sendStatus\nContact.getTask\nContact.tellResult\n");
    rpcsh(&server)
        .args(["describe", "RouteGuide"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "rpc RouteChat(stream .RouteNote) returns (stream .RouteNote);",
        ));
    rpcsh(&server)
        .args(["desc", "Testing/Generate"])
        .assert()
        .success()
        // The demo's descriptors carry their comments (source info): describe shows them.
        .stdout("rpcsh.testing.v1.Testing.Generate is a method:\n// Streams `count` blobs of `size` bytes, `interval` apart (0: as fast as possible).\nrpc Generate(.rpcsh.testing.v1.GenerateRequest) returns (stream .rpcsh.testing.v1.Blob);\n");
    rpcsh(&server)
        .args(["describe", "rpcsh.testing.v1.EchoRequest"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "  .google.protobuf.Duration delay = 2;",
        ));
    let json = rpcsh(&server)
        .args(["describe", "Point", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["name"], "Point");
    assert_eq!(json["field"][1]["name"], "longitude");

    let template = rpcsh(&server)
        .args(["template", "Testing/Echo"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let template: Value = serde_json::from_slice(&template).unwrap();
    assert_eq!(
        template,
        json!({"payload": "", "delay": "0s", "code": 0, "message": ""})
    );
    // The template is valid input as it stands.
    rpcsh(&server)
        .args(["call", "Testing/Echo", &template.to_string()])
        .assert()
        .success();
    let rect = rpcsh(&server)
        .args(["template", "Rectangle"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        serde_json::from_slice::<Value>(&rect).unwrap(),
        json!({"lo": {"latitude": 0, "longitude": 0}, "hi": {"latitude": 0, "longitude": 0}})
    );

    rpcsh(&server)
        .arg("health")
        .assert()
        .success()
        .stdout("SERVING\n");
    rpcsh(&server)
        .args(["health", "RouteGuide"])
        .assert()
        .success()
        .stdout("SERVING\n");
    rpcsh(&server)
        .args(["health", "Nope"])
        .assert()
        .code(64 + 5)
        .stderr(predicate::str::contains("code = NotFound"));
}

#[test]
fn schema_from_proto_files_and_protosets() {
    let server = quiet();
    let root = env!("CARGO_MANIFEST_DIR");
    rpcsh(&server)
        .args([
            "call",
            "--proto",
            &format!("{root}/proto/routeguide.proto"),
            "RouteGuide/GetFeature",
            r#"{"latitude": 1}"#,
        ])
        .assert()
        .success()
        .stdout("{\"location\":{\"latitude\":1}}\n");
    rpcsh(&server)
        .args([
            "list",
            "--proto",
            "testing.proto",
            "-I",
            &format!("{root}/proto"),
        ])
        .assert()
        .success()
        .stdout("rpcsh.testing.v1.Testing\n");
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("demo.protoset");
    std::fs::write(&set, pb::FILE_DESCRIPTOR_SET).unwrap();
    rpcsh(&server)
        .args([
            "call",
            "--protoset",
            set.to_str().unwrap(),
            "Cal/Add",
            r#"{"number1": 2, "number2": 3}"#,
        ])
        .assert()
        .success()
        .stdout("{\"number\":5}\n");
    let bad = dir.path().join("bad.proto");
    std::fs::write(
        &bad,
        "syntax = \"proto3\";\nmessage X {\n  int32 a = ;\n}\n",
    )
    .unwrap();
    rpcsh(&server)
        .args(["list", "--proto", bad.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(
            predicate::str::starts_with("rpcsh: error: cannot compile")
                .and(predicate::str::contains("bad.proto:3:")),
        );
}

#[test]
fn unix_socket_address() {
    let dir = tempfile::tempdir().unwrap();
    let sock = format!("unix:{}", dir.path().join("s.sock").display());
    let server = Server::start(&["--listen", &sock]);
    assert_eq!(server.addr, sock);
    rpcsh(&server)
        .args(["call", "Greeter/SayHello", r#"{"name": "sock"}"#])
        .assert()
        .success()
        .stdout("{\"message\":\"hello sock\"}\n");
}

pub(crate) struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// A CA, a server certificate for localhost and a client certificate, all signed by the CA.
    pub(crate) fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
        write("ca.pem", ca_cert.pem());
        for (name, sans) in [
            ("server", vec!["localhost".to_string()]),
            ("client", vec!["client".to_string()]),
        ] {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(sans)
                .unwrap()
                .signed_by(&key, &issuer)
                .unwrap();
            write(&format!("{name}.pem"), cert.pem());
            write(&format!("{name}.key"), key.serialize_pem());
        }
        Pki { dir }
    }

    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// `rpcsh serve` with TLS on a free loopback port, with this CA's server certificate.
    pub(crate) fn server(&self, extra: &[&str]) -> Server {
        let (cert, key) = (self.path("server.pem"), self.path("server.key"));
        let tls = [
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ];
        Server::start(&[&tls[..], extra].concat())
    }
}

#[test]
fn tls_and_mutual_tls() {
    let pki = Pki::new();
    let server = pki.server(&[]);
    let port = server.addr.rsplit(':').next().unwrap().to_string();
    let localhost = format!("localhost:{port}");
    Command::from_std(binary())
        .args([
            "call",
            "--addr",
            &format!("https://{localhost}"),
            "--cacert",
            &pki.path("ca.pem"),
            "Greeter/SayHello",
            r#"{"name": "tls"}"#,
        ])
        .assert()
        .success()
        .stdout("{\"message\":\"hello tls\"}\n");
    // --tls on a loopback address; the certificate names localhost, not 127.0.0.1.
    Command::from_std(binary())
        .args([
            "call",
            "--addr",
            &server.addr,
            "--tls",
            "--cacert",
            &pki.path("ca.pem"),
            "--authority",
            &localhost,
            "Greeter/SayHello",
        ])
        .assert()
        .success();
    // Plaintext against TLS, and TLS without the CA: clear errors.
    Command::from_std(binary())
        .args(["call", "--addr", &localhost, "Greeter/SayHello"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("rpcsh: error:"));
    Command::from_std(binary())
        .args([
            "call",
            "--addr",
            &format!("https://{localhost}"),
            "Greeter/SayHello",
        ])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("cannot connect").and(predicate::str::contains(
                "hint: pass the server's CA with --cacert",
            )),
        );

    // --insecure: TLS without verifying the server, and a warning that says so.
    Command::from_std(binary())
        .args([
            "call",
            "--addr",
            &server.addr,
            "--tls",
            "--insecure",
            "Greeter/SayHello",
            r#"{"name": "k"}"#,
        ])
        .assert()
        .success()
        .stdout("{\"message\":\"hello k\"}\n")
        .stderr("rpcsh: warning: --insecure: the server's certificate is not verified\n");

    let mtls = pki.server(&["--tls-client-ca", &pki.path("ca.pem")]);
    let addr = format!(
        "https://localhost:{}",
        mtls.addr.rsplit(':').next().unwrap()
    );
    Command::from_std(binary())
        .args([
            "call",
            "--addr",
            &addr,
            "--cacert",
            &pki.path("ca.pem"),
            "--cert",
            &pki.path("client.pem"),
            "--key",
            &pki.path("client.key"),
        ])
        .args(["Greeter/SayHello", r#"{"name": "mtls"}"#])
        .assert()
        .success()
        .stdout("{\"message\":\"hello mtls\"}\n");
    Command::from_std(binary())
        .args([
            "call",
            "--addr",
            &addr,
            "-k",
            "--cert",
            &pki.path("client.pem"),
            "--key",
            &pki.path("client.key"),
            "Greeter/SayHello",
        ])
        .assert()
        .success();
    let without = Command::from_std(binary())
        .args([
            "call",
            "--addr",
            &addr,
            "--cacert",
            &pki.path("ca.pem"),
            "Greeter/SayHello",
        ])
        .output()
        .unwrap();
    assert_ne!(
        without.status.code(),
        Some(0),
        "a client without a certificate is refused"
    );
    assert!(
        String::from_utf8_lossy(&without.stderr).contains("rpcsh: error:")
            || String::from_utf8_lossy(&without.stderr).contains("ERROR: code")
    );
}

#[test]
fn plaintext_against_a_tls_server_hints_tls() {
    let pki = Pki::new();
    let server = pki.server(&[]);
    for extra in [
        &[][..],
        &[
            "--proto",
            concat!(env!("CARGO_MANIFEST_DIR"), "/proto/helloworld.proto"),
        ][..],
    ] {
        Command::from_std(binary())
            .args(["call", "--addr", &server.addr, "Greeter/SayHello"])
            .args(extra)
            .assert()
            .code(1)
            .stderr(
                predicate::str::starts_with("rpcsh: error:").and(
                    predicate::str::contains("hint: a server that expects TLS")
                        .and(predicate::str::contains("try --tls")),
                ),
            );
    }
}

#[test]
fn server_killed_mid_stream_is_a_clear_error() {
    let mut server = quiet();
    let mut call = binary()
        .args([
            "call",
            "--addr",
            &server.addr,
            "Testing/Generate",
            r#"{"count": 100000, "interval": "0.005s"}"#,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(call.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.contains("payload") || line.starts_with('{'), "{line}");
    server.child.kill().unwrap();
    let output = call.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // A lost connection is UNAVAILABLE, as gRPC says it, the messages before it kept.
    assert_eq!(output.status.code(), Some(64 + 14), "{stderr}");
    assert!(
        stderr.starts_with("ERROR: code = Unavailable, message = the connection was lost: "),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hint:"),
        "messages arrived: not a TLS mix-up: {stderr}"
    );
}

#[test]
fn compression_both_ways() {
    // serve --compress gzips responses; rpcsh reads them and -v shows the encoding.
    let server = Server::start(&["--listen", "127.0.0.1:0", "--compress", "gzip"]);
    let out = Command::from_std(binary())
        .args(["call", "-v", "--addr", &server.addr, "Cal/Add"])
        .arg(r#"{"number1": 1, "number2": 2}"#)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{\"number\":3}\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let headers = stderr.split("Response headers received:").nth(1).unwrap();
    assert!(headers.contains("grpc-encoding: gzip"), "{stderr}");
    // Requests in each encoding reach it.
    for encoding in ["gzip", "zstd", "deflate"] {
        Command::from_std(binary())
            .args([
                "call",
                "--compress",
                encoding,
                "--addr",
                &server.addr,
                "Cal/Add",
            ])
            .arg(r#"{"number1": 2, "number2": 2}"#)
            .assert()
            .success()
            .stdout("{\"number\":4}\n");
    }
    // A server that reads no compressed request refuses ours: they really are compressed, from
    // call, the shell's `set compress` and bench alike.
    let plain = InProcess::start(tonic::transport::Server::builder().add_service(
        pb::greeter_server::GreeterServer::new(rpcsh::serve::demo::greeter::Greeter),
    ));
    let proto = concat!(env!("CARGO_MANIFEST_DIR"), "/proto/helloworld.proto");
    let addr = ["--addr", plain.addr.as_str(), "--proto", proto];
    Command::from_std(binary())
        .args(["call", "--compress", "gzip"])
        .args(addr)
        .args(["Greeter/SayHello", "{}"])
        .assert()
        .code(64 + 12)
        .stderr(predicate::str::contains("compressed with `gzip`"));
    let out = Command::from_std(binary())
        .args(["connect"])
        .args(addr)
        .write_stdin("set compress zstd\nGreeter/SayHello {}\nset compress off\nGreeter/SayHello {\"name\": \"x\"}\nset compress lz4\n")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"message\":\"hello x\"}\n"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("compressed with `zstd`"), "{stderr}");
    assert!(stderr.contains("unknown compression \"lz4\""), "{stderr}");
    let out = Command::from_std(binary())
        .args([
            "bench",
            "--compress",
            "deflate",
            "--output",
            "json",
            "-n",
            "20",
        ])
        .args(addr)
        .args(["Greeter/SayHello", "{}"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["statuses"]["Unimplemented"], 20, "{report}");
}

#[test]
fn short_names_are_remembered_and_a_stale_memory_does_no_harm() {
    let server = quiet();
    let cache = tempfile::tempdir().unwrap();
    let call = || {
        Command::from_std(binary())
            .env("RPCSH_CACHE_DIR", cache.path())
            .args(["call", "--addr", &server.addr, "Compute/SayHello"])
            .arg(r#"{"helloworld": "abc"}"#)
            .assert()
            .success()
            .stdout("{\"result\":\"3\"}\n");
    };
    call();
    let file = cache
        .path()
        .join("services")
        .join(server.addr.replace(':', "_"));
    let kept = std::fs::read_to_string(&file).unwrap();
    assert!(kept.lines().any(|l| l == "compute.Compute"), "{kept}");
    // A memory from another server that had `Compute` in another package: the listing corrects it.
    std::fs::write(&file, "old.Compute\nGreeter").unwrap();
    call();
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("compute.Compute"));
}

#[test]
fn a_name_many_services_share_lists_a_few_and_suggests_names_that_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["template".to_string()];
    for p in 0..8 {
        let file = dir.path().join(format!("p{p}.proto"));
        std::fs::write(
            &file,
            format!("syntax = \"proto3\";\npackage p{p};\nmessage M {{}}\nservice Svc {{ rpc GetThing(M) returns (M); }}\n"),
        )
        .unwrap();
        args.extend(["--proto".to_string(), file.display().to_string()]);
    }
    let out = Command::from_std(binary())
        .args(&args)
        .arg("Svc/GetThing")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is ambiguous: 8 services have it"),
        "{stderr}"
    );
    assert!(
        stderr.contains("p0.Svc, p1.Svc, p2.Svc, p3.Svc, p4.Svc and 3 more"),
        "{stderr}"
    );
    let out = Command::from_std(binary())
        .args(&args)
        .arg("p3.Svc/GetThin")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did you mean p3.Svc/GetThing?"), "{stderr}");
}

#[test]
fn a_response_over_our_own_limit_says_whose_limit_it_is() {
    let server = quiet();
    let proto = concat!(env!("CARGO_MANIFEST_DIR"), "/proto/testing.proto");
    let out = Command::from_std(binary())
        .args(["call", "--addr", &server.addr, "--proto", proto])
        .args(["--max-msg-size", "500", "Testing/Generate"])
        .arg(r#"{"count": 1, "size": 2000}"#)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rpcsh: error: a response is larger than rpcsh's message limit"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: --max-msg-size"), "{stderr}");
    assert!(!stderr.contains("ERROR: code"), "{stderr}");
}
