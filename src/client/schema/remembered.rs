//! The service names a server listed last time, kept in the user's cache folder: a short name
//! (`Compute`) is then asked for by its full name (`compute.Compute`) in the same round trip as
//! the listing, which confirms it — so a stale file costs a round trip, never a wrong answer.
//! And the reflection version it answered (a server with v1alpha only is asked that first, not
//! v1 then v1alpha: one round trip less; a stale one falls back as ever).
//! `$RPCSH_CACHE_DIR`, else `$XDG_CACHE_HOME/rpcsh`, else `~/.cache/rpcsh`; nothing is kept
//! when none can be found or written.
use std::path::PathBuf;

/// The file of `addr`'s names (`kind` "services") or reflection version ("reflection").
fn path(kind: &str, addr: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("RPCSH_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(|d| PathBuf::from(d).join("rpcsh"))
        })
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/rpcsh")))?;
    let name: String = addr
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Some(dir.join(kind).join(name))
}

/// The names `addr` listed last time, if known.
pub fn load(addr: &str) -> Vec<String> {
    path("services", addr)
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|text| text.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Keeps `names` for `addr` when they differ from what was kept.
pub fn store(addr: &str, names: &[String], kept: &[String]) {
    if names != kept {
        write(path("services", addr), &names.join("\n"));
    }
}

fn write(path: Option<PathBuf>, text: &str) {
    if let Some(p) = path {
        let _ = p
            .parent()
            .map(std::fs::create_dir_all)
            .map(|_| std::fs::write(&p, text));
    }
}

/// The reflection version `addr` answered last time (`v1` or `v1alpha`), if known.
pub fn version(addr: &str) -> Option<String> {
    let text = std::fs::read_to_string(path("reflection", addr)?).ok()?;
    Some(text.trim().to_string())
}

/// Keeps the reflection `version` `addr` answered when it differs from what was kept.
pub fn store_version(addr: &str, version: &str, kept: Option<&str>) {
    if kept != Some(version) {
        write(path("reflection", addr), version);
    }
}
