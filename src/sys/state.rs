//! The state folder, `$XDG_STATE_HOME/rpcsh` (else `~/.local/state/rpcsh`): what rpcsh keeps
//! across runs (the shell's history, the page's), in files only their owner may read, since
//! they may hold what people sent to production.
use std::path::{Path, PathBuf};

/// The path of `name` in the state folder; none without a home.
pub fn path(name: &str) -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("rpcsh").join(name))
}

/// Creates `path` (and its folder) if missing, mode 0600 either way.
pub fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}
