//! What the process holds right now — resident memory, open file descriptors, live tokio tasks —
//! for the shell's `stats` command and `rpcsh serve --stats`: how leaks are seen from outside.
#![warn(missing_docs)]
use std::fmt;

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Resident set size, in KiB (0 where /proc is missing).
    pub rss_kib: u64,
    /// Open file descriptors.
    pub fds: usize,
    /// Tasks alive on the current tokio runtime (0 outside one).
    pub tasks: usize,
}

impl Stats {
    /// Reads them now.
    pub fn now() -> Stats {
        let rss_kib = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
                line.split_whitespace().nth(1)?.parse().ok()
            })
            .unwrap_or(0);
        let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
        let tasks =
            tokio::runtime::Handle::try_current().map_or(0, |h| h.metrics().num_alive_tasks());
        Stats {
            rss_kib,
            fds,
            tasks,
        }
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rss_kib={} fds={} tasks={}",
            self.rss_kib, self.fds, self.tasks
        )
    }
}
