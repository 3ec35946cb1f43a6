//! How rpcsh fits the user's shell: help texts and completion scripts (insta snapshots), the
//! completion script working in a real bash, the man page, the config file (precedence, aliases,
//! a malformed file) and colours.
use super::*;
use assert_cmd::Command;
use clap::CommandFactory;

/// The binary with a config file written to a fresh folder, and no RPCSH_ADDR from outside.
fn with_config(text: &str) -> (Command, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let mut cmd = Command::from_std(binary());
    cmd.env("RPCSH_CONFIG", &path).env_remove("RPCSH_ADDR");
    (cmd, dir)
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_of_every_command_has_examples_and_is_stable() {
    let cli = rpcsh::cli::Cli::command();
    let mut names: Vec<String> = cli
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    names.push(String::new());
    for name in names {
        let mut cmd = Command::from_std(binary());
        cmd.env_remove("RPCSH_ADDR");
        if !name.is_empty() {
            cmd.arg(&name);
        }
        // grpcurl's front end prints grpcurl's usage, on stderr as grpcurl does.
        let help = match name.as_str() {
            "grpcurl" => {
                let out = cmd.arg("--help").output().unwrap();
                assert!(out.status.success() && out.stdout.is_empty());
                String::from_utf8(out.stderr).unwrap()
            }
            _ => stdout(cmd.arg("--help")),
        };
        if !name.is_empty() {
            assert!(
                help.contains("Example"),
                "`rpcsh {name} --help` has no example"
            );
        }
        let snapshot = if name.is_empty() {
            "rpcsh".into()
        } else {
            format!("rpcsh_{name}")
        };
        insta::assert_snapshot!(format!("help_{snapshot}"), help);
    }
}

#[test]
fn completion_scripts_are_stable() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = stdout(Command::from_std(binary()).args(["completions", shell]));
        insta::assert_snapshot!(format!("completions_{shell}"), script);
    }
}

#[test]
fn bash_completes_commands_and_flags() {
    let script = stdout(Command::from_std(binary()).args(["completions", "bash"]));
    let complete = |words: &str| {
        let n = words.split(' ').count() - 1;
        let program = format!(
            "{script}\nCOMP_WORDS=({words}); COMP_CWORD={n}; _rpcsh rpcsh \"${{COMP_WORDS[{n}]}}\" \"${{COMP_WORDS[{}]}}\"; echo \"${{COMPREPLY[@]}}\"",
            n - 1
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "-c", &program])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(complete("rpcsh ca").trim(), "call");
    assert!(complete("rpcsh call --emit").contains("--emit-defaults"));
    assert!(complete("rpcsh completions f").contains("fish"));
}

#[test]
fn man_page_covers_every_command() {
    let page = stdout(Command::from_std(binary()).arg("man"));
    assert!(page.contains(".TH rpcsh 1"), "{page}");
    for sub in rpcsh::cli::Cli::command().get_subcommands() {
        assert!(page.contains(sub.get_name()), "{} missing", sub.get_name());
    }
    let call = stdout(Command::from_std(binary()).args(["man", "call"]));
    assert!(call.contains(".TH rpcsh-call 1") && call.contains("\\-\\-emit\\-defaults"));
    Command::from_std(binary())
        .args(["man", "cal"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("no command named \"cal\""));
}

#[test]
fn config_precedence_is_file_then_environment_then_flags() {
    let file = "address = \"from-file:1\"\n";
    let effective = |cmd: &mut Command, flags: &[&str]| {
        let text = stdout(cmd.args(["config", "show"]).args(flags));
        text.lines()
            .find_map(|l| l.strip_prefix("address = "))
            .unwrap()
            .trim_matches('"')
            .to_string()
    };
    let (mut cmd, _d) = with_config("");
    assert_eq!(effective(&mut cmd, &[]), "localhost:50051");
    let (mut cmd, _d) = with_config(file);
    assert_eq!(effective(&mut cmd, &[]), "from-file:1");
    let (mut cmd, _d) = with_config(file);
    assert_eq!(
        effective(cmd.env("RPCSH_ADDR", "from-env:2"), &[]),
        "from-env:2"
    );
    let (mut cmd, _d) = with_config(file);
    let cmd = cmd.env("RPCSH_ADDR", "from-env:2");
    assert_eq!(effective(cmd, &["-a", "from-flag:3"]), "from-flag:3");
}

#[test]
fn an_alias_brings_its_address_headers_format_and_timeout() {
    let server = quiet();
    let config = format!(
        "format = \"json\"\n\n[servers.dev]\naddress = \"{}\"\ntimeout = \"300ms\"\nheaders = {{ x-team = \"core\", authorization = \"Bearer hunter2\" }}\n",
        server.addr
    );
    // Pretty JSON although piped: the file's format. The header comes back from Testing/Echo.
    let (mut cmd, _d) = with_config(&config);
    let out = cmd
        .args([
            "-v",
            "call",
            "-a",
            "dev",
            "Testing/Echo",
            r#"{"payload": "aGk="}"#,
        ])
        .output()
        .unwrap();
    let (out_text, err_text) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{err_text}");
    assert_eq!(out_text, "{\n  \"payload\": \"aGk=\"\n}\n");
    assert!(
        err_text.contains("Response headers received:\n  x-team: core"),
        "{err_text}"
    );
    assert!(!err_text.contains("hunter2"), "a secret leaked: {err_text}");
    // The section's timeout: a 2 s echo is cut at 300 ms (DEADLINE_EXCEEDED, 64 + 4).
    let (mut cmd, _d) = with_config(&config);
    cmd.args(["call", "-a", "dev", "Testing/Echo", r#"{"delay": "2s"}"#])
        .assert()
        .code(68);
    // A flag beats the file: --timeout 5s lets it finish; --format jsonl prints one line.
    let (mut cmd, _d) = with_config(&config);
    let args = ["call", "-a", "dev", "Testing/Echo", r#"{"delay": "0.5s"}"#];
    let printed = stdout(cmd.args(args).args(["--timeout", "5s", "-f", "jsonl"]));
    assert_eq!(printed, "{}\n");
    // `config show` says what is in effect, with the secret redacted.
    let (mut cmd, _d) = with_config(&config);
    let shown = stdout(cmd.args(["config", "show", "-a", "dev"]));
    assert!(
        shown.contains(&format!("address = \"{}\"", server.addr)),
        "{shown}"
    );
    assert!(shown.contains("timeout = \"300ms\"") && shown.contains("x-team = \"core\""));
    assert!(
        shown.contains("<redacted>") && !shown.contains("hunter2"),
        "{shown}"
    );
    // The shell's `connect dev` and `rpcsh connect dev` use the alias too.
    let (mut cmd, _d) = with_config(&config);
    let session =
        "Greeter/SayHello {\"name\": \"one\"}\nconnect dev\nGreeter/SayHello {\"name\": \"two\"}\n";
    let printed = stdout(cmd.args(["connect", "dev"]).write_stdin(session));
    assert_eq!(
        printed,
        "{\"message\":\"hello one\"}\n{\"message\":\"hello two\"}\n"
    );
}

#[test]
fn a_malformed_config_stops_with_its_line_and_column() {
    for (text, expected) in [
        (
            "address = \"x\"\n[servers.a]\nplaintxt = true\n",
            "line 3, column 1: unknown field `plaintxt`",
        ),
        ("timeout = \"soon\"\n", "line 1, column 11: "),
        ("[servers.a\n", "line 1, column 11: "),
        (
            "format = \"yaml\"\n",
            "line 1, column 10: unknown variant `yaml`",
        ),
    ] {
        let (mut cmd, _d) = with_config(text);
        let out = cmd
            .args(["call", "-a", "127.0.0.1:1", "Greeter/SayHello", "{}"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.starts_with("rpcsh: error: config file "), "{err}");
        assert!(err.contains(expected), "{text:?}: {err}");
        // One error, not a connection attempt after half a config.
        assert!(!err.contains("connect"), "{err}");
    }
    // `config path` and the servers work whatever the file holds.
    let (mut cmd, dir) = with_config("not toml at all");
    let path = stdout(cmd.args(["config", "path"]));
    assert_eq!(
        path.trim(),
        dir.path().join("config.toml").to_str().unwrap()
    );
}

#[test]
fn colours_follow_the_flag_and_no_color() {
    let server = quiet();
    let call = |extra: &[&str], no_color: bool| {
        let mut cmd = Command::from_std(binary());
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let out = cmd
            .args(["call", "-a", &server.addr, "-f", "json"])
            .args(extra)
            .args(["Greeter/SayHello", r#"{"name": "c"}"#])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    // Piped: plain unless told; --color always wins over NO_COLOR.
    assert!(!call(&[], false).contains('\x1b'));
    assert!(call(&["--color", "always"], false).contains("\x1b["));
    assert!(call(&["--color", "always"], true).contains("\x1b["));
    assert!(!call(&["--color", "never"], false).contains('\x1b'));
    let err = Command::from_std(binary())
        .args([
            "--color",
            "always",
            "call",
            "-a",
            &server.addr,
            "Nope/Nope",
            "{}",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&err.stderr);
    assert!(
        err.starts_with("\x1b[1m\x1b[31mrpcsh: error:\x1b[0m"),
        "{err:?}"
    );
}
