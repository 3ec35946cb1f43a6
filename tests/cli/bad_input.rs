//! The bad-input table: every user mistake gets one clear `rpcsh: error:` line (or, for a call
//! the server failed, its status) naming what is wrong, the documented exit code, no panic, and
//! nothing sent when the request itself is wrong. Where the mistake can be made in the shell, the
//! same line is piped to `rpcsh connect` and the next command must still work.
//!
//! One test per row. Rows that need a server of their own (TLS, no reflection, a broken
//! reflection answer) or a terminal (Ctrl-C) follow the table; a server that dies mid-stream is
//! `client::server_killed_mid_stream_is_a_clear_error`.
use super::client::Pki;
use super::*;
use assert_cmd::Command;
use std::path::PathBuf;
use std::sync::OnceLock;

struct Row {
    /// `rpcsh` arguments: `{addr}` is a demo server's address, `{dir}` the folder of `files()`.
    args: &'static [&'static str],
    stdin: &'static str,
    code: i32,
    /// What the error must say.
    says: &'static [&'static str],
    /// A method whose call must not reach the server ("" when the row sends on purpose).
    unsent: &'static str,
    /// The same mistake as a shell line, when it can be made there.
    shell: Option<&'static str>,
}

const BASE: Row = Row {
    args: &[],
    stdin: "",
    code: 1,
    says: &[],
    unsent: "",
    shell: None,
};

/// Files the rows name, written once per test run.
fn files() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bad-input");
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
        write("empty.json", "");
        write(
            "a.proto",
            "syntax = \"proto3\";\npackage a;\nmessage E {}\nservice Svc { rpc M(E) returns (E); }\n",
        );
        write(
            "b.proto",
            "syntax = \"proto3\";\npackage b;\nmessage E {}\nservice Svc { rpc M(E) returns (E); }\n",
        );
        write("broken.proto", "syntax = \"proto3\";\nmessage E {\n  int32 x = 1\n}\n");
        // 10 MiB of payload: over the 4 MiB default limit.
        let payload = "A".repeat(10 * 1024 * 1024 / 3 * 4);
        write("big.json", &format!("{{\"payload\": \"{payload}\"}}"));
        dir
    })
}

fn fill(arg: &str, addr: &str) -> String {
    arg.replace("{addr}", addr)
        .replace("{dir}", files().to_str().unwrap())
        .replace(
            "{interop}",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/protos/interop.proto"),
        )
}

/// The one error of a failed run: an `rpcsh: error:` line (and perhaps a hint), or a status.
fn assert_one_error(stderr: &str, says: &[&str]) {
    assert!(!stderr.contains("panicked"), "a panic: {stderr}");
    let errors = stderr.matches("rpcsh: error:").count() + stderr.matches("ERROR: code").count();
    assert_eq!(errors, 1, "one error expected: {stderr}");
    for s in says {
        assert!(stderr.contains(s), "expected {s:?} in: {stderr}");
    }
}

fn check(row: Row) {
    let server = quiet();
    let args: Vec<String> = row.args.iter().map(|a| fill(a, &server.addr)).collect();
    let out = Command::from_std(binary())
        .env("RPCSH_ADDR", &server.addr)
        .args(&args)
        .write_stdin(row.stdin)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(row.code), "{args:?}: {stderr}");
    assert_one_error(&stderr, row.says);
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    if !row.unsent.is_empty() {
        assert!(
            !server.log().contains(row.unsent),
            "it was sent: {}",
            server.log()
        );
    }
    if let Some(line) = row.shell {
        let script = format!(
            "{}\nGreeter/SayHello {{\"name\": \"next\"}}\n",
            fill(line, &server.addr)
        );
        let out = Command::from_std(binary())
            .args(["connect", &server.addr])
            .write_stdin(script)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_one_error(&stderr, row.says);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "{\"message\":\"hello next\"}\n",
            "{stderr}"
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "a failed line fails a piped session"
        );
    }
}

macro_rules! table {
    ($($name:ident: { $($field:ident: $value:expr),* $(,)? })*) => {
        $(
            #[test]
            fn $name() {
                check(Row { $($field: $value,)* ..BASE });
            }
        )*
    };
}

table! {
    malformed_json: {
        args: &["call", "Greeter/SayHello", r#"{"name": }"#],
        says: &["invalid request JSON at line 1, column 10", "expected value"],
        unsent: "SayHello",
        shell: Some(r#"Greeter/SayHello {"name": }"#),
    }
    trailing_garbage: {
        args: &["call", "Greeter/SayHello", r#"{"name": "x"} xyz"#],
        says: &["line 1, column 15", "expected value"],
        unsent: "SayHello",
    }
    unknown_field: {
        args: &["call", "RouteGuide/GetFeature", r#"{"lat": 1}"#],
        says: &["unrecognized field name 'lat'", "hint: Point has the fields: latitude, longitude"],
        unsent: "GetFeature",
        shell: Some(r#"RouteGuide/GetFeature {"lat": 1}"#),
    }
    wrong_json_type: {
        args: &["call", "Cal/Add", r#"{"number1": "two"}"#],
        says: &["column 17", "field number1 (int32 in AddRequest)"],
        unsent: "Add",
        shell: Some(r#"Cal/Add {"number1": "two"}"#),
    }
    int32_out_of_range: {
        args: &["call", "Cal/Add", r#"{"number1": 3000000000}"#],
        says: &["field number1 (int32 in AddRequest)", "out of range"],
        unsent: "Add",
    }
    uint64_out_of_range: {
        args: &["call", "Testing/Generate", r#"{"count": 18446744073709551616}"#],
        says: &["field count (uint64 in rpcsh.testing.v1.GenerateRequest)"],
        unsent: "Generate",
    }
    negative_uint64: {
        args: &["call", "Testing/Generate", r#"{"count": -1}"#],
        says: &["field count (uint64", "out of range"],
        unsent: "Generate",
    }
    bad_enum_name: {
        args: &["call", "--proto", "{interop}", "Mirror/Reflect", r#"{"color": "PURPLE"}"#],
        says: &["field color (enum interop.v1.Color", "unrecognized enum value 'PURPLE'"],
        unsent: "Reflect",
    }
    bad_enum_number: {
        args: &["call", "--proto", "{interop}", "Mirror/Reflect", r#"{"color": 1.5}"#],
        says: &["field color (enum interop.v1.Color", "1.5"],
        unsent: "Reflect",
    }
    bad_base64: {
        args: &["call", "Testing/Echo", r#"{"payload": "!!!"}"#],
        says: &["field payload (bytes", "invalid base64"],
        unsent: "Echo",
        shell: Some(r#"Testing/Echo {"payload": "!!!"}"#),
    }
    bad_timestamp: {
        args: &["call", "--proto", "{interop}", "Mirror/Reflect", r#"{"when": "yesterday"}"#],
        says: &["field when (google.protobuf.Timestamp", "timestamp"],
        unsent: "Reflect",
    }
    bad_duration: {
        args: &["call", "Testing/Echo", r#"{"delay": "soon"}"#],
        says: &["field delay (google.protobuf.Duration", "duration"],
        unsent: "Echo",
    }
    any_with_unknown_type: {
        args: &["call", "--proto", "{interop}", "Mirror/Reflect",
                r#"{"extra": {"@type": "type.googleapis.com/nope.Nope", "a": 1}}"#],
        says: &["line 1, column", "nope.Nope"],
        unsent: "Reflect",
    }
    unknown_service: {
        args: &["call", "Nope/Get", "{}"],
        says: &["unknown service \"Nope\"", "hint: the server lists: Cal, Contact, Greeter"],
        shell: Some("Nope/Get {}"),
    }
    unknown_service_of_an_empty_schema: {
        args: &["call", "--protoset", "{dir}/empty.json", "Nope/Get", "{}"],
        says: &["unknown service \"Nope\"", "hint: the schema has no services"],
    }
    unknown_method: {
        args: &["call", "Greeter/SayGoodbye", "{}"],
        says: &["Greeter has no method \"SayGoodbye\"", "hint: Greeter has: SayHello, SayHelloAgain"],
        shell: Some("Greeter/SayGoodbye {}"),
    }
    method_typo: {
        args: &["call", "RouteGuide/GetFeatur", "{}"],
        says: &["RouteGuide has no method \"GetFeatur\"", "hint: did you mean RouteGuide/GetFeature?"],
        shell: Some("RouteGuide/GetFeatur {}"),
    }
    service_typo: {
        args: &["call", "RoutGuide/GetFeature", "{}"],
        says: &["unknown service \"RoutGuide\"", "hint: did you mean RouteGuide?"],
    }
    method_without_service: {
        args: &["call", "SayHello", "{}"],
        says: &["invalid method \"SayHello\"", "SERVICE/METHOD"],
    }
    unclosed_json: {
        args: &["call", "RouteGuide/GetFeature", r#"{"latitude": 1"#],
        says: &["invalid request JSON at line 1, column 14"],
        unsent: "GetFeature",
    }
    ambiguous_short_name: {
        args: &["call", "--proto", "{dir}/a.proto", "--proto", "{dir}/b.proto", "Svc/M", "{}"],
        says: &["service name \"Svc\" is ambiguous", "hint: name one by its full name, with its package: a.Svc, b.Svc"],
    }
    stream_given_to_a_unary_method: {
        args: &["call", "Greeter/SayHello", r#"{"name": "a"} {"name": "b"}"#],
        says: &["Greeter.SayHello takes one request message, got 2", "hint: only client-streaming"],
        unsent: "SayHello",
    }
    array_given_to_a_stream_method: {
        args: &["call", "RouteGuide/RecordRoute", r#"[{"latitude": 1}]"#],
        says: &["line 1, column 1", "hint: a message is a JSON object; a stream takes its messages one after another"],
        unsent: "RecordRoute",
    }
    request_file_missing: {
        args: &["call", "Greeter/SayHello", "@{dir}/nope.json"],
        says: &["cannot read request file", "nope.json", "No such file"],
        unsent: "SayHello",
    }
    request_file_unreadable: {
        args: &["call", "Greeter/SayHello", "@{dir}"],
        says: &["cannot read request file", "Is a directory"],
        unsent: "SayHello",
    }
    empty_request_file: {
        args: &["call", "Greeter/SayHello", "@{dir}/empty.json"],
        says: &["no request message in request file", "hint: give one JSON object"],
        unsent: "SayHello",
    }
    empty_stdin: {
        args: &["call", "Greeter/SayHello", "-"],
        says: &["no request message in stdin"],
        unsent: "SayHello",
    }
    request_over_the_size_limit: {
        args: &["call", "Testing/Echo", "@{dir}/big.json"],
        says: &["request message 1 is 10485", "over the 4194304-byte limit", "hint: --max-msg-size"],
        unsent: "Echo",
    }
    server_not_listening: {
        args: &["call", "--addr", "127.0.0.1:1", "Greeter/SayHello", "{}"],
        says: &["cannot connect to 127.0.0.1:1", "hint: is the server running"],
        shell: Some("connect 127.0.0.1:1"),
    }
    deadline_exceeded: {
        args: &["call", "--timeout", "200ms", "Testing/Echo", r#"{"delay": "5s"}"#],
        code: 68,
        says: &["ERROR: code = DeadlineExceeded"],
    }
    status_from_the_server: {
        args: &["call", "Cal/Multiply", r#"{"number1": 65536, "number2": 65536}"#],
        code: 75,
        says: &["ERROR: code = OutOfRange"],
        shell: Some(r#"Cal/Multiply {"number1": 65536, "number2": 65536}"#),
    }
    invalid_proto_file: {
        args: &["list", "--proto", "{dir}/broken.proto"],
        says: &["broken.proto:4:1", "expected ';'"],
    }
    missing_proto_file: {
        args: &["list", "--proto", "{dir}/absent.proto"],
        says: &["absent.proto"],
    }
    invalid_header: {
        args: &["call", "-H", "novalue", "Greeter/SayHello", "{}"],
        says: &["invalid header \"novalue\"", "hint: write it as 'name: value'"],
    }
    binary_header_not_base64: {
        args: &["call", "-H", "x-id-bin: !!!", "Greeter/SayHello", "{}"],
        says: &["header x-id-bin is not base64", "hint: values of -bin headers are base64"],
        shell: Some("header set x-id-bin !!!"),
    }
    invalid_header_value: {
        args: &["call", "-H", "x-a: caf\u{e9}\u{1}", "Greeter/SayHello", "{}"],
        says: &["header x-a is not printable ASCII", "x-a-bin"],
    }
    // http accepts it, but gRPC peers drop (grpc-js) or refuse it: never sent.
    non_ascii_header_value: {
        args: &["call", "-H", "x-user: alice \u{e9}", "Greeter/SayHello", "{}"],
        says: &["header x-user is not printable ASCII", "x-user-bin"],
        unsent: "SayHello",
    }
}

#[test]
fn unknown_shell_command_suggests_one() {
    let server = quiet();
    let out = Command::from_std(binary())
        .args(["connect", &server.addr])
        .write_stdin("lsit\nGreeter/SayHello {\"name\": \"next\"}\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_one_error(&stderr, &["unknown command \"lsit\": did you mean list?"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"message\":\"hello next\"}\n"
    );
    assert_eq!(out.status.code(), Some(1));
}

// A usage error is clap's: `error:` and exit 2, no `rpcsh: error:` line, so it is checked here.
#[test]
fn usage_errors_exit_2_with_clap_message() {
    let out = Command::from_std(binary())
        .args(["call", "--timeout", "soon", "Greeter/SayHello"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.starts_with("error: invalid value 'soon' for '--timeout <DURATION>'"),
        "{stderr}"
    );
}

/// A CA with a TLS server, an mTLS server and a plaintext one, and a second, unrelated CA.
struct TlsWorld {
    pki: Pki,
    other: Pki,
    tls: Server,
    mtls: Server,
    plain: Server,
}

impl TlsWorld {
    fn new() -> TlsWorld {
        let pki = Pki::new();
        let tls = pki.server(&[]);
        let mtls = pki.server(&["--tls-client-ca", &pki.path("ca.pem")]);
        TlsWorld {
            pki,
            other: Pki::new(),
            tls,
            mtls,
            plain: quiet(),
        }
    }

    /// Flags for `https://localhost:PORT` (the name the certificate is for) trusting `ca`.
    fn https(server: &Server, ca: String) -> Vec<String> {
        let port = server.addr.rsplit(':').next().unwrap();
        vec![
            "--addr".into(),
            format!("https://localhost:{port}"),
            "--cacert".into(),
            ca,
        ]
    }

    fn check(&self, flags: &[String], says: &[&str]) {
        let out = Command::from_std(binary())
            .arg("call")
            .args(flags)
            .args(["Greeter/SayHello", "{}"])
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flags:?}: {stderr}");
        assert_one_error(&stderr, says);
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn plaintext_against_tls() {
    let w = TlsWorld::new();
    let says = [
        "rpcsh: error:",
        "hint: a server that expects TLS",
        "try --tls",
    ];
    w.check(&["--addr".into(), w.tls.addr.clone()], &says);
}

#[test]
fn tls_against_plaintext() {
    let w = TlsWorld::new();
    w.check(
        &["--addr".into(), w.plain.addr.clone(), "--tls".into()],
        &["cannot connect", "TLS", "try --plaintext"],
    );
}

#[test]
fn wrong_ca() {
    let w = TlsWorld::new();
    let flags = TlsWorld::https(&w.tls, w.other.path("ca.pem"));
    w.check(
        &flags,
        &["cannot connect", "hint: pass the server's CA with --cacert"],
    );
}

#[test]
fn wrong_host_name() {
    let w = TlsWorld::new();
    // The certificate names localhost, not 127.0.0.1.
    let flags = [
        "--addr".into(),
        w.tls.addr.clone(),
        "--tls".into(),
        "--cacert".into(),
        w.pki.path("ca.pem"),
    ];
    w.check(&flags, &["cannot connect", "not valid for"]);
}

#[test]
fn missing_client_certificate() {
    let w = TlsWorld::new();
    let flags = TlsWorld::https(&w.mtls, w.pki.path("ca.pem"));
    let hint = "hint: a server that wants a client certificate closes the connection like this: pass it with --cert and --key";
    w.check(&flags, &["the connection failed", hint]);
}

#[test]
fn server_without_reflection_hints_proto() {
    let server = InProcess::start(tonic::transport::Server::builder().add_service(
        pb::greeter_server::GreeterServer::new(rpcsh::serve::demo::greeter::Greeter),
    ));
    let out = Command::from_std(binary())
        .args(["call", "--addr", &server.addr, "Greeter/SayHello", "{}"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_one_error(&stderr, &["reflection", "hint:", "--proto"]);
    // With the proto, the same server answers.
    Command::from_std(binary())
        .args([
            "call",
            "--addr",
            &server.addr,
            "Greeter/SayHello",
            r#"{"name": "p"}"#,
        ])
        .args([
            "--proto",
            concat!(env!("CARGO_MANIFEST_DIR"), "/proto/helloworld.proto"),
        ])
        .assert()
        .success()
        .stdout("{\"message\":\"hello p\"}\n");
}

#[test]
fn reflection_with_a_missing_dependency() {
    use prost::Message;
    use prost_types::{
        DescriptorProto, FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto,
        ServiceDescriptorProto,
    };
    // hole.proto says it imports missing.proto, which the server never sends.
    let file = FileDescriptorProto {
        name: Some("hole.proto".into()),
        package: Some("hole".into()),
        dependency: vec!["missing.proto".into()],
        message_type: vec![DescriptorProto {
            name: Some("Req".into()),
            ..Default::default()
        }],
        service: vec![ServiceDescriptorProto {
            name: Some("Hole".into()),
            method: vec![MethodDescriptorProto {
                name: Some("Get".into()),
                input_type: Some(".hole.Req".into()),
                output_type: Some(".hole.Req".into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        syntax: Some("proto3".into()),
        ..Default::default()
    };
    // gone.proto uses a type that no file defines and it does not import.
    let gone = FileDescriptorProto {
        name: Some("gone.proto".into()),
        package: Some("gone".into()),
        message_type: vec![DescriptorProto {
            name: Some("Uses".into()),
            field: vec![prost_types::FieldDescriptorProto {
                name: Some("g".into()),
                number: Some(1),
                r#type: Some(prost_types::field_descriptor_proto::Type::Message as i32),
                type_name: Some(".other.Gone".into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        syntax: Some("proto3".into()),
        ..Default::default()
    };
    let set = FileDescriptorSet {
        file: vec![file, gone],
    }
    .encode_to_vec();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(Box::leak(set.into_boxed_slice()))
        .build_v1()
        .unwrap();
    let server = InProcess::start(tonic::transport::Server::builder().add_service(reflection));
    // describe says why, as call does, not that the symbol does not exist; a name truly
    // nowhere is named with the file that uses it.
    for (args, says) in [
        (["call", "hole.Hole/Get", "{}"].as_slice(), "missing.proto"),
        (&["describe", "hole.Req"], "missing.proto"),
        (&["describe", "gone.Uses"], "gone.proto uses .other.Gone"),
    ] {
        let out = Command::from_std(binary())
            .arg(args[0])
            .args(["--addr", &server.addr])
            .args(&args[1..])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_one_error(&stderr, &[says]);
    }
}

/// Ctrl-C while `line` runs in the shell on a pty (after `started` shows, when given): the call
/// is cancelled, the prompt comes back and the next call works.
fn ctrl_c_during(line: &str, started: Option<&str>) {
    use expectrl::{ControlCode, Expect};
    let server = quiet();
    let mut cmd = binary();
    cmd.args(["connect", &server.addr, "--no-history"])
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    let mut sh = expectrl::Session::spawn(cmd).unwrap();
    sh.set_expect_timeout(Some(Duration::from_secs(20)));
    let prompt = format!("{}> ", server.addr);
    sh.expect(&prompt).unwrap();
    sh.send_line(line).unwrap();
    match started {
        Some(text) => {
            sh.expect(text).unwrap();
        }
        None => std::thread::sleep(Duration::from_millis(300)),
    }
    sh.send(ControlCode::EndOfText).unwrap();
    sh.expect("cancelled").unwrap();
    sh.expect(&prompt).unwrap();
    sh.send_line(r#"Greeter/SayHello {"name": "after"}"#)
        .unwrap();
    sh.expect("hello after").unwrap();
    sh.expect(&prompt).unwrap();
}

#[test]
fn ctrl_c_during_a_unary_call() {
    ctrl_c_during(r#"Testing/Echo {"delay": "60s"}"#, None);
}

#[test]
fn ctrl_c_during_a_server_stream() {
    ctrl_c_during(
        r#"Testing/Generate {"count": 100000, "interval": "0.05s"}"#,
        Some("\"seq\""),
    );
}

#[test]
fn ctrl_c_during_a_client_stream() {
    ctrl_c_during("RouteGuide/RecordRoute", Some("RecordRoute >> "));
}

#[test]
fn ctrl_c_during_a_bidi_stream() {
    ctrl_c_during("RouteGuide/RouteChat", Some("RouteChat >> "));
}

#[test]
fn a_proto_file_that_is_not_there_is_named_so() {
    let out = Command::from_std(binary())
        .args([
            "describe",
            "--proto",
            "proto/route_guide.proto",
            "RouteGuide",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_one_error(
        &stderr,
        &["cannot read --proto proto/route_guide.proto: no such file"],
    );
    // A name under an -I folder is found there, as protoc finds it.
    Command::from_std(binary())
        .args([
            "describe",
            "-I",
            "proto",
            "--proto",
            "routeguide.proto",
            "RouteGuide",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .assert()
        .success();
}

#[test]
fn a_protoset_out_that_cannot_be_written_is_one_error() {
    let out = Command::from_std(binary())
        .args(["describe", "--proto", "proto/routeguide.proto"])
        .args(["--protoset-out", "/nonexistent/folder/x.pb"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_one_error(&stderr, &["cannot write /nonexistent/folder/x.pb"]);
}
