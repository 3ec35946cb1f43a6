//! The shell turns exploration into tests: `--record` / `record FILE` write an `rpcsh run`
//! script that passes against the same server and fails, with a diff, when its data changed;
//! `edit` sends what the editor saved; and the shell's loose ends (stream prompt hints,
//! `expect within` only after the command before it).
use super::repl::shell;
use super::*;
use expectrl::Expect;

const DB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/route_guide_db.json");

/// `rpcsh serve` over a copy of the feature database, with `from` replaced by `to` in it.
fn serve_db(dir: &std::path::Path, from: &str, to: &str) -> Server {
    let db = dir.join(format!("db-{}.json", to.len()));
    std::fs::write(&db, std::fs::read_to_string(DB).unwrap().replace(from, to)).unwrap();
    Server::start(&[
        "--listen",
        "127.0.0.1:0",
        "--task-interval",
        "0",
        "--db",
        db.to_str().unwrap(),
    ])
}

fn run_script(path: &std::path::Path, addr: &str) -> std::process::Output {
    binary()
        .args(["run", path.to_str().unwrap(), "--addr", addr])
        .output()
        .unwrap()
}

#[test]
fn a_recorded_session_replays_and_fails_with_a_diff_when_the_data_changed() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_db(dir.path(), "Berkshire Valley", "Berkshire Valley");
    let file = dir.path().join("session.rpcsh");
    let mut sh = shell(&server, &["--record", file.to_str().unwrap()], None);
    let prompt = format!("{}> ", server.addr);
    let steps: [(&str, &str); 5] = [
        (
            r#"RouteGuide/GetFeature {"latitude": 409146138, "longitude": -746188906}"#,
            "Berkshire Valley",
        ),
        (
            r#"RouteGuide/ListFeature {"lo": {"latitude": 400000000, "longitude": -750000000}, "hi": {"latitude": 401000000, "longitude": -740000000}}"#,
            "Huntington Drive",
        ),
        (
            r#"Cal/Multiply {"number1": 65536, "number2": 65536}"#,
            "OutOfRange",
        ),
        (r#"Greeter/SayHello {"name": "世界 ünï"}"#, "hello 世界 ünï"),
        ("help all", "record FILE"),
    ];
    for (line, shows) in steps {
        sh.send_line(line).unwrap();
        sh.expect(shows).unwrap();
        sh.expect(prompt.as_str()).unwrap();
    }
    // A client stream typed at its sub-prompt.
    sh.send_line("RouteGuide/RecordRoute").unwrap();
    sh.expect("RecordRoute >> ").unwrap();
    sh.send_line(r#"{"latitude": 409146138, "longitude": -746188906}"#)
        .unwrap();
    sh.expect("RecordRoute >> ").unwrap();
    sh.send_line(r#"{"latitude": 1}"#).unwrap();
    sh.expect("RecordRoute >> ").unwrap();
    sh.send_line(".end").unwrap();
    sh.expect("pointCount").unwrap();
    sh.expect(prompt.as_str()).unwrap();
    sh.send_line("exit").unwrap();
    sh.expect(expectrl::Eof).unwrap();

    let script = std::fs::read_to_string(&file).unwrap();
    assert!(
        script.contains("expect exact {\"message\":\"hello 世界 ünï\"}"),
        "{script}"
    );
    assert!(script.contains("expect error OUT_OF_RANGE"), "{script}");
    assert!(
        script.contains("call RouteGuide/RecordRoute\n{\"latitude\":409146138"),
        "{script}"
    );
    assert!(
        !script.contains("help"),
        "shell-only commands are left out: {script}"
    );
    let out = run_script(&file, &server.addr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("5 passed, 0 failed"), "{stdout}");

    // The same script against a server whose feature was renamed: fails there, with the diff.
    let changed = serve_db(dir.path(), "Berkshire Valley", "Berkshire Hills");
    let out = run_script(&file, &changed.addr);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("session.rpcsh:") && stderr.contains("expectation failed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Berkshire Hills") && stderr.contains("Berkshire Valley"),
        "{stderr}"
    );
}

#[test]
fn record_and_record_stop_keep_only_what_was_between() {
    let server = quiet();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("between.rpcsh");
    let script = format!(
        "Cal/Add {{\"number1\": 1, \"number2\": 1}}\nrecord {} --ignore message\nuse Greeter\nSayHello {{\"name\": \"in\"}}\nrecord stop\nCal/Add {{\"number1\": 3, \"number2\": 3}}\n",
        file.display()
    );
    let out = assert_cmd::Command::from_std(binary())
        .args(["connect", &server.addr])
        .write_stdin(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recorded = std::fs::read_to_string(&file).unwrap();
    assert!(
        recorded.contains("use Greeter\ncall Greeter/SayHello {\"name\":\"in\"}\n"),
        "{recorded}"
    );
    // --ignore: a partial expectation without the field.
    assert!(recorded.contains("\nexpect {}\n"), "{recorded}");
    assert!(!recorded.contains("Cal/Add"), "{recorded}");
    let out = run_script(&file, &server.addr);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed, 0 failed"));
}

/// An editor that writes `text` over the file it is given (and exits `code`).
fn editor(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn edit_sends_what_the_editor_saved() {
    let server = quiet();
    let dir = tempfile::tempdir().unwrap();
    // The first time it saves invalid JSON; shown the error, it saves a request.
    let writes = editor(
        dir.path(),
        "ed.sh",
        &format!(
            "if [ -f {0}/once ]; then grep -q 'invalid request JSON' \"$1\" && printf '{{\"name\": \"edited\"}}' > \"$1\"; else touch {0}/once; printf '{{\"name\": ' > \"$1\"; fi",
            dir.path().display()
        ),
    );
    let mut cmd = binary();
    cmd.args(["connect", &server.addr, "--no-history"])
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env("EDITOR", &writes)
        .env_remove("VISUAL");
    let mut sh = expectrl::Session::spawn(cmd).unwrap();
    sh.set_expect_timeout(Some(Duration::from_secs(20)));
    let prompt = format!("{}> ", server.addr);
    sh.expect(prompt.as_str()).unwrap();
    sh.send_line("edit Greeter/SayHello").unwrap();
    sh.expect("hello edited").unwrap();
    sh.expect(prompt.as_str()).unwrap();
    sh.send_line("exit").unwrap();
    sh.expect(expectrl::Eof).unwrap();

    // An editor that fails, or leaves the file empty, cancels.
    for (name, body, says) in [
        ("fail.sh", "exit 3", "edit: cancelled (the editor exited"),
        ("empty.sh", ": > \"$1\"", "edit: cancelled (empty request)"),
    ] {
        let out = assert_cmd::Command::from_std(binary())
            .args(["connect", &server.addr])
            .env("EDITOR", editor(dir.path(), name, body))
            .env_remove("VISUAL")
            .write_stdin("edit Greeter/SayHello\n")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
        assert!(out.stdout.is_empty(), "nothing sent");
    }
}

#[test]
fn a_shell_command_at_a_stream_prompt_gets_a_hint() {
    let server = quiet();
    let out = assert_cmd::Command::from_std(binary())
        .args(["connect", &server.addr])
        .write_stdin("RouteGuide/RecordRoute\njobs\n{\"latitude\": 1}\n.end\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\"jobs\" is a shell command"), "{stderr}");
    assert!(
        stderr.contains(".end finishes the stream, .cancel cancels it"),
        "{stderr}"
    );
    // The stream went on: the message after it was sent.
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"pointCount\":1"));
}

#[test]
fn expect_within_looks_only_after_the_command_before_it() {
    let server = quiet();
    let script = "watch Contact/getTask {}\ncall Contact/sendStatus\n{\"msg\": \"push early\"}\nend\nexpect within 5s {\"task\": \"early\"}\nGreeter/SayHello {}\nexpect within 300ms {\"task\": \"early\"}\n";
    let out = assert_cmd::Command::from_std(binary())
        .args(["run", "--keep-going", "--addr", &server.addr, "-"])
        .write_stdin(script)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 passed, 1 failed"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("-:7: expectation failed"));
}
