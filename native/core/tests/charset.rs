//! `CharacterSet` against pydicom 3.0.2: every vector of `tests/data/charset_vectors.json`
//! (written by `tools/gen_charset_vectors.py`, which documents what each field holds).

use dicodec_core::charset::{CharacterSet, TEXT_DELIMITERS};
use serde_json::Value;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/charset_vectors.json");

/// The vectors of the JSON file.
fn vectors() -> Vec<Value> {
    let text = std::fs::read_to_string(VECTORS).unwrap_or_else(|e| panic!("reading {VECTORS}: {e}"));
    let document: Value = serde_json::from_str(&text).expect("charset_vectors.json is JSON");
    document["vectors"].as_array().expect("a `vectors` array").clone()
}

/// The bytes of a hex string.
fn unhex(text: &str) -> Vec<u8> {
    assert_eq!(text.len() % 2, 0, "odd hex string {text:?}");
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits")).collect()
}

/// A string field of a vector.
fn field<'a>(vector: &'a Value, name: &str) -> &'a str {
    vector[name].as_str().unwrap_or_else(|| panic!("vector without `{name}`: {vector}"))
}

/// `bytes` without trailing spaces and NULs.
fn trim_padding(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != b' ' && b != 0).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// The element value as pydicom presents it, derived from `decode` the way pydicom's value
/// conversion derives it (see the generator's documentation).
fn element_value(set: &CharacterSet, vr: &str, raw: &[u8]) -> String {
    match vr {
        "PN" => {
            let text = set.decode(trim_padding(raw), TEXT_DELIMITERS);
            let names: Vec<&str> = text.split('\\').map(|name| name.trim_end_matches('=')).collect();
            names.join("\\")
        }
        "ST" | "LT" | "UT" => set.decode(raw, TEXT_DELIMITERS).trim_end_matches(['\0', ' ']).to_owned(),
        _ => {
            let text = set.decode(raw, TEXT_DELIMITERS);
            let values: Vec<&str> = text.split('\\').map(|value| value.trim_end_matches(['\0', ' '])).collect();
            values.join("\\")
        }
    }
}

#[test]
fn decode_matches_pydicom() {
    let vectors = vectors();
    assert!(vectors.len() > 500, "only {} vectors", vectors.len());
    let mut failures = Vec::new();
    let mut values_checked = 0;
    for vector in &vectors {
        let source = field(vector, "source");
        let charset = unhex(field(vector, "charset"));
        let raw = unhex(field(vector, "raw"));
        let delimiters = unhex(field(vector, "delimiters"));
        let expected = field(vector, "expected");
        let set = CharacterSet::from_value(&charset);
        let got = set.decode(&raw, &delimiters);
        if got != expected {
            failures.push(format!(
                "{source}: charset {:?}, raw {}, delimiters {delimiters:?}\n    decoded  {got:?}\n    pydicom  {expected:?}",
                String::from_utf8_lossy(&charset),
                field(vector, "raw"),
            ));
        }
        if let Some(value) = vector.get("value").and_then(Value::as_str) {
            values_checked += 1;
            let derived = element_value(&set, field(vector, "vr"), &raw);
            if derived != value {
                failures.push(format!(
                    "{source} (element value, {}): charset {:?}, raw {}\n    derived  {derived:?}\n    pydicom  {value:?}",
                    field(vector, "vr"),
                    String::from_utf8_lossy(&charset),
                    field(vector, "raw"),
                ));
            }
        }
    }
    assert!(values_checked > 100, "only {values_checked} element values");
    assert!(
        failures.is_empty(),
        "{} of {} vectors differ from pydicom:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn vectors_cover_every_supported_term() {
    let vectors = vectors();
    let charsets: Vec<String> =
        vectors.iter().map(|v| String::from_utf8_lossy(&unhex(field(v, "charset"))).into_owned()).collect();
    for term in [
        "ISO_IR 100",
        "ISO_IR 101",
        "ISO_IR 109",
        "ISO_IR 110",
        "ISO_IR 126",
        "ISO_IR 127",
        "ISO_IR 138",
        "ISO_IR 144",
        "ISO_IR 148",
        "ISO_IR 166",
        "ISO_IR 13",
        "ISO_IR 192",
        "GB18030",
        "GBK",
        "ISO 2022 IR 87",
        "ISO 2022 IR 159",
        "ISO 2022 IR 149",
        "ISO 2022 IR 58",
        "ISO 2022 IR 13",
    ] {
        assert!(charsets.iter().any(|c| c.split('\\').any(|t| t == term)), "no vector for {term}");
    }
}
