//! A tonic codec for `DynamicMessage`: encodes whatever message it is given and decodes
//! responses with the method's output descriptor. One per call; they are cheap. And the
//! envelope gRPC, gRPC-Web and Connect streams put a message in, for the callers that frame
//! their own.
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Status;

#[derive(Debug, Clone)]
pub struct DynamicCodec {
    output: MessageDescriptor,
}

impl DynamicCodec {
    pub fn new(output: MessageDescriptor) -> Self {
        DynamicCodec { output }
    }
}

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> DynamicEncoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> DynamicDecoder {
        DynamicDecoder(self.output.clone())
    }
}

#[derive(Debug)]
pub struct DynamicEncoder;

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: DynamicMessage, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("cannot encode the request: {e}")))
    }
}

#[derive(Debug)]
pub struct DynamicDecoder(MessageDescriptor);

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<DynamicMessage>, Status> {
        use bytes::Buf;
        let bytes = src.copy_to_bytes(src.remaining());
        decode(&self.0, bytes).map(Some).map_err(|e| {
            Status::internal(format!(
                "cannot decode the response as {}: {e}",
                self.0.full_name()
            ))
        })
    }
}

/// A response message of `desc`. A string field that is not UTF-8 (C++ and Go servers send
/// them; prost-reflect refuses the whole message) is read lossily, U+FFFD for its broken bytes,
/// with a note on stderr naming the field, once per field.
pub fn decode(
    desc: &MessageDescriptor,
    bytes: bytes::Bytes,
) -> Result<DynamicMessage, prost::DecodeError> {
    let error = match DynamicMessage::decode(desc.clone(), bytes.clone()) {
        Ok(message) => return Ok(message),
        Err(e) => e,
    };
    let mut broken = Vec::new();
    let Some(mended) = lossy(desc, &bytes, 0, &mut broken) else {
        return Err(error);
    };
    if broken.is_empty() {
        return Err(error);
    }
    let message = DynamicMessage::decode(desc.clone(), mended.as_slice()).map_err(|_| error)?;
    static NOTED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut noted = NOTED.lock().unwrap_or_else(|e| e.into_inner());
    for field in broken {
        if !noted.contains(&field) {
            eprintln!(
                "rpcsh: note: the server sent {} not in UTF-8: shown with U+FFFD for its broken bytes",
                crate::sys::style::printable(&field)
            );
            noted.push(field);
        }
    }
    Ok(message)
}

/// `bytes`, a message of `desc` on the wire, with every string field that is not UTF-8 made
/// valid, nested messages followed; `broken` gets those fields' full names. None where the
/// bytes are not a message of that shape.
fn lossy(
    desc: &MessageDescriptor,
    mut bytes: &[u8],
    depth: u32,
    broken: &mut Vec<String>,
) -> Option<Vec<u8>> {
    use prost::encoding::{decode_key, decode_varint, encode_key, encode_varint, WireType};
    use prost_reflect::Kind;
    if depth > 100 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let take = |bytes: &mut &[u8], n: usize| -> Option<Vec<u8>> {
        let (value, rest) = (bytes.get(..n)?, bytes.get(n..)?);
        *bytes = rest;
        Some(value.to_vec())
    };
    while !bytes.is_empty() {
        let (tag, wire) = decode_key(&mut bytes).ok()?;
        encode_key(tag, wire, &mut out);
        match wire {
            WireType::Varint => encode_varint(decode_varint(&mut bytes).ok()?, &mut out),
            WireType::SixtyFourBit => out.extend(take(&mut bytes, 8)?),
            WireType::ThirtyTwoBit => out.extend(take(&mut bytes, 4)?),
            WireType::StartGroup | WireType::EndGroup => {}
            WireType::LengthDelimited => {
                let len = usize::try_from(decode_varint(&mut bytes).ok()?).ok()?;
                let value = take(&mut bytes, len)?;
                let field = desc.get_field(tag);
                let value = match field.as_ref().map(|f| (f, f.kind())) {
                    Some((f, Kind::String)) if std::str::from_utf8(&value).is_err() => {
                        broken.push(f.full_name().to_string());
                        String::from_utf8_lossy(&value).into_owned().into_bytes()
                    }
                    Some((_, Kind::Message(m))) => lossy(&m, &value, depth + 1, broken)?,
                    _ => value,
                };
                encode_varint(value.len() as u64, &mut out);
                out.extend(value);
            }
        }
    }
    Some(out)
}

/// A message in its envelope: flags (1: compressed), 4-byte big-endian length, the bytes.
pub fn envelope(flags: u8, message: &[u8]) -> bytes::Bytes {
    use bytes::BufMut;
    let mut frame = bytes::BytesMut::with_capacity(5 + message.len());
    frame.put_u8(flags);
    frame.put_u32(message.len() as u32);
    frame.extend_from_slice(message);
    frame.freeze()
}
