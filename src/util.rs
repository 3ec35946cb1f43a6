//! Small helpers every layer may use: durations as people write them and the message-size
//! default. The bottom of the crate: it imports nothing of it.
use std::time::Duration;

/// The 4 MiB gRPC default message size, for calls, reflection and the demo servers alike.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// How big a response's headers (or trailers) may be, decoded: grpc-go's limit. hyper's own
/// 16 KB refused a large `grpc-status-details-bin` with an "unspecific protocol error".
pub const MAX_HEADER_LIST_SIZE: u32 = 16 * 1024 * 1024;

/// A duration that can be switched off: `off` (or `none`, `0`) is None.
pub fn parse_optional_duration(text: &str) -> Result<Option<Duration>, String> {
    match text.trim() {
        "off" | "none" | "0" => Ok(None),
        other => parse_duration(other).map(Some),
    }
}

/// Accepts `0` and humantime durations such as `500ms`, `10s`, `1m30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(text.trim()).map_err(|e| format!("{e} (examples: 500ms, 10s, 1m)"))
}

/// Gives the memory freed so far back to the system: glibc keeps what a burst of allocations
/// freed (a schema's index being built, a burst of connections) in its arenas, and a
/// long-running process would stay at its peak.
pub fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}
