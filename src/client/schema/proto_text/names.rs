//! The names a set defines, and how short a name may be written and still mean the same one by
//! protoc's scoping rules.
use super::super::editions::{messages, text};
use super::super::join;
use prost_reflect::DynamicMessage;
use std::collections::HashMap;

/// Every name the set defines: whether it is an aggregate (a package, message, enum or
/// service, whose members a dotted name may reach) and the file that defines it.
pub(super) struct Symbols(HashMap<String, (bool, usize)>);

impl Symbols {
    pub(super) fn of(files: &[DynamicMessage]) -> Self {
        let mut all = HashMap::new();
        for (index, file) in files.iter().enumerate() {
            let package = text(file, "package");
            let mut scope = String::new();
            for part in package.split('.').filter(|p| !p.is_empty()) {
                scope = join(&scope, part);
                all.entry(scope.clone()).or_insert((true, usize::MAX));
            }
            let mut add = |name: String, aggregate| {
                all.entry(name).or_insert((aggregate, index));
            };
            add_messages(file, "message_type", &package, &mut add);
            add_enums(file, &package, &mut add);
            for f in messages(file, "extension") {
                add(join(&package, &text(f, "name")), false);
            }
            for s in messages(file, "service") {
                let full = join(&package, &text(s, "name"));
                for m in messages(s, "method") {
                    add(join(&full, &text(m, "name")), false);
                }
                add(full, true);
            }
        }
        Symbols(all)
    }

    /// `full` as people write it: relative to `package` when it is in it (as short as it
    /// resolves back to itself from every scope in `scopes`), else whole; `.full` when even
    /// that would read as something else.
    pub(super) fn name(&self, full: &str, scopes: &[&str], package: &str) -> String {
        let parts: Vec<&str> = full.split('.').collect();
        let starts = match package {
            "" => 0..parts.len(),
            _ if full.starts_with(package) && full[package.len()..].starts_with('.') => {
                package.split('.').count()..parts.len()
            }
            _ => 0..1,
        };
        for start in starts.rev() {
            let candidate = parts[start..].join(".");
            if scopes
                .iter()
                .all(|s| self.resolve(&candidate, s).as_deref() == Some(full))
            {
                return candidate;
            }
        }
        format!(".{full}")
    }

    /// What protoc makes of `name` written in `scope`: the innermost scope that has its first
    /// part; a name whose first part is found but is not the answer is refused (protoc may go on
    /// looking, or fail), never guessed.
    pub(super) fn resolve(&self, name: &str, scope: &str) -> Option<String> {
        let first = name.split('.').next()?;
        let mut scope = scope;
        loop {
            let candidate = join(scope, first);
            if let Some(&(aggregate, _)) = self.0.get(&candidate) {
                if first.len() == name.len() {
                    return Some(candidate);
                }
                let whole = join(scope, name);
                return (aggregate && self.0.contains_key(&whole)).then_some(whole);
            }
            if scope.is_empty() {
                return None;
            }
            scope = scope.rsplit_once('.').map_or("", |(parent, _)| parent);
        }
    }

    pub(super) fn file_of(&self, full: &str) -> Option<usize> {
        self.0.get(full).map(|&(_, file)| file)
    }
}

fn add_messages(
    parent: &DynamicMessage,
    list: &str,
    scope: &str,
    add: &mut impl FnMut(String, bool),
) {
    for m in messages(parent, list) {
        let full = join(scope, &text(m, "name"));
        for name in ["field", "extension", "oneof_decl"] {
            for f in messages(m, name) {
                add(join(&full, &text(f, "name")), false);
            }
        }
        add_messages(m, "nested_type", &full, add);
        add_enums(m, &full, add);
        add(full, true);
    }
}

fn add_enums(parent: &DynamicMessage, scope: &str, add: &mut impl FnMut(String, bool)) {
    for e in messages(parent, "enum_type") {
        // Enum values are siblings of their enum, as in C++.
        for v in messages(e, "value") {
            add(join(scope, &text(v, "name")), false);
        }
        add(join(scope, &text(e, "name")), true);
    }
}
