//! `rpcsh bench`: the counts and statuses it reports are the calls it made.
use super::*;
use assert_cmd::Command;

fn bench(server: &Server, args: &[&str]) -> serde_json::Value {
    let out = Command::from_std(binary())
        .args(["bench", "--addr", &server.addr, "--output", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn counts_every_call_and_its_status() {
    let server = quiet();
    let report = bench(
        &server,
        &[
            "Greeter/SayHello",
            r#"{"name": "b"}"#,
            "-n",
            "300",
            "-c",
            "7",
            "--warmup",
            "20",
            "--connections",
            "2",
        ],
    );
    assert_eq!(report["count"], 300, "warm-up requests are not counted");
    assert_eq!(report["statuses"]["OK"], 300);
    for p in ["p10", "p50", "p99", "p99.9"] {
        assert!(
            report["percentiles_ms"][p].as_f64().unwrap() > 0.0,
            "{report}"
        );
    }
    assert!(report["fastest_ms"].as_f64() <= report["slowest_ms"].as_f64());
}

#[test]
fn errors_are_counted_not_fatal() {
    let server = quiet();
    // number1 = request number: from n = 48 on, the sum leaves int32.
    let report = bench(
        &server,
        &[
            "Cal/Add",
            r#"{"number1": {{n}}, "number2": 2147483600}"#,
            "-n",
            "100",
            "-c",
            "1",
        ],
    );
    assert_eq!(report["count"], 100);
    assert_eq!(report["statuses"]["OK"], 48);
    assert_eq!(report["statuses"]["OutOfRange"], 52);
    assert!(
        report["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("OutOfRange: 48 + 2147483600 does not fit"),
        "{report}"
    );
}

#[test]
fn deadlines_are_counted_as_deadline_exceeded() {
    let server = quiet();
    // The server answers after 2 s; --timeout reaches it as grpc-timeout and bounds the client.
    let report = bench(
        &server,
        &[
            "Testing/Echo",
            r#"{"delay": "2s"}"#,
            "-n",
            "4",
            "-c",
            "2",
            "--timeout",
            "200ms",
        ],
    );
    assert_eq!(report["statuses"]["DeadlineExceeded"], 4, "{report}");
    assert!(
        report["percentiles_ms"]["p99"].as_f64().unwrap() < 1900.0,
        "{report}"
    );
}

#[test]
fn headers_reach_the_server() {
    let server = quiet();
    // Testing/Echo fails with the code an x-echo-code header names: NOT_FOUND for every call.
    let report = bench(
        &server,
        &[
            "Testing/Echo",
            "{}",
            "-n",
            "6",
            "-c",
            "2",
            "-H",
            "x-echo-code: 5",
        ],
    );
    assert_eq!(report["statuses"]["NotFound"], 6, "{report}");
    // A unix socket goes through tonic rather than the raw HTTP/2 path: the same there.
    let dir = tempfile::tempdir().unwrap();
    let socket = format!("unix:{}", dir.path().join("s.sock").display());
    let unix = Server::start(&["--listen", &socket, "--task-interval", "0"]);
    let report = bench(
        &unix,
        &[
            "Testing/Echo",
            "{}",
            "-n",
            "3",
            "-c",
            "1",
            "-H",
            "x-echo-code: 5",
        ],
    );
    assert_eq!(report["statuses"]["NotFound"], 3, "{report}");
}

#[test]
fn streams_count_their_messages() {
    let server = quiet();
    let report = bench(
        &server,
        &[
            "Testing/Generate",
            r#"{"count": 10}"#,
            "-n",
            "50",
            "-c",
            "5",
        ],
    );
    assert_eq!(report["responses"], 500);
    let report = bench(
        &server,
        &[
            "Testing/Chat",
            r#"{"seq": 1}"#,
            "--stream-messages",
            "4",
            "-n",
            "30",
        ],
    );
    assert_eq!(
        report["responses"], 120,
        "each bidi call sends 4 messages and gets 4 back"
    );
    let report = bench(
        &server,
        &[
            "RouteGuide/RecordRoute",
            r#"[{"latitude": 1}, {"latitude": 2}]"#,
            "-n",
            "20",
        ],
    );
    assert_eq!(report["statuses"]["OK"], 20);
}

#[test]
fn a_constant_rate_sends_only_what_is_due() {
    let server = quiet();
    let report = bench(
        &server,
        &["Greeter/SayHello", "-z", "300ms", "--rps", "100", "-c", "4"],
    );
    let count = report["count"].as_u64().unwrap();
    // Requests are due every 10 ms: at most 30 fall inside 300 ms (plus one per worker racing the end).
    assert!((1..=34).contains(&count), "{report}");
    Command::from_std(binary())
        .args([
            "bench",
            "--addr",
            &server.addr,
            "Greeter/SayHello",
            "-n",
            "20",
            "--output",
            "csv",
        ])
        .assert()
        .success()
        .stdout(predicates::str::starts_with("metric,value\ncount,20\n"));
}

#[test]
fn tls_servers_are_benched_through_tonic() {
    let pki = super::client::Pki::new();
    let server = pki.server(&[]);
    let port = server.addr.rsplit(':').next().unwrap();
    let out = Command::from_std(binary())
        .args(["bench", "--addr", &format!("https://localhost:{port}")])
        .args([
            "--cacert",
            &pki.path("ca.pem"),
            "--output",
            "json",
            "--connections",
            "2",
        ])
        .args([
            "Greeter/SayHello",
            r#"{"name": "tls"}"#,
            "-n",
            "20",
            "-c",
            "4",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["statuses"]["OK"], 20, "{report}");
}
