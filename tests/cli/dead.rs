//! Dead links and hung servers: a listener that accepts and never answers, and a proxy that can
//! be frozen mid-way (it keeps the connections open and moves nothing), in front of `rpcsh
//! serve`. Waits are bounded by the connect timeout and keepalive the tests pass in.
use super::*;
use assert_cmd::Command as TestCommand;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// A TCP proxy to `target` that `pause` freezes.
struct Proxy {
    addr: String,
    paused: Arc<AtomicBool>,
    _runtime: tokio::runtime::Runtime,
}

impl Proxy {
    fn start(target: &str) -> Proxy {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let paused = Arc::new(AtomicBool::new(false));
        let (target, frozen) = (target.to_string(), paused.clone());
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&target).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, frozen.clone()));
                tokio::spawn(pump(sr, cw, frozen.clone()));
            }
        });
        Proxy {
            addr,
            paused,
            _runtime: runtime,
        }
    }

    fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }

    fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    paused: Arc<AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 65536];
    loop {
        let Ok(n) = from.read(&mut buf).await else {
            return;
        };
        // Frozen: what was read is held, and nothing more is read.
        while paused.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if n == 0 || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[test]
fn a_server_that_accepts_and_never_answers_fails_within_the_connect_timeout() {
    // The kernel completes the handshake for the backlog: accepted, and never answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    for args in [
        vec!["call", "Greeter/SayHello", "{}"],
        vec!["list"],
        vec!["describe", "Greeter"],
    ] {
        let out = TestCommand::from_std(binary())
            .arg(args[0])
            .args(["--addr", &addr, "--connect-timeout", "1s"])
            .args(&args[1..])
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.matches("rpcsh: error:").count(), 1, "{stderr}");
        assert!(
            stderr.contains("the server accepted the connection but sent nothing in 1s"),
            "{stderr}"
        );
        assert!(stderr.contains("--connect-timeout"), "{stderr}");
    }
    // A script: its first statement fails, with the same line.
    let out = TestCommand::from_std(binary())
        .args(["run", "--addr", &addr, "--connect-timeout", "1s", "-"])
        .write_stdin("Greeter/SayHello {}\n")
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("-:1: rpcsh: error:") && stderr.contains("sent nothing in 1s"),
        "{stderr}"
    );
}

#[test]
fn a_stream_whose_link_goes_silent_ends_with_connection_lost() {
    let server = quiet();
    let proxy = Proxy::start(&server.addr);
    let mut call = binary()
        .args(["call", "--addr", &proxy.addr, "--keepalive", "1s"])
        .args([
            "Testing/Generate",
            r#"{"count": 1000, "interval": "0.05s"}"#,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(call.stdout.take().unwrap());
    for _ in 0..3 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(line.starts_with('{'), "{line}");
    }
    proxy.pause();
    std::io::copy(&mut out, &mut std::io::sink()).unwrap();
    let output = call.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(64 + 14), "{stderr}");
    assert!(
        stderr.contains("connection lost: the server sent nothing for 1s 750ms"),
        "{stderr}"
    );
    assert!(stderr.contains("keepalive"), "{stderr}");
}

#[test]
fn a_watch_says_its_connection_was_lost_and_can_be_started_again() {
    let server = quiet();
    let proxy = Proxy::start(&server.addr);
    let mut shell = binary()
        .args(["connect", &proxy.addr, "--keepalive", "1s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = shell.stdin.take().unwrap();
    let mut out = BufReader::new(shell.stdout.take().unwrap());
    let mut read_until = |wanted: &dyn Fn(&str) -> bool| loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "the shell ended");
        if wanted(&line) {
            return line;
        }
    };
    writeln!(
        stdin,
        r#"watch Testing/Generate {{"count": 100000, "interval": "0.05s"}}"#
    )
    .unwrap();
    read_until(&|l| l.starts_with("[1] {"));
    proxy.pause();
    // Asked again and again (each a short wait) until the watch has ended.
    let ended = loop {
        writeln!(stdin, "sleep 200ms\njobs").unwrap();
        let line = read_until(&|l| l.starts_with("[1] Testing/Generate"));
        if !line.contains("running") {
            break line;
        }
    };
    assert!(
        ended.contains("failed: ") && ended.contains("connection lost"),
        "{ended}"
    );
    proxy.resume();
    writeln!(stdin, r#"watch Testing/Generate {{"count": 2}}"#).unwrap();
    drop(stdin);
    let output = shell.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Notices go to stderr when piped; the piped shell drains the watch before it ends.
    assert!(stderr.contains("[2] watching"), "{stderr}");
    assert!(
        stderr.contains("[2] Testing/Generate ended after 2 messages"),
        "{stderr}"
    );
    // A lost connection ends the watch UNAVAILABLE, as gRPC says it.
    assert!(stderr.contains("[1] ERROR: code = Unavailable"), "{stderr}");
    assert!(stderr.contains("connection lost"), "{stderr}");
}

#[test]
fn a_load_test_on_a_dead_link_counts_errors_and_ends() {
    let server = quiet();
    let proxy = Proxy::start(&server.addr);
    let bench = binary()
        .args([
            "bench",
            "--addr",
            &proxy.addr,
            "--keepalive",
            "1s",
            "--output",
            "json",
        ])
        .args(["-z", "4s", "-c", "4", "Greeter/SayHello", "{}"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    proxy.pause();
    let output = bench.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
    let statuses = report["statuses"].as_object().unwrap();
    assert!(
        statuses.get("OK").is_some_and(|n| n.as_u64() > Some(0)),
        "{report}"
    );
    assert!(
        statuses.keys().any(|k| k != "OK"),
        "calls on the dead link are errors: {report}"
    );
}

/// Waits (bounded) until the server's log shows `needle`.
fn wait_for_log(server: &Server, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log().contains(needle) {
        assert!(
            Instant::now() < deadline,
            "the log never showed {needle:?}: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serve_drops_a_subscriber_that_stops_answering_keepalive_pings() {
    let server = Server::start(&[
        "--listen",
        "127.0.0.1:0",
        "--task-interval",
        "0",
        "--keepalive",
        "1s",
        "-v",
    ]);
    let proxy = Proxy::start(&server.addr);
    // A subscriber whose own keepalive is off: only the server's pings can find it gone.
    let mut watch = binary()
        .args(["call", "--addr", &proxy.addr, "--keepalive", "off"])
        .args(["Contact/getTask", "{}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_log(&server, "subscriber joined");
    proxy.pause();
    wait_for_log(&server, "subscriber left");
    let _ = watch.kill();
    let _ = watch.wait();
}

#[test]
fn a_config_file_with_secrets_that_others_can_read_warns() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[servers.prod]\naddress = \"127.0.0.1:1\"\nheaders = { authorization = \"Bearer s3cret\" }\n",
    )
    .unwrap();
    let show = |mode: u32| {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = TestCommand::from_std(binary())
            .env("RPCSH_CONFIG", &path)
            .args(["config", "show", "-a", "prod"])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let stderr = show(0o644);
    assert!(
        stderr.contains("rpcsh: warning: config file")
            && stderr.contains("authorization header of [servers.prod]")
            && stderr.contains("mode 644")
            && stderr.contains("chmod 600"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert_eq!(show(0o600), "");
}
