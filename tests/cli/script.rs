//! `rpcsh run`: the example scripts pass against the demo server; a wrong expectation fails with
//! its line, a diff and exit 1; syntax errors are caught before anything is sent.
use super::*;
use assert_cmd::Command;
use predicates::prelude::*;

fn run(server: &Server) -> Command {
    let mut cmd = Command::from_std(binary());
    cmd.args(["run", "--addr", &server.addr]);
    cmd
}

#[test]
fn every_example_script_passes() {
    let server = quiet();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scripts");
    let mut scripts: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    scripts.sort();
    assert_eq!(scripts.len(), 5, "one script per demo service");
    for script in scripts {
        let out = run(&server).arg(&script).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {stdout}{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let summary = stdout.lines().last().unwrap();
        assert!(
            summary.ends_with(" passed, 0 failed") && !summary.starts_with("0 "),
            "{summary}"
        );
    }
}

#[test]
fn a_wrong_expectation_fails_with_its_line_and_a_diff() {
    let server = quiet();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("wrong.rpcsh");
    std::fs::write(
        &script,
        "# a comment\nGreeter/SayHello {\"name\": \"x\"}\nexpect {\"message\": \"hello x\"}\nCal/Add {\"number1\": 2, \"number2\": 2}\nexpect {\"number\": 5}\nGreeter/SayHello {\"name\": \"never sent\"}\n",
    )
    .unwrap();
    let out = run(&server).arg(&script).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let name = script.display().to_string();
    assert!(
        stderr.starts_with(&format!("{name}:5: expectation failed:")),
        "{stderr}"
    );
    assert!(
        stderr.contains("--- expected\n+++ actual")
            && stderr.contains("-  \"number\": 5")
            && stderr.contains("+  \"number\": 4"),
        "{stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.ends_with("1 passed, 1 failed\n"), "{stdout}");
    assert!(
        !stdout.contains("never sent"),
        "it stops at the first failure: {stdout}"
    );

    // --keep-going runs the rest; --junit reports each expectation.
    let report = dir.path().join("report.xml");
    let out = run(&server)
        .arg(&script)
        .arg("--keep-going")
        .arg("--junit")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("hello never sent"));
    let xml = std::fs::read_to_string(&report).unwrap();
    // The last call, with no expect after it, is a step of its own that passed.
    assert!(xml.contains("tests=\"3\" failures=\"1\""), "{xml}");
    assert!(
        xml.contains(&format!(
            "name=\"{name}:6 Greeter/SayHello {{&quot;name&quot;: &quot;never sent&quot;}}\"/>"
        )),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "name=\"{name}:3 expect {{&quot;message&quot;: &quot;hello x&quot;}}\"/>"
        )),
        "{xml}"
    );
    assert!(xml.contains("<failure message=\""), "{xml}");
}

#[test]
fn syntax_errors_are_reported_before_anything_is_sent() {
    let server = Server::start(&["--listen", "127.0.0.1:0", "-v"]);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("typo.rpcsh");
    std::fs::write(
        &script,
        "Greeter/SayHello {\"name\": \"a\"}\nexpect {\"message\": \"hello a\"}\nexpct {}\n",
    )
    .unwrap();
    run(&server)
        .arg(&script)
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains(format!(
                "{}:3: unknown command \"expct\": did you mean expect?",
                script.display()
            ))
            .and(predicate::str::contains("nothing was sent")),
        );
    std::fs::write(&script, "Cal/Add {\"number1\": ${n}}\n").unwrap();
    run(&server)
        .arg(&script)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(":1: undefined variable ${n}"));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !server.log().contains("/Greeter/SayHello"),
        "no call reached the server: {}",
        server.log()
    );
}

#[test]
fn cannot_connect_is_its_own_exit_code() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    Command::from_std(binary())
        .args(["run", "--addr", &free, "-"])
        .write_stdin("Greeter/SayHello {}\n")
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with(format!(
            "rpcsh: error: cannot connect to {free}"
        )));
}

#[test]
fn scripts_from_stdin_with_env_variables_and_an_expected_error() {
    let server = quiet();
    run(&server)
        .arg("-")
        .env("GREETING_NAME", "env")
        .write_stdin("Greeter/SayHello {\"name\": \"${env:GREETING_NAME}\"}\nexpect {\"message\": \"hello env\"}\nTesting/Echo {\"code\": 7, \"message\": \"go away\"}\nexpect error PERMISSION_DENIED \"away\"\nsleep 10ms\n")
        .assert()
        .success()
        .stdout("{\"message\":\"hello env\"}\n2 passed, 0 failed\n")
        .stderr("");
}

#[test]
fn addr_beats_the_leading_connect_of_every_script() {
    let server = quiet();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for name in ["a", "b"] {
        let path = dir.path().join(format!("{name}.rpcsh"));
        // Nothing listens on port 1: each script's own connect would fail.
        std::fs::write(
            &path,
            format!("connect 127.0.0.1:1\nGreeter/SayHello {{\"name\": \"{name}\"}}\nexpect {{\"message\": \"hello {name}\"}}\n"),
        )
        .unwrap();
        files.push(path);
    }
    let out = run(&server).args(&files).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.ends_with("2 passed, 0 failed\n"), "{stdout}");
}
