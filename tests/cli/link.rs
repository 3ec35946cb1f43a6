//! The release build's function order (`link/symbol-order.txt`, build.rs) is kept true by this
//! test, not by someone remembering: the names in the list carry hashes that move when rustc,
//! the release profile or any locked crate changes, and `link/symbol-order.inputs` records
//! those as they were when the list was made. A difference fails here (a debug test, no release
//! build needed) until `link/update-symbol-order.sh` makes the list anew; a release binary
//! itself is checked by `link/check-symbol-order.sh`.
use std::path::Path;

/// What the names' hashes depend on now, as the update script writes it.
fn inputs(root: &Path) -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("-V")
        .output()
        .expect("rustc -V");
    let mut out = String::from_utf8_lossy(&version.stdout).into_owned();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let profile = manifest
        .split("\n[profile.release]\n")
        .nth(1)
        .expect("Cargo.toml has [profile.release]");
    out.push_str("[profile.release]\n");
    for line in profile.lines().take_while(|l| !l.is_empty()) {
        if !line.starts_with('#') {
            out.push_str(line);
            out.push('\n');
        }
    }
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
    let mut name = "";
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = n.trim_matches('"');
        } else if let Some(v) = line.strip_prefix("version = ") {
            out.push_str(&format!("{name} {}\n", v.trim_matches('"')));
        }
    }
    out
}

#[test]
fn the_symbol_order_was_made_for_these_crates_and_this_rustc() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let recorded = std::fs::read_to_string(root.join("link/symbol-order.inputs")).unwrap();
    let now = inputs(root);
    let changed: Vec<&str> = now
        .lines()
        .filter(|l| !recorded.lines().any(|r| r == *l))
        .chain(recorded.lines().filter(|r| !now.lines().any(|l| l == *r)))
        .collect();
    assert!(
        changed.is_empty(),
        "link/symbol-order.txt was made for other crates or another rustc (its names' hashes \
         moved): run link/update-symbol-order.sh. Changed: {changed:?}"
    );
}
