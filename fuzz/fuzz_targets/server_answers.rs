//! What a server sends, played by the fuzzer: a schema (the descriptor files reflection or a
//! protoset gives, encoded as a FileDescriptorSet) and a response's bytes. The schema is indexed
//! and built as rpcsh builds it, its services resolved, described and templated, and the
//! response decoded as each method's output, its `Any`s resolved, then printed in every format
//! and read as a status's details. Nothing may panic, hang or allocate without bound.
//! Input: two bytes (little-endian) give the schema's length; the schema; the response.
#![no_main]
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use prost_reflect::DynamicMessage;
use rpcsh::format::{describe_symbol, render_status, template, write_message, Format, Style};
use rpcsh::source::{Schema, Symbol};

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let split = (u16::from_le_bytes(*head) as usize).min(rest.len());
    let (set, response) = rest.split_at(split);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(play(Bytes::copy_from_slice(set), response));
});

async fn play(set: Bytes, response: &[u8]) {
    let Ok(mut schema) = Schema::from_set(set, "the input") else {
        return;
    };
    schema.shallow();
    let Ok(services) = schema.services().await else {
        return;
    };
    for name in services.iter().take(4) {
        let Ok(service) = schema.resolve_service(name).await else {
            continue;
        };
        let _ = describe_symbol(&Symbol::Service(service.clone()));
        for method in service.methods().take(4) {
            let _ = template(&method.input());
            let _ = describe_symbol(&Symbol::Message(method.output()));
            let Ok(message) = DynamicMessage::decode(method.output(), response) else {
                continue;
            };
            let message = schema.resolve_any(message).await;
            for format in [Format::Json, Format::Jsonl, Format::Text] {
                let style = Style {
                    format,
                    emit_defaults: true,
                    proto_names: false,
                    color: false,
                };
                let _ = write_message(&mut Vec::new(), &message, &style);
            }
        }
    }
    let status = tonic::Status::with_details(
        tonic::Code::NotFound,
        "x",
        Bytes::copy_from_slice(response),
    );
    let _ = render_status(&status, schema.pool());
}
