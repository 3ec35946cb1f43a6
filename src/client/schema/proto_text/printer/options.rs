//! Options as `.proto` text: `name = value` pairs for `option` statements and `[...]` lists —
//! extensions as `(name)`, editions features as `features.x`, messages as `{ text format }` —
//! and the line and comment output the printer writes through.
use super::super::super::editions::{message_field, text};
use super::super::literal::*;
use super::SourceWriter;
use prost_reflect::text_format::FormatOptions;
use prost_reflect::{DynamicMessage, Kind, Value};

impl SourceWriter<'_> {
    /// The options `element` sets, as `name = value` pairs: `(ext)` for extensions,
    /// `features.x` for editions features, one pair per element of a list.
    pub(super) fn options(
        &mut self,
        element: &DynamicMessage,
        field: &str,
        scopes: &[&str],
        skip: &[&str],
    ) -> anyhow::Result<Vec<(String, String)>> {
        let mut pairs = Vec::new();
        let Some(options) = message_field(element, field) else {
            return Ok(pairs);
        };
        let what = text(element, "name");
        for (f, value) in options.fields() {
            let name = f.name();
            if skip.contains(&name) || name == "uninterpreted_option" {
                continue;
            }
            if name == "features" {
                if let Value::Message(set) = value {
                    for (feature, value) in set.fields() {
                        self.values(
                            &mut pairs,
                            format!("features.{}", feature.name()),
                            value,
                            &feature.kind(),
                        );
                    }
                    for (ext, value) in set.extensions() {
                        let ext_name = self.option_name(ext.full_name(), scopes);
                        self.values(
                            &mut pairs,
                            format!("features.({ext_name})"),
                            value,
                            &ext.kind(),
                        );
                    }
                    self.unknown(set, &what);
                }
                continue;
            }
            self.values(&mut pairs, name.to_string(), value, &f.kind());
        }
        for (ext, value) in options.extensions() {
            let name = format!("({})", self.option_name(ext.full_name(), scopes));
            self.values(&mut pairs, name, value, &ext.kind());
        }
        self.unknown(options, &what);
        Ok(pairs)
    }

    pub(super) fn option_name(&mut self, full: &str, scopes: &[&str]) -> String {
        if let Some(file) = self.symbols.file_of(full) {
            self.uses.insert(file);
        }
        self.symbols.name(full, scopes, &self.package)
    }

    pub(super) fn values(
        &mut self,
        pairs: &mut Vec<(String, String)>,
        name: String,
        value: &Value,
        kind: &Kind,
    ) {
        match value {
            Value::List(items) => {
                for item in items {
                    pairs.push((name.clone(), self.value(item, kind, &name)));
                }
            }
            Value::Map(_) => self
                .dropped
                .push(format!("{}: the map option {name}", self.file_name)),
            _ => pairs.push((name.clone(), self.value(value, kind, &name))),
        }
    }

    pub(super) fn value(&mut self, value: &Value, kind: &Kind, name: &str) -> String {
        match value {
            Value::Bool(b) => b.to_string(),
            Value::I32(n) => n.to_string(),
            Value::I64(n) => n.to_string(),
            Value::U32(n) => n.to_string(),
            Value::U64(n) => n.to_string(),
            Value::F32(x) => float(f64::from(*x)),
            Value::F64(x) => float(*x),
            Value::String(s) => quote(s.as_bytes(), true),
            Value::Bytes(b) => quote(b, false),
            Value::EnumNumber(n) => kind
                .as_enum()
                .and_then(|e| e.get_value(*n))
                .map_or_else(|| n.to_string(), |v| v.name().to_string()),
            Value::Message(m) => {
                if has_unknown(m) {
                    self.dropped.push(format!(
                        "{}: unknown fields inside option {name}",
                        self.file_name
                    ));
                }
                let options = FormatOptions::new().pretty(true).skip_unknown_fields(true);
                let inner = m.to_text_format_with_options(&options);
                if inner.trim().is_empty() {
                    "{}".to_string()
                } else {
                    let lines: Vec<String> = inner.lines().map(|l| format!("  {l}")).collect();
                    format!("{{\n{}\n}}", lines.join("\n"))
                }
            }
            Value::List(_) | Value::Map(_) => String::new(),
        }
    }

    pub(super) fn unknown(&mut self, options: &DynamicMessage, what: &str) {
        if options.unknown_fields().next().is_some() {
            self.dropped.push(format!(
                "{}: options of {what} that no file of the set defines",
                self.file_name
            ));
        }
    }

    /// A statement with its comments: detached ones, leading, and a trailing one.
    pub(super) fn statement(&mut self, depth: usize, path: &[i32], text: &str) {
        let trailing = self.leading(depth, path);
        self.line(depth, &format!("{text}{trailing}"));
    }

    /// A block's first line (`message X {`) with its comments.
    pub(super) fn open(&mut self, depth: usize, path: &[i32], head: &str) {
        let trailing = self.leading(depth, path);
        self.line(depth, &format!("{head} {{{trailing}"));
    }

    /// Prints the comments before the element at `path`; returns its trailing one.
    pub(super) fn leading(&mut self, depth: usize, path: &[i32]) -> String {
        let Some(location) = self.comments.get(path).copied() else {
            return String::new();
        };
        for detached in strings(location, "leading_detached_comments") {
            self.comment(depth, &detached);
            self.out.push('\n');
        }
        self.comment(depth, &text(location, "leading_comments"));
        let trailing = text(location, "trailing_comments");
        let lines = comment_lines(&trailing);
        match lines.as_slice() {
            [] => String::new(),
            [one] => format!(" //{one}"),
            _ => {
                // Several lines: they go before, where they still read as this element's.
                self.comment(depth, &trailing);
                String::new()
            }
        }
    }

    pub(super) fn comment(&mut self, depth: usize, text: &str) {
        for line in comment_lines(text) {
            self.line(depth, &format!("//{line}"));
        }
    }

    pub(super) fn line(&mut self, depth: usize, text: &str) {
        let indent = "  ".repeat(depth);
        for line in text.lines() {
            self.out.push_str(&indent);
            self.out.push_str(line);
            self.out.push('\n');
        }
    }

    pub(super) fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }
}

pub(super) fn has_unknown(m: &DynamicMessage) -> bool {
    let inner = |v: &Value| match v {
        Value::Message(m) => has_unknown(m),
        Value::List(items) => items
            .iter()
            .any(|i| i.as_message().is_some_and(has_unknown)),
        Value::Map(entries) => entries
            .values()
            .any(|i| i.as_message().is_some_and(has_unknown)),
        _ => false,
    };
    m.unknown_fields().next().is_some()
        || m.fields().any(|(_, v)| inner(v))
        || m.extensions().any(|(_, v)| inner(v))
}
