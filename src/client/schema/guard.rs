//! The panic boundary around third-party schema builds. Descriptors come from servers and files
//! nobody here wrote, and prost-reflect and protox have panicked on some (prost-reflect 0.16.5
//! indexes past an array while labelling an error in a file without source info): a library's
//! panic becomes one error naming what was being built, never exit 101 and a backtrace note.
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while this thread runs a guarded build: its panic message is kept, not printed.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    static MESSAGE: Cell<Option<String>> = const { Cell::new(None) };
}

/// Installs, once, a panic hook that keeps quiet about guarded panics and leaves every other
/// panic to the hook that was there before.
fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) {
                let text = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                let at = info
                    .location()
                    .map(|l| format!(", at {}:{}", crate_path(l.file()), l.line()))
                    .unwrap_or_default();
                MESSAGE.with(|m| m.set(Some(format!("{text}{at}"))));
            } else {
                previous(info);
            }
        }));
    });
}

/// A dependency's source path from its crate folder on (`prost-reflect-0.16.5/src/x.rs`), not
/// from the registry's folder on this machine.
fn crate_path(file: &str) -> &str {
    match file.find("/registry/src/") {
        Some(i) => {
            let rest = &file[i + "/registry/src/".len()..];
            rest.split_once('/').map_or(rest, |(_, path)| path)
        }
        None => file,
    }
}

/// A library's panic while building descriptors, as an error.
#[derive(Debug)]
pub struct Panicked(String);

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Panicked {}

/// Runs `build`; a panic inside it becomes a `Panicked` error saying `what` could not be built.
pub fn guarded<T>(what: &str, build: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    install_hook();
    let was = GUARDED.with(|g| g.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(build));
    GUARDED.with(|g| g.set(was));
    result.unwrap_or_else(|_| {
        let message = MESSAGE.with(Cell::take).unwrap_or_default();
        Err(Panicked(format!(
            "cannot build {what}: a library rpcsh uses panicked on it ({message}); please report it, with the file"
        ))
        .into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_and_the_thread_goes_on() {
        let err = guarded::<()>("test.proto", || panic!("index out of bounds")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("cannot build test.proto"), "{text}");
        assert!(text.contains("index out of bounds"), "{text}");
        assert_eq!(guarded("ok", || Ok(7)).unwrap(), 7);
    }
}
