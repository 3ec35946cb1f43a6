//! What tonic must not see: a `grpc-status-details-bin` that is not base64. tonic's
//! `Status::from_header_map` panics on one (tonic 0.14.9, `expect("Invalid status header")`),
//! so a broken or hostile server would crash rpcsh. Every gRPC response passes through here, its
//! headers and trailers losing such a value (the status keeps its code and message). And a
//! `grpc-message` that is not UTF-8 once percent-decoded, which tonic replaces by its own
//! decoding error: the server's text is kept, lossily, with a note.
use bytes::Bytes;
use http_body_util::{combinators::MapFrame, BodyExt};
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

/// A gRPC service (a tonic channel) whose responses are sanitized.
#[derive(Clone, Debug)]
pub struct Sanitize<S>(pub S);

type Body<B> = MapFrame<B, fn(Frame<Bytes>) -> Frame<Bytes>>;

impl<S, Req, B> tower::Service<http::Request<Req>> for Sanitize<S>
where
    S: tower::Service<http::Request<Req>, Response = http::Response<B>>,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = Bytes>,
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
            Ok(response.map(|body| body.map_frame(frame as fn(_) -> _)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
