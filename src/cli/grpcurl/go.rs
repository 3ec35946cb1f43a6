//! Go's ways of printing that grpcurl's output keeps: `strconv`'s shortest `%g` floats,
//! `encoding/json`'s strings (HTML characters escaped) and floats, map keys in Go's order, and
//! which messages jhump hands to golang's own writers (the well-known types).
use base64::Engine;
use prost_reflect::{MapKey, Value};

pub const INDENT: &str = "  ";

/// A scalar as jhump writes it: 64-bit integers quoted, floats as Go's `%g`, bytes in base64.
pub fn scalar(out: &mut String, value: &Value, json: bool) {
    match value {
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::I32(n) => out.push_str(&n.to_string()),
        Value::U32(n) => out.push_str(&n.to_string()),
        Value::I64(n) => out.push_str(&format!("\"{n}\"")),
        Value::U64(n) => out.push_str(&format!("\"{n}\"")),
        Value::F32(f) => out.push_str(&float(*f as f64, Some(*f), json)),
        Value::F64(f) => out.push_str(&float(*f, None, json)),
        Value::String(s) => go_string(out, s),
        Value::Bytes(b) => go_string(out, &base64::engine::general_purpose::STANDARD.encode(b)),
        Value::EnumNumber(n) => out.push_str(&n.to_string()),
        Value::Message(_) | Value::List(_) | Value::Map(_) => {}
    }
}

/// A float as jhump writes it in JSON (`"NaN"`, `"Infinity"`) or text (`nan`, `inf`).
pub fn float(f: f64, single: Option<f32>, json: bool) -> String {
    if f.is_nan() {
        return if json { "\"NaN\"" } else { "nan" }.into();
    }
    if f.is_infinite() {
        let sign = if f < 0.0 { "-" } else { "" };
        return if json {
            format!("\"{sign}Infinity\"")
        } else {
            format!("{sign}inf")
        };
    }
    let scientific = match single {
        Some(s) => format!("{s:e}"),
        None => format!("{f:e}"),
    };
    go_g(&scientific)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, bits)` from Rust's shortest `{:e}` (`1.5e-7`).
pub fn go_g(scientific: &str) -> String {
    let (mantissa, exp) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if negative { "-" } else { "" };
    if digits == "0" {
        return format!("{sign}0");
    }
    let n = digits.len() as i32;
    // Shortest formatting decides by a precision of 6, as Go does.
    if !(-4..6).contains(&exp) {
        let rest = &digits[1..];
        let dot = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{}{dot}e{esign}{:02}", &digits[..1], exp.abs());
    }
    // Fixed notation with as many decimals as the digits need.
    let point = exp + 1;
    if point <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
    } else if point >= n {
        format!("{sign}{digits}{}", "0".repeat((point - n) as usize))
    } else {
        let (a, b) = digits.split_at(point as usize);
        format!("{sign}{a}.{b}")
    }
}

/// Go's `encoding/json` float: `'f'` unless tiny or huge, then `'e'` with a short exponent.
pub fn go_json_float(f: f64, single: Option<f32>) -> String {
    if f.is_nan() || f.is_infinite() {
        return float(f, single, true);
    }
    let abs = f.abs();
    let (small, large) = match single {
        Some(_) => (1e-6_f64, 1e21_f64),
        None => (1e-6, 1e21),
    };
    if abs != 0.0 && (abs < small || abs >= large) {
        let s = match single {
            Some(s) => format!("{s:e}"),
            None => format!("{f:e}"),
        };
        let g = go_g(&s);
        // Go trims "e-07" to "e-7".
        return g.replace("e-0", "e-").replace("e+0", "e+");
    }
    match single {
        Some(s) => format!("{s}"),
        None => format!("{f}"),
    }
}

/// A string as Go's `encoding/json` writes it, HTML characters escaped.
pub fn go_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Go writes the bytes it could not read as UTF-8 as this escape; rpcsh has them
            // as U+FFFD already.
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\u{FFFD}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

pub fn map_key_text(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

pub fn map_key_order(a: &MapKey, b: &MapKey) -> std::cmp::Ordering {
    match (a, b) {
        (MapKey::Bool(x), MapKey::Bool(y)) => x.cmp(y),
        (MapKey::I32(x), MapKey::I32(y)) => x.cmp(y),
        (MapKey::I64(x), MapKey::I64(y)) => x.cmp(y),
        (MapKey::U32(x), MapKey::U32(y)) => x.cmp(y),
        (MapKey::U64(x), MapKey::U64(y)) => x.cmp(y),
        (MapKey::String(x), MapKey::String(y)) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    }
}

/// The types jhump hands to jsonpb (FieldMask is not among them: it prints as a message).
pub fn is_well_known(name: &str) -> bool {
    matches!(
        name,
        "google.protobuf.Any"
            | "google.protobuf.Empty"
            | "google.protobuf.Duration"
            | "google.protobuf.Timestamp"
            | "google.protobuf.Struct"
            | "google.protobuf.Value"
            | "google.protobuf.ListValue"
            | "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue"
    )
}

/// golang/protobuf 1.5's jsonpb writer, for the well-known types (and what they hold).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_prints_them() {
        let g = |f: f64| go_g(&format!("{f:e}"));
        assert_eq!(g(0.5), "0.5");
        assert_eq!(g(123456.0), "123456");
        assert_eq!(g(1_000_000.0), "1e+06");
        assert_eq!(g(1_234_567.0), "1.234567e+06");
        assert_eq!(g(0.0001), "0.0001");
        assert_eq!(g(0.00001), "1e-05");
        assert_eq!(g(-2.5e-7), "-2.5e-07");
        assert_eq!(g(0.0), "0");
        assert_eq!(go_json_float(1e21, None), "1e+21");
        assert_eq!(go_json_float(1e-7, None), "1e-7");
        assert_eq!(go_json_float(2.5, None), "2.5");
    }

    #[test]
    fn strings_as_go_escapes_them() {
        let mut s = String::new();
        go_string(&mut s, "a<b>&\"\\\n\u{1}é");
        assert_eq!(s, "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\u0001é\"");
    }
}
