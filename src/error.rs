//! How an error reaches the user: one `rpcsh: error:` line with the whole cause chain, a hint
//! where one helps, and the exit code.
use std::process::ExitCode;

/// Exit code for an error on rpcsh's side (cannot bind, bad input file, ...). Usage errors exit 2
/// (clap).
pub const EXIT_ERROR: u8 = 1;

/// Prints `err` to stderr and returns the exit code it maps to.
pub fn report(err: &anyhow::Error) -> ExitCode {
    eprintln!("rpcsh: error: {err:#}");
    if let Some(hint) = hint(err) {
        eprintln!("  hint: {hint}");
    }
    ExitCode::from(EXIT_ERROR)
}

fn hint(err: &anyhow::Error) -> Option<&'static str> {
    let io = err
        .chain()
        .find_map(|e| e.downcast_ref::<std::io::Error>())?;
    match io.kind() {
        std::io::ErrorKind::AddrInUse => {
            Some("another program listens on that port: pick another with --listen, or port 0 for a free one")
        }
        std::io::ErrorKind::PermissionDenied => Some("ports below 1024 need privileges; try a port above 1024"),
        _ => None,
    }
}
