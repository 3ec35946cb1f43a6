//! JSON → DynamicMessage, as `rpcsh call` turns request data into messages, over every message of
//! the demo protos and of `tests/py/protos/interop.proto` (every field kind and well-known type).
//! The first byte picks the message; the rest is the JSON. Whatever parses must encode, decode
//! back and print without a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use rpcsh::format::{write_message, Format, Style};
use rpcsh::input::{parse_messages, ParseOptions};
use std::sync::OnceLock;

fn messages() -> &'static [MessageDescriptor] {
    static ALL: OnceLock<Vec<MessageDescriptor>> = OnceLock::new();
    ALL.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/py/protos");
        let interop =
            rpcsh::source::Schema::from_protos(&[format!("{dir}/interop.proto").into()], &[])
                .expect("interop.proto compiles");
        let mut all: Vec<_> = interop.pool().all_messages().collect();
        all.extend(rpcsh::source::demo_pool().all_messages());
        // Everything first: it has every field kind.
        all.sort_by_key(|m| m.name() != "Everything");
        all
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, json)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(json) else {
        return;
    };
    let all = messages();
    let desc = &all[pick as usize % all.len()];
    for lenient in [false, true] {
        let options = ParseOptions {
            allow_unknown_fields: lenient,
        };
        let Ok(parsed) = parse_messages(text, desc, options) else {
            continue;
        };
        for message in parsed {
            let bytes = message.encode_to_vec();
            let back = DynamicMessage::decode(desc.clone(), bytes.as_slice())
                .expect("what we encoded decodes");
            for format in [Format::Json, Format::Jsonl, Format::Text] {
                let style = Style {
                    format,
                    emit_defaults: lenient,
                    proto_names: false,
                    color: false,
                };
                let _ = write_message(&mut Vec::new(), &back, &style);
            }
        }
    }
});
