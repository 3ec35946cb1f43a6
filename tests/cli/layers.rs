//! The crate's layering (see `src/lib.rs`): the `crate::` paths of `src/`'s top-level modules
//! form no cycle, the rules the layers rest on hold, and no file grows past 900 lines.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module → the top-level modules its code (comments aside) names as `crate::x`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mut names = BTreeSet::new();
        for file in rust_files(&path) {
            let text = std::fs::read_to_string(&file).unwrap();
            for line in text.lines() {
                let code = line.split("//").next().unwrap_or("");
                for (i, _) in code.match_indices("crate::") {
                    let rest = &code[i + "crate::".len()..];
                    let module: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !module.is_empty() && module != name {
                        names.insert(module);
                    }
                }
            }
        }
        graph.insert(name, names);
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

/// A cycle through `start`, if any: depth-first over the import graph.
fn cycle_from(
    graph: &BTreeMap<String, BTreeSet<String>>,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    let here = path.last().unwrap().clone();
    for next in graph.get(&here).into_iter().flatten() {
        if let Some(i) = path.iter().position(|p| p == next) {
            let mut cycle = path[i..].to_vec();
            cycle.push(next.clone());
            return Some(cycle);
        }
        if done.contains(next) {
            continue;
        }
        path.push(next.clone());
        if let Some(c) = cycle_from(graph, path, done) {
            return Some(c);
        }
        path.pop();
    }
    done.insert(here);
    None
}

#[test]
fn no_cycle_between_top_level_modules() {
    let graph = imports();
    assert!(graph.len() > 10, "read too few modules: {graph:?}");
    let mut done = BTreeSet::new();
    for start in graph.keys() {
        let mut path = vec![start.clone()];
        if let Some(cycle) = cycle_from(&graph, &mut path, &mut done) {
            panic!(
                "import cycle: {} — an import must point down the layers drawn in src/lib.rs",
                cycle.join(" -> ")
            );
        }
    }
}

#[test]
fn the_layers_rules_hold() {
    let graph = imports();
    let importers = |m: &str| -> Vec<&String> {
        graph
            .iter()
            .filter(|(_, names)| names.contains(m))
            .map(|(k, _)| k)
            .collect()
    };
    let cli_users = importers("cli");
    assert!(
        cli_users.iter().all(|m| *m == "main" || *m == "lib"),
        "cli is the command line only: imported by {cli_users:?}"
    );
    let config = &graph["config"];
    assert!(
        !config.contains("commands") && !config.contains("cli") && !config.contains("connection"),
        "config describes settings, it does not use them: imports {config:?}"
    );
    assert!(
        !graph["expect"].contains("repl"),
        "expectations are their own concept"
    );
    for (demo_side, names) in graph
        .iter()
        .filter(|(k, _)| ["demo", "server", "pb"].contains(&k.as_str()))
    {
        for client in [
            "transport",
            "source",
            "input",
            "invoke",
            "format",
            "connection",
        ] {
            assert!(
                !names.contains(client),
                "{demo_side} is beside the client and imports {client}"
            );
        }
    }
}

#[test]
fn the_diagram_in_lib_rs_names_every_module() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let diagram = lib
        .split("```text")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("src/lib.rs draws the layers in a ```text block");
    let words: BTreeSet<&str> = diagram
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    let missing: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
        .filter(|m| !words.contains(m))
        .collect();
    assert!(
        missing.is_empty(),
        "src/lib.rs's diagram does not place {missing:?}"
    );
}

#[test]
fn no_source_file_over_900_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in rust_files(&src) {
        let lines = std::fs::read_to_string(&file).unwrap().lines().count();
        assert!(lines <= 900, "{} has {lines} lines", file.display());
    }
}
