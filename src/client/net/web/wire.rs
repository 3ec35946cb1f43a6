//! What Connect and gRPC-Web put on the wire besides messages: trailers in a frame or in
//! `trailer-*` headers, Connect's JSON errors and end-of-stream message, the HTTP statuses and
//! their codes, and compression — each turned into what gRPC reports.
use crate::client::wire::invoke::{CallError, Compression};
use bytes::{Buf, Bytes};
use http::{HeaderMap, HeaderValue};
use std::io::{Read, Write};
use tonic::{metadata::MetadataMap, Code, Status};

/// Headers, and the `trailer-*` headers of a Connect unary answer as trailers.
pub(super) fn split_trailers(headers: &HeaderMap) -> (MetadataMap, MetadataMap) {
    let (mut plain, mut trailers) = (HeaderMap::new(), HeaderMap::new());
    for (name, value) in headers {
        match name.as_str().strip_prefix("trailer-") {
            Some(t) => {
                if let Ok(t) = http::HeaderName::try_from(t) {
                    trailers.append(t, value.clone());
                }
            }
            None => {
                plain.append(name, value.clone());
            }
        }
    }
    (
        MetadataMap::from_headers(plain),
        MetadataMap::from_headers(trailers),
    )
}

/// The `name: value` lines of a gRPC-Web trailers frame.
pub(super) fn header_block(payload: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in String::from_utf8_lossy(payload).split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = http::HeaderName::try_from(name.trim().to_ascii_lowercase());
        let value = HeaderValue::try_from(value.trim());
        if let (Ok(name), Ok(value)) = (name, value) {
            map.append(name, value);
        }
    }
    map
}

/// A gRPC status from `grpc-status`, `grpc-message` (percent-encoded) and
/// `grpc-status-details-bin` (base64, padded or not); the rest is metadata. tonic reads them,
/// once they are safe for it to.
pub(super) fn status_from_headers(mut headers: HeaderMap) -> Status {
    crate::client::wire::sanitize::headers(&mut headers);
    Status::from_header_map(&headers)
        .unwrap_or_else(|| Status::unknown("the server sent no grpc-status"))
}

/// Base64 with or without padding, in the standard or URL alphabet.
pub(super) fn base64_any(text: &[u8]) -> Option<Vec<u8>> {
    use base64::{alphabet, engine, Engine};
    let config = engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(engine::DecodePaddingMode::Indifferent);
    engine::GeneralPurpose::new(&alphabet::STANDARD, config)
        .decode(text)
        .or_else(|_| engine::GeneralPurpose::new(&alphabet::URL_SAFE, config).decode(text))
        .ok()
}

/// The error body of Connect: `{"code": "not_found", "message": ..., "details": [...]}`.
#[derive(serde::Deserialize, Default)]
pub(super) struct ConnectError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    details: Vec<ConnectDetail>,
}

#[derive(serde::Deserialize)]
struct ConnectDetail {
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default)]
    value: String,
}

impl ConnectError {
    /// As a gRPC status, its details as a `google.rpc.Status` (what gRPC carries).
    pub(super) fn status(self, metadata: MetadataMap) -> Status {
        let code = connect_code(&self.code);
        let details: Vec<prost_types::Any> = self
            .details
            .into_iter()
            .map(|d| prost_types::Any {
                type_url: match d.type_name.contains('/') {
                    true => d.type_name,
                    false => format!("type.googleapis.com/{}", d.type_name),
                },
                value: base64_any(d.value.as_bytes()).unwrap_or_default(),
            })
            .collect();
        let encoded = match details.is_empty() {
            true => Vec::new(),
            false => prost::Message::encode_to_vec(&tonic_types::Status {
                code: code as i32,
                message: self.message.clone(),
                details,
            }),
        };
        Status::with_details_and_metadata(code, self.message, encoded.into(), metadata)
    }
}

/// The end-of-stream message of a Connect stream: `{"error": {...}, "metadata": {...}}`.
pub(super) fn end_of_stream(payload: &[u8]) -> Status {
    #[derive(serde::Deserialize)]
    struct End {
        error: Option<ConnectError>,
        #[serde(default)]
        metadata: std::collections::BTreeMap<String, Vec<String>>,
    }
    let end: End = match serde_json::from_slice(payload) {
        Ok(end) => end,
        Err(e) => return Status::internal(format!("bad end-of-stream message: {e}")),
    };
    let mut trailers = HeaderMap::new();
    for (name, values) in end.metadata {
        let Ok(name) = http::HeaderName::try_from(name) else {
            continue;
        };
        for value in values {
            if let Ok(value) = HeaderValue::try_from(value) {
                trailers.append(name.clone(), value);
            }
        }
    }
    let metadata = MetadataMap::from_headers(trailers);
    match end.error {
        Some(error) => error.status(metadata),
        None => Status::with_metadata(Code::Ok, "", metadata),
    }
}

/// Connect's names of the codes.
pub(super) fn connect_code(name: &str) -> Code {
    match name {
        "canceled" | "cancelled" => Code::Cancelled,
        "invalid_argument" => Code::InvalidArgument,
        "deadline_exceeded" => Code::DeadlineExceeded,
        "not_found" => Code::NotFound,
        "already_exists" => Code::AlreadyExists,
        "permission_denied" => Code::PermissionDenied,
        "resource_exhausted" => Code::ResourceExhausted,
        "failed_precondition" => Code::FailedPrecondition,
        "aborted" => Code::Aborted,
        "out_of_range" => Code::OutOfRange,
        "unimplemented" => Code::Unimplemented,
        "internal" => Code::Internal,
        "unavailable" => Code::Unavailable,
        "data_loss" => Code::DataLoss,
        "unauthenticated" => Code::Unauthenticated,
        _ => Code::Unknown,
    }
}

pub(super) fn compressed(c: Compression, bytes: &[u8]) -> Bytes {
    let mut out = Vec::new();
    match c {
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(&mut out, flate2::Compression::fast());
            e.write_all(bytes).and_then(|_| e.finish().map(drop))
        }
        Compression::Deflate => {
            let mut e = flate2::write::ZlibEncoder::new(&mut out, flate2::Compression::fast());
            e.write_all(bytes).and_then(|_| e.finish().map(drop))
        }
        Compression::Zstd => zstd::stream::copy_encode(bytes, &mut out, 0),
    }
    .expect("compressing into memory");
    out.into()
}

/// A message over rpcsh's `--max-msg-size`, worded as tonic's own so that
/// `error::client_limit` knows it for rpcsh's limit.
pub(super) fn too_large(found: usize, limit: usize) -> CallError {
    CallError::Status(Status::out_of_range(format!(
        "Error, decoded message length too large: found {found} bytes, the limit is: {limit} bytes"
    )))
}

/// A payload in `encoding` (`identity` or none: as it is), decompressed no further than
/// `limit` (a small body must not inflate without end).
pub(crate) fn decompressed(
    encoding: Option<&str>,
    bytes: Bytes,
    limit: usize,
) -> Result<Bytes, CallError> {
    let mut out = Vec::new();
    let most = limit as u64 + 1;
    let read = match encoding.unwrap_or("identity") {
        "identity" => return Ok(bytes),
        "gzip" => flate2::read::GzDecoder::new(bytes.reader())
            .take(most)
            .read_to_end(&mut out),
        "deflate" => flate2::read::ZlibDecoder::new(bytes.reader())
            .take(most)
            .read_to_end(&mut out),
        "zstd" => zstd::stream::read::Decoder::new(bytes.reader())
            .and_then(|d| d.take(most).read_to_end(&mut out)),
        other => {
            return Err(CallError::Status(Status::internal(format!(
                "the server used an encoding rpcsh does not read: {other}"
            ))))
        }
    };
    read.map_err(|e| {
        CallError::Status(Status::internal(format!(
            "cannot decompress the response: {e}"
        )))
    })?;
    if out.len() > limit {
        return Err(too_large(out.len(), limit));
    }
    Ok(out.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_web_trailers_decode_percent_and_unpadded_details() {
        let block = b"grpc-status: 5\r\ngrpc-message: no%20such%20thing\r\ngrpc-status-details-bin: CAUSBG5vcGU\r\nx-extra: 1\r\n";
        let status = status_from_headers(header_block(block));
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "no such thing");
        assert_eq!(status.details(), b"\x08\x05\x12\x04nope");
        assert_eq!(status.metadata().get("x-extra").unwrap(), "1");
    }

    #[test]
    fn connect_errors_map_codes_and_details() {
        let body = br#"{"code":"not_found","message":"nope","details":[{"type":"grpc.testing.EchoStatus","value":"CAUSBG5vcGU"}]}"#;
        let status = serde_json::from_slice::<ConnectError>(body)
            .unwrap()
            .status(MetadataMap::new());
        assert_eq!(status.code(), Code::NotFound);
        let decoded: tonic_types::Status = prost::Message::decode(status.details()).unwrap();
        assert_eq!(
            decoded.details[0].type_url,
            "type.googleapis.com/grpc.testing.EchoStatus"
        );
        assert_eq!(decoded.details[0].value, b"\x08\x05\x12\x04nope");
        assert_eq!(end_of_stream(b"{}").code(), Code::Ok);
        assert_eq!(
            end_of_stream(br#"{"error":{"code":"canceled"},"metadata":{"x":["1","2"]}}"#).code(),
            Code::Cancelled
        );
    }
}
