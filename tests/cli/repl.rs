//! The shell, driven through a pseudo-terminal as a person would (expectrl), and through a pipe
//! as a script would.
use super::*;
use expectrl::{ControlCode, Expect};

/// `rpcsh connect` on a pty, without colours or a history file unless asked.
pub fn shell(
    server: &Server,
    extra: &[&str],
    state: Option<&std::path::Path>,
) -> expectrl::session::OsSession {
    let mut cmd = binary();
    cmd.args(["connect", &server.addr])
        .args(extra)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    if let Some(dir) = state {
        cmd.env("XDG_STATE_HOME", dir);
    } else {
        cmd.arg("--no-history");
    }
    let mut session = expectrl::Session::spawn(cmd).expect("rpcsh starts on a pty");
    session.set_expect_timeout(Some(Duration::from_secs(20)));
    session
        .expect(format!("{}> ", server.addr))
        .expect("the first prompt");
    session
}

#[test]
fn tab_completes_methods_and_field_names() {
    let server = quiet();
    let mut sh = shell(&server, &[], None);
    sh.send("RouteGuide/GetF\t").unwrap();
    sh.expect("eature ").unwrap();
    sh.send("{\"lat\t").unwrap();
    sh.expect("itude\": ").unwrap();
    sh.send_line("409146138, \"longitude\": -746188906}")
        .unwrap();
    sh.expect("Berkshire Valley Management Area Trail").unwrap();
    sh.expect(format!("{}> ", server.addr)).unwrap();
    // Nested: the cursor is inside Rectangle.lo, a Point.
    sh.send("RouteGuide/ListFeature {\"lo\": {\"lon\t").unwrap();
    sh.expect("gitude\": ").unwrap();
    // Ctrl-C clears the half-typed line: what follows is a command of its own. (Straight after
    // a Tab, rustyline's completion takes the Ctrl-C itself; a person types the value first.)
    sh.send("-74").unwrap();
    sh.expect("-74").unwrap();
    sh.send(ControlCode::EndOfText).unwrap();
    sh.expect(format!("{}> ", server.addr)).unwrap();
    sh.send_line(r#"Greeter/SayHello {"name": "fresh"}"#)
        .unwrap();
    sh.expect("hello fresh").unwrap();
    sh.expect(format!("{}> ", server.addr)).unwrap();
    sh.send(ControlCode::EndOfTransmission).unwrap(); // Ctrl-D leaves
    sh.expect(expectrl::Eof).unwrap();
}

#[test]
fn route_chat_responses_print_between_typed_lines() {
    let server = quiet();
    let mut sh = shell(&server, &[], None);
    sh.send_line("RouteGuide/RouteChat").unwrap();
    sh.expect("RouteChat >> ").unwrap();
    sh.send_line(r#"{"location": {"latitude": 5}, "message": "one"}"#)
        .unwrap();
    sh.expect("RouteChat >> ").unwrap();
    sh.send_line(r#"{"location": {"latitude": 5}, "message": "two"}"#)
        .unwrap();
    // The answer to "two" (the earlier note "one") arrives while the sub-prompt waits.
    sh.expect("\"message\": \"one\"").unwrap();
    sh.send_line(r#"{"location": {"latitude": 5}, "message": "three"}"#)
        .unwrap();
    sh.expect("\"message\": \"two\"").unwrap();
    sh.send_line(".end").unwrap();
    sh.expect(format!("{}> ", server.addr)).unwrap();
    sh.send_line("exit").unwrap();
    sh.expect(expectrl::Eof).unwrap();
}

#[test]
fn grpc_web_shell_refuses_bidi_over_http1_then_streams_over_h2c() {
    let server = quiet();
    let mut sh = shell(&server, &["--protocol", "grpc-web"], None);
    sh.send_line("RouteGuide/RouteChat").unwrap();
    // Refused before a stream prompt opens: the next prompt is the shell's own.
    sh.expect("which gRPC-Web cannot carry over HTTP/1.1")
        .unwrap();
    sh.expect("set http2 on").unwrap();
    sh.expect(format!("{}> ", server.addr)).unwrap();
    sh.send_line("set http2 on").unwrap();
    sh.expect(format!("{}> ", server.addr)).unwrap();
    sh.send_line("RouteGuide/RouteChat").unwrap();
    sh.expect("RouteChat >> ").unwrap();
    sh.send_line(r#"{"location": {"latitude": 7}, "message": "one"}"#)
        .unwrap();
    sh.expect("RouteChat >> ").unwrap();
    sh.send_line(r#"{"location": {"latitude": 7}, "message": "two"}"#)
        .unwrap();
    sh.expect("\"message\": \"one\"").unwrap();
    sh.send_line(".end").unwrap();
    sh.expect("RouteChat ended: OK, 1 response(s)").unwrap();
    sh.send_line("exit").unwrap();
    sh.expect(expectrl::Eof).unwrap();
}

#[test]
fn ctrl_c_cancels_a_long_stream_and_keeps_the_shell() {
    let server = quiet();
    let mut sh = shell(&server, &[], None);
    sh.send_line(r#"Testing/Generate {"count": 100000, "interval": "0.05s"}"#)
        .unwrap();
    sh.expect("\"seq\": \"3\"").unwrap();
    sh.send(ControlCode::EndOfText).unwrap();
    sh.expect("cancelled").unwrap();
    sh.expect(format!("{}> ", server.addr)).unwrap();
    sh.send_line(r#"Greeter/SayHello {"name": "after"}"#)
        .unwrap();
    sh.expect("hello after").unwrap();
    sh.expect(format!("{}> ", server.addr)).unwrap();
    // A bidi call is cancelled by Ctrl-C at its sub-prompt.
    sh.send_line("Testing/Chat").unwrap();
    sh.expect("Chat >> ").unwrap();
    sh.send(ControlCode::EndOfText).unwrap();
    sh.expect("cancelled").unwrap();
    sh.expect(format!("{}> ", server.addr)).unwrap();
}

#[test]
fn a_watch_receives_a_task_pushed_from_the_same_session() {
    let server = quiet();
    let mut sh = shell(&server, &[], None);
    sh.send_line("watch Contact/getTask {}").unwrap();
    sh.expect("[1] watching Contact/getTask").unwrap();
    sh.expect(format!("{}> ", server.addr)).unwrap();
    server_log_waits_for_subscriber(&server);
    // The push is typed at the sub-prompt: sent with the call line, the task could be printed
    // before the sub-prompt is drawn, and the wait for the prompt would pass over it.
    sh.send_line("Contact/sendStatus").unwrap();
    sh.expect("sendStatus >> ").unwrap();
    sh.send_line(r#"{"msg": "push 任务:来自REPL"}"#).unwrap();
    sh.expect(r#"[1] {"task":"任务:来自REPL"}"#).unwrap();
    sh.send_line("").unwrap();
    sh.expect(format!("{}> ", server.addr)).unwrap();
    sh.send_line("jobs").unwrap();
    sh.expect("[1] Contact/getTask  1 messages  running")
        .unwrap();
    sh.expect(format!("{}> ", server.addr)).unwrap();
    sh.send_line("stop 1").unwrap();
    sh.expect("[1] stopped after 1 messages").unwrap();
}

fn server_log_waits_for_subscriber(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log().contains("subscriber joined") {
        assert!(
            Instant::now() < deadline,
            "the watch never subscribed: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn history_is_kept_private_and_secrets_redacted() {
    use std::os::unix::fs::PermissionsExt;
    let server = quiet();
    let state = tempfile::tempdir().unwrap();
    let mut sh = shell(&server, &[], Some(state.path()));
    sh.send_line("header set authorization Bearer s3cret")
        .unwrap();
    sh.expect(format!("{}> ", server.addr)).unwrap();
    sh.send_line("headers").unwrap();
    sh.expect("authorization: <redacted>").unwrap();
    sh.expect(format!("{}> ", server.addr)).unwrap();
    sh.send_line("use Greeter").unwrap();
    sh.expect(format!("{} Greeter> ", server.addr)).unwrap();
    sh.send_line("SayHello {\"name\": \"h\"}").unwrap();
    sh.expect("hello h").unwrap();
    sh.expect(format!("{} Greeter> ", server.addr)).unwrap();
    sh.send_line("exit").unwrap();
    sh.expect(expectrl::Eof).unwrap();
    let path = state.path().join("rpcsh/history");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let history = std::fs::read_to_string(&path).unwrap();
    assert!(
        history.contains("header set authorization <redacted>"),
        "{history}"
    );
    assert!(history.contains("SayHello {\"name\": \"h\"}"), "{history}");
    assert!(!history.contains("s3cret"), "{history}");
}

/// `rpcsh ARGS` with `script` piped to its stdin.
fn piped_args(args: &[&str], script: &str) -> std::process::Output {
    assert_cmd::Command::from_std(binary())
        .args(args)
        .write_stdin(script)
        .output()
        .unwrap()
}

fn piped(server: &Server, script: &str) -> std::process::Output {
    piped_args(&["connect", &server.addr], script)
}

#[test]
fn piped_commands_print_results_only() {
    let server = quiet();
    let out = piped(
        &server,
        "# a comment\nuse RouteGuide\nGetFeature {\"latitude\": 409146138,\n  \"longitude\": -746188906}\ncall RecordRoute\n{\"latitude\": 1}\n{\"latitude\": 10000000}\n\nCal/Add {\"number1\": 2, \"number2\": 3}\n",
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        "{\"name\":\"Berkshire Valley Management Area Trail, Jefferson, NJ, USA\",\"location\":{\"latitude\":409146138,\"longitude\":-746188906}}\n\
         {\"pointCount\":2,\"distance\":111189}\n\
         {\"number\":5}\n"
            .replace("111189", &((rpcsh::serve::demo::route_guide::distance(
                &pb::Point { latitude: 1, longitude: 0 },
                &pb::Point { latitude: 10000000, longitude: 0 },
            )) as i64)
                .to_string())
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn piped_errors_go_to_stderr_and_the_session_goes_on() {
    let server = quiet();
    let out = piped(&server, "lst\nCal/Add {\"nope\": 1}\nCal/Multiply {\"number1\": 65536, \"number2\": 65536}\nGreeter/SayHello {\"name\": \"on\"}\n");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("rpcsh: error: unknown command \"lst\": did you mean list?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("unrecognized field name 'nope'")
            && stderr.contains("AddRequest has the fields"),
        "{stderr}"
    );
    assert!(stderr.contains("ERROR: code = OutOfRange"), "{stderr}");
    assert!(!stderr.contains("panicked"));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"message\":\"hello on\"}\n"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed command fails a piped session"
    );
}

#[test]
fn the_shell_survives_the_server_going_away() {
    let mut server = quiet();
    let addr = server.addr.clone();
    let mut sh = shell(&server, &[], None);
    sh.send_line(r#"Greeter/SayHello {"name": "a"}"#).unwrap();
    sh.expect("hello a").unwrap();
    sh.expect(format!("{addr}> ")).unwrap();
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    sh.send_line(r#"Greeter/SayHello {"name": "b"}"#).unwrap();
    // Refused on reconnecting (rpcsh's error), or lost on the old connection (UNAVAILABLE).
    sh.expect(expectrl::Regex("rpcsh: error:|code = Unavailable"))
        .unwrap();
    sh.expect(format!("{addr}> ")).unwrap();
    sh.send_line("help").unwrap();
    sh.expect("  describe   show").unwrap();
    sh.expect(format!("{addr}> ")).unwrap();
    // The server comes back on the same address: the next command reconnects.
    let _back = Server::start(&["--listen", &addr]);
    sh.send_line(r#"Greeter/SayHello {"name": "again"}"#)
        .unwrap();
    sh.expect("hello again").unwrap();
}

#[test]
fn demo_opens_the_shell_on_its_own_servers() {
    let out = piped_args(
        &["demo", "--no-history"],
        "Cal/Multiply {\"number1\": 6, \"number2\": 7}\nlist Compute\n",
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    assert!(
        lines.next().unwrap().starts_with("listening on 127.0.0.1:"),
        "{stdout}"
    );
    assert_eq!(lines.next(), Some("{\"number\":42}"));
    // `list SERVICE` in the shell prints names, as `rpcsh list SERVICE` does.
    assert_eq!(lines.next(), Some("compute.Compute.SayHello"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn piped_watch_sees_what_the_next_command_pushes() {
    let server = quiet();
    let out = piped(
        &server,
        "watch Contact/getTask {}\nContact/sendStatus {\"msg\": \"push 脚本\"}\n\n",
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    // Only results on stdout; the notice goes to stderr when piped.
    assert!(!stdout.contains("watching"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[1] watching Contact/getTask"), "{stderr}");
    assert!(
        lines.contains(&"[1] {\"task\":\"脚本\"}"),
        "the watch was subscribed before the push: {stdout}"
    );
    assert!(
        lines.contains(&"{\"ret\":\"服务端接收到消息:push 脚本\"}"),
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn piped_settings_switching_servers_and_lookups() {
    let server = quiet();
    let other = Server::start(&["cal", "--listen", "127.0.0.1:0"]);
    let script = format!(
        "template Rectangle\ndescribe Compute\nset timeout 100ms\nTesting/Echo {{\"delay\": \"2s\"}}\nset timeout off\n\
         use Cal\nAdd {{\"number1\": 1, \"number2\": 1}}\nconnect {}\nlist\nCal/Multiply {{\"number1\": 3, \"number2\": 3}}\n",
        other.addr
    );
    let out = piped(&server, &script);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let expected_template = "{\n  \"lo\": {\n    \"latitude\": 0,\n    \"longitude\": 0\n  },\n  \"hi\": {\n    \"latitude\": 0,\n    \"longitude\": 0\n  }\n}\n";
    assert!(stdout.starts_with(expected_template), "{stdout}");
    assert!(stdout.contains("service compute.Compute {\n  rpc SayHello(.compute.HelloRequest) returns (.compute.HelloReply);\n}\n"), "{stdout}");
    assert!(
        stderr.contains("ERROR: code = DeadlineExceeded"),
        "set timeout reached the call: {stderr}"
    );
    assert!(
        stdout.contains("{\"number\":2}\n"),
        "use Cal made Add a Cal method: {stdout}"
    );
    // After connect, list shows the other server's services: Cal and the infrastructure only.
    let after: Vec<&str> = stdout
        .split("{\"number\":2}\n")
        .nth(1)
        .unwrap()
        .lines()
        .collect();
    assert!(
        after.contains(&"Cal") && !after.contains(&"RouteGuide"),
        "{stdout}"
    );
    assert_eq!(after.last(), Some(&"{\"number\":9}"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "the deadline failed one command"
    );
}

#[test]
fn a_first_sitting_open_braces_ctrl_c_health_and_use() {
    let server = quiet();
    let addr = server.addr.clone();
    let mut sh = shell(&server, &[], None);
    // Braces still open: a continuation prompt says the shell waits for the rest, and Tab
    // there completes the request's fields.
    sh.send_line(r#"Greeter/SayHello {"#).unwrap();
    sh.expect("...> ").unwrap();
    sh.send(r#""na"#).unwrap();
    sh.send("\t").unwrap();
    sh.send_line(r#""multi"}"#).unwrap();
    sh.expect("hello multi").unwrap();
    sh.expect(format!("{addr}> ")).unwrap();
    // Ctrl-C during a call: `cancelled` on a line of its own.
    sh.send_line(r#"Testing/Generate {"count": 100, "interval": "0.2s"}"#)
        .unwrap();
    sh.expect("seq").unwrap();
    sh.send(ControlCode::EndOfText).unwrap();
    sh.expect("\r\ncancelled").unwrap();
    sh.expect(format!("{addr}> ")).unwrap();
    sh.send_line("health Greeter").unwrap();
    sh.expect("SERVING").unwrap();
    sh.expect(format!("{addr}> ")).unwrap();
    // After `use`, describe and template take the service's method names.
    sh.send_line("use RouteGuide").unwrap();
    sh.expect(format!("{addr} RouteGuide> ")).unwrap();
    sh.send_line("describe GetFeature").unwrap();
    sh.expect("RouteGuide.GetFeature is a method").unwrap();
    sh.send_line("describe Point").unwrap();
    sh.expect("Point is a message").unwrap();
    sh.send_line(r#"GetFeature {"lat": 1}"#).unwrap();
    sh.expect("set allow-unknown-fields on").unwrap();
    sh.expect(format!("{addr} RouteGuide> ")).unwrap();
    sh.send_line("set allow-unknown-fields on").unwrap();
    sh.expect(format!("{addr} RouteGuide> ")).unwrap();
    sh.send_line(r#"GetFeature {"lat": 1}"#).unwrap();
    sh.expect(r#""location""#).unwrap();
}
