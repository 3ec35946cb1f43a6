//! Doc comments of what `describe` prints, from its file's `source_code_info` (kept by `.proto`
//! sources compiled here, and by descriptors from elsewhere that carry it). Read from the encoded
//! file when a symbol is described and given back by full name; pools never hold them (a build
//! drops them), so only what is printed pays.
use super::Schema;
use prost::Message;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto};
use std::collections::HashMap;

/// A definition's comments: those on the lines before it, and the one after it on its line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Comment {
    pub leading: String,
    pub trailing: String,
}

/// Comments by full name (`pkg.Svc`, `pkg.Svc.Method`, `pkg.Msg.field`, `pkg.Enum.VALUE`).
pub type Docs = HashMap<String, Comment>;

impl Schema {
    /// The encoded file that defines `full` (a message, or what it is nested in), as the
    /// source sent or read it: what a build fills in (`json_name`) is not in it yet.
    pub fn raw_file_of(&self, full: &str) -> Option<Vec<u8>> {
        self.reflected.files.bytes_of(full)
    }

    /// The comments of `symbol` and of what it holds (methods, fields, nested types, values).
    pub fn docs(&self, symbol: &str) -> Docs {
        let Some(bytes) = self.reflected.files.bytes_of(symbol) else {
            return Docs::new();
        };
        match FileDescriptorProto::decode(bytes.as_slice()) {
            Ok(file) => of_file(&file, symbol),
            Err(_) => Docs::new(),
        }
    }
}

/// The comments of `file` whose definitions are `symbol` or inside it.
fn of_file(file: &FileDescriptorProto, symbol: &str) -> Docs {
    let Some(info) = &file.source_code_info else {
        return Docs::new();
    };
    let mut names: HashMap<Vec<i32>, String> = HashMap::new();
    let package = file.package();
    let join = |scope: &str, name: &str| match scope.is_empty() {
        true => name.to_string(),
        false => format!("{scope}.{name}"),
    };
    for (i, service) in file.service.iter().enumerate() {
        let full = join(package, service.name());
        for (j, method) in service.method.iter().enumerate() {
            names.insert(vec![6, i as i32, 2, j as i32], join(&full, method.name()));
        }
        names.insert(vec![6, i as i32], full);
    }
    for (i, message) in file.message_type.iter().enumerate() {
        message_names(
            message,
            &join(package, message.name()),
            vec![4, i as i32],
            &mut names,
        );
    }
    for (i, e) in file.enum_type.iter().enumerate() {
        enum_names(e, &join(package, e.name()), vec![5, i as i32], &mut names);
    }
    let inside = |name: &str| {
        name == symbol
            || name
                .strip_prefix(symbol)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    let mut docs = Docs::new();
    for location in &info.location {
        let (leading, trailing) = (location.leading_comments(), location.trailing_comments());
        if leading.is_empty() && trailing.is_empty() {
            continue;
        }
        let Some(name) = names.get(&location.path).filter(|n| inside(n)) else {
            continue;
        };
        docs.insert(
            name.clone(),
            Comment {
                leading: leading.to_string(),
                trailing: trailing.to_string(),
            },
        );
    }
    docs
}

fn message_names(
    message: &DescriptorProto,
    full: &str,
    path: Vec<i32>,
    names: &mut HashMap<Vec<i32>, String>,
) {
    let at = |kind: i32, i: usize| {
        let mut p = path.clone();
        p.extend([kind, i as i32]);
        p
    };
    for (i, field) in message.field.iter().enumerate() {
        names.insert(at(2, i), format!("{full}.{}", field.name()));
    }
    for (i, nested) in message.nested_type.iter().enumerate() {
        message_names(
            nested,
            &format!("{full}.{}", nested.name()),
            at(3, i),
            names,
        );
    }
    for (i, e) in message.enum_type.iter().enumerate() {
        enum_names(e, &format!("{full}.{}", e.name()), at(4, i), names);
    }
    for (i, oneof) in message.oneof_decl.iter().enumerate() {
        names.insert(at(8, i), format!("{full}.{}", oneof.name()));
    }
    names.insert(path, full.to_string());
}

fn enum_names(
    e: &EnumDescriptorProto,
    full: &str,
    path: Vec<i32>,
    names: &mut HashMap<Vec<i32>, String>,
) {
    for (i, value) in e.value.iter().enumerate() {
        let mut p = path.clone();
        p.extend([2, i as i32]);
        names.insert(p, format!("{full}.{}", value.name()));
    }
    names.insert(path, full.to_string());
}

#[cfg(test)]
mod tests {
    #[test]
    fn comments_come_by_full_name_within_the_symbol() {
        let source = "syntax = \"proto3\";\npackage p;\n// A service.\nservice S {\n  // Does it.\n  rpc Do(M) returns (M);\n}\n// A message.\nmessage M {\n  string a = 1;  // the a\n  // Inner one.\n  message N { int32 x = 1; }\n}\nmessage Other {\n  // not asked\n  int32 y = 1;\n}\n";
        let dir = std::env::temp_dir().join(format!("rpcsh-docs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("d.proto"), source).unwrap();
        let mut compiler = protox::Compiler::new([&dir]).unwrap();
        compiler.include_source_info(true);
        compiler.open_file("d.proto").unwrap();
        let file = compiler.file_descriptor_set().file.remove(0);
        let docs = super::of_file(&file, "p.M");
        assert_eq!(docs["p.M"].leading, " A message.\n");
        assert_eq!(docs["p.M.a"].trailing, " the a\n");
        assert_eq!(docs["p.M.N"].leading, " Inner one.\n");
        assert!(!docs.contains_key("p.Other.y") && !docs.contains_key("p.S"));
        let docs = super::of_file(&file, "p.S");
        assert_eq!(docs["p.S.Do"].leading, " Does it.\n");
    }
}
