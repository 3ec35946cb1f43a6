//! What tonic must not see: a `grpc-status-details-bin` that is not base64. tonic's
//! `Status::from_header_map` panics on one (tonic 0.14.9, `expect("Invalid status header")`),
//! so a broken or hostile server would crash rpcsh. Every gRPC response passes through here, its
//! headers and trailers losing such a value (the status keeps its code and message). And a
//! `grpc-message` that is not UTF-8 once percent-decoded, which tonic replaces by its own
//! decoding error: the server's text is kept, lossily, with a note.
//!
//! And an answer that is not gRPC at all (an ingress proxy's `502 Bad Gateway` page, its `413`
//! past a body limit): tonic would read the HTML as messages ("invalid compression flag: 60").
//! It becomes the status gRPC's HTTP-to-status mapping gives it, here for the gRPC path and in
//! `not_grpc` for the web client too.
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::{combinators::MapFrame, BodyExt, Either, Empty};
use hyper::body::Frame;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

const DETAILS: &str = "grpc-status-details-bin";
const MESSAGE: &str = "grpc-message";

/// A `grpc-message` whose percent-decoded bytes are not UTF-8, made into one that is: the text
/// with U+FFFD where the bytes were broken, and a note saying so, percent-encoded again.
fn message(map: &mut http::HeaderMap) {
    let Some(value) = map.get(MESSAGE) else {
        return;
    };
    let decoded: Vec<u8> = percent_encoding::percent_decode(value.as_bytes()).collect();
    if std::str::from_utf8(&decoded).is_ok() {
        return;
    }
    let text = format!(
        "{} (the server's message is not UTF-8: shown with U+FFFD for its broken bytes)",
        String::from_utf8_lossy(&decoded)
    );
    // What gRPC's spec percent-encodes: bytes outside printable ASCII, and `%`.
    const ENCODED: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%');
    let encoded = percent_encoding::utf8_percent_encode(&text, ENCODED).to_string();
    if let Ok(value) = http::HeaderValue::from_str(&encoded) {
        map.insert(MESSAGE, value);
    }
}

/// Drops a `grpc-status-details-bin` that does not decode as tonic decodes it: the standard
/// alphabet, padded or not (web/'s decoder also takes the URL-safe one, which tonic would not).
pub fn headers(map: &mut http::HeaderMap) {
    use base64::{alphabet, engine, Engine};
    let config = engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(engine::DecodePaddingMode::Indifferent);
    let valid = |v: &http::HeaderValue| {
        engine::GeneralPurpose::new(&alphabet::STANDARD, config)
            .decode(v.as_bytes())
            .is_ok()
    };
    if map.get_all(DETAILS).iter().any(|v| !valid(v)) {
        map.remove(DETAILS);
    }
    message(map);
}

fn frame(frame: Frame<Bytes>) -> Frame<Bytes> {
    match frame.into_trailers() {
        Ok(mut trailers) => {
            headers(&mut trailers);
            Frame::trailers(trailers)
        }
        Err(frame) => frame,
    }
}

/// The metadata, shown by `-v` among a call's trailers, that keeps what a non-gRPC answer was:
/// its HTTP status, and the first line of text of its body.
pub const HTTP_STATUS: &str = "rpcsh-http-status";
pub const HTTP_BODY: &str = "rpcsh-http-body";

/// The code an HTTP status stands for when the answer carries no `grpc-status` (grpc/grpc
/// `doc/http-grpc-status-mapping.md`, which Connect shares).
pub fn code_of_http(status: StatusCode) -> tonic::Code {
    use tonic::Code;
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

/// Whether an answer is not gRPC: no `grpc-status` of its own, and an HTTP status other than 200
/// or a content type of another kind (none at all is let pass, as tonic does).
pub fn is_not_grpc(status: StatusCode, headers: &HeaderMap) -> bool {
    if headers.contains_key("grpc-status") {
        return false;
    }
    let content_type = headers.get(http::header::CONTENT_TYPE);
    status != StatusCode::OK
        || content_type.is_some_and(|v| !v.as_bytes().starts_with(b"application/grpc"))
}

/// The status of an answer that is not gRPC, saying its HTTP status and content type; `body` is
/// its beginning, whose first line of text goes under `-v`.
pub fn not_grpc(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> tonic::Status {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let content_type = match content_type {
        Some(t) => format!("content-type {t:?}"),
        None => "no content-type".into(),
    };
    let reason = status.canonical_reason().unwrap_or("");
    let message = format!(
        "the server answered HTTP {} {reason} with {content_type}, not gRPC",
        status.as_u16()
    );
    let mut metadata = tonic::metadata::MetadataMap::from_headers(headers.clone());
    metadata.insert(HTTP_STATUS, status.as_u16().into());
    if let Some(line) = first_line(body) {
        if let Ok(value) = line.parse() {
            metadata.insert(HTTP_BODY, value);
        }
    }
    tonic::Status::with_metadata(code_of_http(status), message, metadata)
}

/// The first line of text of a body: HTML's tags dropped (an error page's first line is
/// `<html>`), control characters and runs of blanks made one space, at most 200 characters.
fn first_line(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let mut plain = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push('\n');
            }
            _ if in_tag => {}
            c => plain.push(c),
        }
    }
    let line = plain.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line: String = line
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(200)
        .collect();
    (!line.is_empty()).then_some(line)
}

/// The hint a non-gRPC answer deserves, by its HTTP status (as `not_grpc` kept it).
pub fn hint(status: &tonic::Status) -> Option<&'static str> {
    let http = status.metadata().get(HTTP_STATUS)?.to_str().ok()?;
    Some(match http {
        "413" => "a proxy in front of the server refuses bodies this large: raise its limit (nginx: client_max_body_size, haproxy: tune.bufsize) or send less",
        "502" | "503" | "504" => "a proxy in front of the server could not reach it: is the gRPC server behind it running, and is the proxy's upstream right?",
        "404" => "nothing serves this path: is the proxy routing it to a gRPC server (nginx: grpc_pass)?",
        "400" | "426" => "the server or a proxy in front of it does not take HTTP/2 gRPC here: is it a gRPC port?",
        _ => return None,
    })
}

/// The beginning of a body that is not gRPC: what came within a second, up to 1 KiB.
async fn beginning<B>(body: &mut B) -> Vec<u8>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    let mut out = Vec::new();
    let read = async {
        while out.len() < 1024 {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        out.extend_from_slice(&data);
                    }
                }
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), read).await;
    out.truncate(1024);
    out
}

/// A gRPC service (a tonic channel) whose responses are sanitized.
#[derive(Clone, Debug)]
pub struct Sanitize<S>(pub S);

type Body<B> = Either<MapFrame<B, fn(Frame<Bytes>) -> Frame<Bytes>>, Empty<Bytes>>;

impl<S, Req, B> tower::Service<http::Request<Req>> for Sanitize<S>
where
    S: tower::Service<http::Request<Req>, Response = http::Response<B>>,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Unpin + Send + 'static,
{
    type Response = http::Response<Body<B>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Req>) -> Self::Future {
        let response = self.0.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            headers(response.headers_mut());
            if is_not_grpc(response.status(), response.headers()) {
                // Answered as a trailers-only gRPC answer of the status it maps to.
                let (parts, mut body) = response.into_parts();
                let start = beginning(&mut body).await;
                let status = not_grpc(parts.status, &parts.headers, &start);
                let mut answer = status.into_http::<Empty<Bytes>>();
                // `-v` shows the content type the server sent, not the one tonic reads.
                if let Some(sent) = parts.headers.get(http::header::CONTENT_TYPE) {
                    answer
                        .headers_mut()
                        .insert(http::header::CONTENT_TYPE, sent.clone());
                }
                return Ok(answer.map(Either::Right));
            }
            Ok(response.map(|body| Either::Left(body.map_frame(frame as fn(_) -> _))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_that_is_not_grpc_maps_to_a_status() {
        let mut html = HeaderMap::new();
        html.insert("content-type", "text/html".parse().unwrap());
        assert!(is_not_grpc(StatusCode::BAD_GATEWAY, &html));
        assert!(is_not_grpc(StatusCode::OK, &html));
        let mut grpc = HeaderMap::new();
        grpc.insert("content-type", "application/grpc+proto".parse().unwrap());
        assert!(!is_not_grpc(StatusCode::OK, &grpc));
        assert!(is_not_grpc(StatusCode::NOT_FOUND, &grpc));
        grpc.insert("grpc-status", "12".parse().unwrap());
        assert!(
            !is_not_grpc(StatusCode::NOT_FOUND, &grpc),
            "grpc-status wins"
        );
        let body = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\x1b[2J";
        let status = not_grpc(StatusCode::BAD_GATEWAY, &html, body);
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(
            status.message(),
            "the server answered HTTP 502 Bad Gateway with content-type \"text/html\", not gRPC"
        );
        assert_eq!(status.metadata().get(HTTP_BODY).unwrap(), "502 Bad Gateway");
        assert!(hint(&status).unwrap().contains("could not reach"));
        for (http, code) in [
            (400, "Internal"),
            (401, "Unauthenticated"),
            (403, "PermissionDenied"),
            (404, "Unimplemented"),
            (429, "Unavailable"),
            (503, "Unavailable"),
            (504, "Unavailable"),
            (413, "Unknown"),
            (500, "Unknown"),
        ] {
            let http = StatusCode::from_u16(http).unwrap();
            assert_eq!(format!("{:?}", code_of_http(http)), code, "{http}");
        }
        assert_eq!(
            first_line(b"\x07\x1b[31m  ring \t bell\n2"),
            Some("[31m ring bell".into())
        );
    }

    #[test]
    fn only_bad_details_go() {
        let mut map = http::HeaderMap::new();
        map.insert("grpc-status", "5".parse().unwrap());
        map.insert(DETAILS, "CAUSBG5vcGU".parse().unwrap());
        headers(&mut map);
        assert!(map.contains_key(DETAILS), "unpadded base64 stays");
        map.insert(DETAILS, "!!!not base64!!!".parse().unwrap());
        headers(&mut map);
        assert!(!map.contains_key(DETAILS));
        assert_eq!(map["grpc-status"], "5");
    }

    #[test]
    fn a_message_that_is_not_utf8_is_kept_lossily() {
        let mut map = http::HeaderMap::new();
        map.insert(MESSAGE, "bad %FF%FE then %E4%BD%A0".parse().unwrap());
        headers(&mut map);
        let text: Vec<u8> = percent_encoding::percent_decode(map[MESSAGE].as_bytes()).collect();
        let text = String::from_utf8(text).unwrap();
        assert!(text.starts_with("bad \u{fffd}\u{fffd} then 你"), "{text}");
        assert!(text.contains("not UTF-8"), "{text}");
        map.insert(MESSAGE, "fine %E4%BD%A0".parse().unwrap());
        headers(&mut map);
        assert_eq!(map[MESSAGE], "fine %E4%BD%A0");
    }
}
