//! Integration tests of the `rpcsh` binary, one test binary: each test starts `rpcsh serve` on
//! 127.0.0.1:0. `serve` checks the servers through tonic clients; `client` runs `rpcsh call`,
//! `list`, `describe`, `template` and `health` against them.
mod bad_input;
mod bench;
mod client;
mod dead;
mod fit;
mod layers;
mod link;
mod record;
mod repl;
mod script;
mod serve;

use rpcsh::serve::pb;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

const RPCSH: &str = env!("CARGO_BIN_EXE_rpcsh");

/// The binary, kept from the developer's own config file so that tests see the defaults.
pub fn binary() -> Command {
    let mut cmd = Command::new(RPCSH);
    cmd.env("RPCSH_CONFIG", "/nonexistent/rpcsh-tests/config.toml");
    // Remembered service names stay out of the developer's cache.
    cmd.env(
        "RPCSH_CACHE_DIR",
        std::env::temp_dir().join("rpcsh-tests-cache"),
    );
    cmd
}

/// A running `rpcsh` server process; killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        Self::start_command("serve", args)
    }

    fn start_command(command: &str, args: &[&str]) -> Server {
        let mut child = binary()
            .arg(command)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rpcsh starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "expected the listening line, got {line:?}: {}",
                    stderr.lock().unwrap()
                )
            })
            .trim()
            .to_string();
        // Keep draining stdout so that a chatty command never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Server {
            child,
            addr,
            stderr,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .expect("connects")
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (bounded, so a broken server fails the test instead of hanging it) until the log
    /// contains `needle`.
    async fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "log never showed {needle:?}:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, then the exit status (bounded wait).
    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn quiet() -> Server {
    Server::start(&["--listen", "127.0.0.1:0", "--task-interval", "0", "-v"])
}

fn point(latitude: i32, longitude: i32) -> pb::Point {
    pb::Point {
        latitude,
        longitude,
    }
}

impl Server {
    async fn wait_for_log_count(&self, needle: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.log().matches(needle).count() < n {
            assert!(
                Instant::now() < deadline,
                "log never showed {needle:?} {n} times:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A server of the test's own, on a runtime of its own; dropped with the test.
pub struct InProcess {
    pub addr: String,
    _runtime: tokio::runtime::Runtime,
}

impl InProcess {
    pub fn start(router: tonic::transport::server::Router) -> InProcess {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        runtime.spawn(
            router.serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        InProcess {
            addr,
            _runtime: runtime,
        }
    }
}
