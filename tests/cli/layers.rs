//! The crate's layering (see `src/lib.rs`): every folder of `src/` is a floor, and a file
//! imports (`crate::x`) only its own folder and the floors under it; `lib.rs`'s diagram draws
//! the floors in this order; the shell's engine is apart from the terminal; no file grows past
//! 900 lines.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The floors, bottom first. A unit is a folder of `src/` (the client's are its own floors:
/// `client::wire`...); units on one floor are siblings and import nothing of each other.
const FLOORS: &[&[&str]] = &[
    &["sys"],
    &["client::wire"],
    &["client::net"],
    &["client::schema"],
    &["client::input", "client::output"],
    &["session"],
    &["commands"],
    &["lang"],
    &["repl", "ui", "bench", "serve"],
    &["cli"],
];

fn floor_of(unit: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&unit))
}

/// The unit a `crate::` path (`client::net::web::Client`) or a file under `src/` belongs to.
fn unit_of(path: &str) -> String {
    let mut parts = path.split("::");
    let top = parts.next().unwrap_or_default();
    match (top, parts.next()) {
        ("client", Some(sub)) => format!("client::{sub}"),
        _ => top.to_string(),
    }
}

/// Unit → the units its code (comments aside) names as `crate::x`, with a file that does.
fn imports() -> BTreeMap<String, BTreeMap<String, PathBuf>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for file in rust_files(&src) {
        let rel = file.strip_prefix(&src).unwrap().with_extension("");
        let rel: Vec<String> = rel
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        if rel == ["client", "mod"] {
            continue; // the client's module file declares its floors, importing nothing
        }
        let unit = unit_of(&rel.join("::"));
        let names = graph.entry(unit.clone()).or_default();
        // Unit tests (a file's last module, or a `*_tests.rs` file) may use the demo's protos
        // as fixtures: the floors are the library's.
        if file.to_string_lossy().ends_with("_tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let library = text.split("#[cfg(test)]").next().unwrap_or_default();
        for line in library.lines() {
            let code = line.split("//").next().unwrap_or("");
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                let path: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let to = unit_of(&path);
                if !to.is_empty() && to != unit {
                    names.entry(to).or_insert_with(|| file.clone());
                }
            }
        }
    }
    graph
}

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_dir() {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).unwrap() {
            files.extend(rust_files(&entry.unwrap().path()));
        }
        files
    } else if path.extension().is_some_and(|e| e == "rs") {
        vec![path.to_path_buf()]
    } else {
        Vec::new()
    }
}

#[test]
fn src_holds_floors_not_loose_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut loose = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_file() && name != "lib" && name != "main" {
            loose.push(name);
        } else if path.is_dir() && name != "client" && floor_of(&name).is_none() {
            loose.push(format!("{name}/ (on no floor)"));
        }
    }
    assert!(
        loose.is_empty(),
        "src/ holds the floors' folders only: {loose:?}"
    );
}

#[test]
fn an_import_points_down_the_floors() {
    let graph = imports();
    assert!(graph.len() > 10, "read too few units: {graph:?}");
    let mut wrong = Vec::new();
    for (unit, names) in &graph {
        if unit == "lib" || unit == "main" {
            continue;
        }
        let here = floor_of(unit).unwrap_or_else(|| panic!("{unit} is on no floor"));
        for (to, file) in names {
            let there = floor_of(to).unwrap_or_else(|| panic!("{to} is on no floor"));
            if there >= here {
                wrong.push(format!(
                    "{} imports {to} ({unit} is not above it)",
                    file.display()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that do not point down the floors of src/lib.rs:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_layers_rules_hold() {
    let graph = imports();
    let importers: Vec<&String> = graph
        .iter()
        .filter(|(_, names)| names.contains_key("cli"))
        .map(|(k, _)| k)
        .collect();
    assert!(
        importers.iter().all(|m| *m == "main" || *m == "lib"),
        "cli is the command line only: imported by {importers:?}"
    );
    // The demo services are beside the client: they import nothing of it, and the client
    // nothing of them.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for demo_side in ["serve/demo", "serve/server.rs", "serve/pb.rs"] {
        for file in rust_files(&src.join(demo_side)) {
            let text = std::fs::read_to_string(&file).unwrap();
            for client in [
                "crate::client",
                "crate::session",
                "crate::lang",
                "crate::commands",
            ] {
                assert!(
                    !text.contains(client),
                    "{} imports {client}",
                    file.display()
                );
            }
        }
    }
    // The shell's engine runs without a terminal: only the REPL knows the line editor.
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).unwrap();
        if text.contains("rustyline::") {
            assert!(
                file.starts_with(src.join("repl")),
                "{} uses the line editor: the terminal is the REPL's",
                file.display()
            );
        }
    }
}

#[test]
fn the_diagram_in_lib_rs_draws_the_floors() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let diagram = lib
        .split("```text")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("src/lib.rs draws the layers in a ```text block");
    // The line (top first) on which each unit is a label: the first word of a column (text
    // after two spaces or more), not a word of a description.
    let line_of = |unit: &str| {
        let word = unit.rsplit("::").next().unwrap();
        diagram.lines().position(|l| {
            let l = l.trim_start_matches("//!");
            l.split("  ")
                .filter_map(|column| column.split_whitespace().next())
                .any(|w| w == word)
        })
    };
    let mut drawn = Vec::new();
    for (floor, units) in FLOORS.iter().enumerate() {
        for unit in *units {
            let line = line_of(unit)
                .unwrap_or_else(|| panic!("src/lib.rs's diagram does not name {unit}"));
            drawn.push((floor, line, *unit));
        }
    }
    for (f1, l1, u1) in &drawn {
        for (f2, l2, u2) in &drawn {
            assert!(
                !(f1 < f2 && l1 < l2),
                "src/lib.rs's diagram draws {u1} above {u2}, which is on a higher floor"
            );
        }
    }
    let folders: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
        .map(String::from)
        .collect();
    let units: BTreeSet<String> = FLOORS
        .iter()
        .flat_map(|f| f.iter())
        .map(|u| unit_of(u).split("::").next().unwrap().to_string())
        .collect();
    assert_eq!(folders, units, "lib.rs's modules are the floors' folders");
}

#[test]
fn no_source_file_over_900_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in rust_files(&src) {
        let lines = std::fs::read_to_string(&file).unwrap().lines().count();
        assert!(lines <= 900, "{} has {lines} lines", file.display());
    }
}

/// The library's code of every file under `src/` (unit tests left out), with its path.
fn library_sources() -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    rust_files(&src)
        .into_iter()
        .filter(|f| !f.to_string_lossy().ends_with("_tests.rs"))
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let library = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .to_string();
            (f, library)
        })
        .collect()
}

/// The item a line opens (`fn NAME`, `struct NAME {`), with its indentation, if it opens one
/// with a body.
fn opens<'a>(line: &'a str, keyword: &str) -> Option<(usize, &'a str)> {
    let code = line.trim_start();
    let indent = line.len() - code.len();
    let mut words = code.split_whitespace().peekable();
    while let Some(w) = words.peek() {
        if w.starts_with("pub") || ["const", "async", "unsafe"].contains(w) {
            words.next();
        } else {
            break;
        }
    }
    if words.next()? != keyword || code.ends_with(';') || code.starts_with("//") {
        return None;
    }
    let name = words.next()?;
    let name = name
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()?;
    if keyword == "struct" && !code.ends_with('{') {
        return None; // a tuple or unit struct
    }
    Some((indent, name))
}

/// Each item of `keyword` in `text` as (name, its lines: the head to the closing brace).
fn items<'a>(text: &'a str, keyword: &str) -> Vec<(&'a str, Vec<&'a str>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((indent, name)) = opens(line, keyword) else {
            continue;
        };
        let close = format!("{}}}", " ".repeat(indent));
        let end = lines[i..]
            .iter()
            .position(|l| l.trim_end() == close)
            .map_or(lines.len(), |n| i + n + 1);
        found.push((name, lines[i..end].to_vec()));
    }
    found
}

#[test]
fn no_function_over_80_lines() {
    let mut long = Vec::new();
    for (file, text) in library_sources() {
        for (name, lines) in items(&text, "fn") {
            if lines.len() > 80 {
                long.push(format!(
                    "{} fn {name}: {} lines",
                    file.display(),
                    lines.len()
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over 80 lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn no_struct_over_15_fields() {
    let mut big = Vec::new();
    for (file, text) in library_sources() {
        for (name, lines) in items(&text, "struct") {
            let fields = lines[1..]
                .iter()
                .filter(|l| {
                    let l = l.trim_start();
                    !l.starts_with("//")
                        && !l.starts_with('#')
                        && l.contains(':')
                        && l.split(':').next().is_some_and(|n| {
                            n.trim_start_matches("pub(crate) ")
                                .trim_start_matches("pub(super) ")
                                .trim_start_matches("pub ")
                                .chars()
                                .all(|c| c.is_alphanumeric() || c == '_')
                        })
                })
                .count();
            if fields > 15 {
                big.push(format!("{} struct {name}: {fields} fields", file.display()));
            }
        }
    }
    assert!(
        big.is_empty(),
        "structs over 15 fields:\n{}",
        big.join("\n")
    );
}
