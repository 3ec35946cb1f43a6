//! Small helpers every layer may use: durations as people write them and the message-size
//! default. The bottom of the crate: it imports nothing of it.
use std::time::Duration;

/// The 4 MiB gRPC default message size, for calls, reflection and the demo servers alike.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;
/// What a server's schema may take in memory, as received through reflection, unless
/// `--max-schema-size` says otherwise: six times googleapis whole, and a process well under 300 MB.
pub const DEFAULT_MAX_SCHEMA_SIZE: usize = 128 * 1024 * 1024;

/// How big a response's headers (or trailers) may be, decoded: grpc-go's limit. hyper's own
/// 16 KB refused a large `grpc-status-details-bin` with an "unspecific protocol error".
pub const MAX_HEADER_LIST_SIZE: u32 = 16 * 1024 * 1024;

/// Headers (or trailers) as sent: each name with its value, binary ones in base64, in order.
pub fn header_pairs(map: &http::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_string(), value)
        })
        .collect()
}

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

/// A size as flags take it: bytes, or with a unit (`100MB` is 10^8 bytes, `100MiB` 100 × 2^20).
pub fn parse_size(text: &str) -> Result<usize, String> {
    parse_size::parse_size(text.trim())
        .ok()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("{text:?} is not a size (examples: 4194304, 100MB, 256MiB)"))
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
