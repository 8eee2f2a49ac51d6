//! Decoding values from their bytes, on demand. Nothing here is called by the scanner.
//!
//! Text follows PS3.5 6.2: values are separated by backslashes, padding is stripped where the
//! standard calls it insignificant, and the VRs that may use other repertoires are decoded
//! with the data set's Specific Character Set.

use std::borrow::Cow;

use crate::charset::{CharacterSet, TEXT_DELIMITERS};
use crate::tag::Tag;
use crate::vr::Vr;

/// Strip trailing NULs and spaces: the padding every text VR may carry.
fn trim_padding(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != b' ' && b != 0).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// Bytes of the default repertoire, read as ISO 8859-1 so that no byte is ever lost.
fn latin1(bytes: &[u8]) -> Cow<'_, str> {
    // Nearly always ASCII, which is the same bytes in UTF-8: borrowed as they are.
    if bytes.is_ascii() {
        if let Ok(text) = std::str::from_utf8(bytes) {
            return Cow::Borrowed(text);
        }
    }
    Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect())
}

/// The values of a string VR, padding stripped; empty for an empty element.
///
/// `charset` applies to SH, LO, UC, PN, ST, LT and UT; the other string VRs use the
/// default repertoire.
#[must_use]
pub fn strings(bytes: &[u8], vr: Vr, charset: &CharacterSet) -> Vec<String> {
    let mut values = Vec::new();
    for_each_string(bytes, vr, charset, |value| values.push(value.to_owned()));
    values
}

/// [`strings`], each value handed to `f` in turn rather than collected: borrowed from `bytes`
/// when it reads as itself (ASCII, the usual case), so that nothing is allocated for it.
pub fn for_each_string(bytes: &[u8], vr: Vr, charset: &CharacterSet, mut f: impl FnMut(&str)) {
    match vr {
        // Text is decoded whole, then split: in the character sets DICOM allows, only control
        // characters reset ISO 2022 state, and a backslash may be the second byte of a GBK pair.
        Vr::LT | Vr::ST | Vr::UT => {
            let text = charset.decode_borrowed(bytes, TEXT_DELIMITERS);
            let trimmed = text.trim_end_matches(['\0', ' ']);
            if !trimmed.is_empty() {
                f(trimmed);
            }
        }
        Vr::UR => {
            // Trailing spaces are insignificant in a URI; leading ones are not allowed.
            let text = latin1(trim_padding(bytes));
            if !text.is_empty() {
                f(&text);
            }
        }
        Vr::PN => {
            let trimmed = trim_padding(bytes);
            if trimmed.is_empty() {
                return;
            }
            // Empty trailing component groups ("Yamada^Tarou==") carry nothing.
            let text = charset.decode_borrowed(trimmed, TEXT_DELIMITERS);
            text.split('\\').for_each(|name| f(name.trim_end_matches('=')));
        }
        Vr::SH | Vr::LO | Vr::UC => {
            if trim_padding(bytes).is_empty() {
                return;
            }
            let text = charset.decode_borrowed(bytes, TEXT_DELIMITERS);
            text.split('\\').for_each(|value| f(value.trim_end_matches(['\0', ' '])));
        }
        Vr::AE => {
            // Leading and trailing spaces are both insignificant in an Application Entity.
            let trimmed = trim_padding(bytes);
            if trimmed.is_empty() {
                return;
            }
            trimmed.split(|&b| b == b'\\').for_each(|v| f(latin1(v).trim_matches(' ')));
        }
        _ => {
            let trimmed = trim_padding(bytes);
            if trimmed.is_empty() {
                return;
            }
            trimmed.split(|&b| b == b'\\').for_each(|v| f(&latin1(v)));
        }
    }
}

/// The values of a DS or IS element as text, without copying: padding stripped, split at the
/// backslashes. A value that is not ASCII is None (it cannot be a number anyway).
pub fn number_texts(bytes: &[u8]) -> impl Iterator<Item = Option<&str>> {
    let trimmed = trim_padding(bytes);
    trimmed.split(|&b| b == b'\\').filter(move |_| !trimmed.is_empty()).map(|v| if v.is_ascii() { std::str::from_utf8(v).ok() } else { None })
}

/// A Decimal String value (PS3.5 6.2: leading and trailing spaces allowed).
#[must_use]
pub fn parse_ds(text: &str) -> Option<f64> {
    let text = text.trim_matches([' ', '\0']);
    // Rust's float parser accepts "inf" and "NaN", which are not decimal strings.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E')) {
        return None;
    }
    text.parse().ok()
}

/// An Integer String value. pydicom also accepts a decimal with a zero fraction ("12.0").
#[must_use]
pub fn parse_is(text: &str) -> Option<i64> {
    let text = text.trim_matches([' ', '\0']);
    if let Ok(value) = text.parse::<i64>() {
        return Some(value);
    }
    let float = parse_ds(text)?;
    #[allow(clippy::cast_precision_loss)]
    let fits = float.fract() == 0.0 && float.abs() < (1u64 << 53) as f64;
    #[allow(clippy::cast_possible_truncation)]
    fits.then_some(float as i64)
}

/// A number read from a DS or IS value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

/// The number in a DS or IS value, as pydicom reads it: DS as a float; IS as an integer, or
/// as the float it spells when it is not one ("1.5", invalid for IS but seen in files).
#[must_use]
pub fn parse_numeric_string(text: &str, vr: Vr) -> Option<Number> {
    if vr == Vr::IS {
        if let Some(value) = parse_is(text) {
            return Some(Number::Int(value));
        }
    }
    parse_ds(text).map(Number::Float)
}

/// Fixed-width binary numbers, read in either byte order. Any trailing partial value is ignored.
pub trait Binary: Sized + Copy {
    /// Width in bytes.
    const WIDTH: usize;
    /// Read one value.
    fn read(bytes: &[u8], big_endian: bool) -> Self;
}

macro_rules! binary {
    ($($t:ty),+) => {$(
        impl Binary for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();
            #[inline]
            fn read(bytes: &[u8], big_endian: bool) -> Self {
                let array = bytes.try_into().expect("chunks_exact yields WIDTH bytes");
                if big_endian { <$t>::from_be_bytes(array) } else { <$t>::from_le_bytes(array) }
            }
        }
    )+};
}
binary!(u16, i16, u32, i32, u64, i64, f32, f64);

/// All whole values of type `T` in `bytes`.
#[must_use]
pub fn binary_values<T: Binary>(bytes: &[u8], big_endian: bool) -> Vec<T> {
    bytes.chunks_exact(T::WIDTH).map(|chunk| T::read(chunk, big_endian)).collect()
}

/// Attribute Tag values: pairs of 16-bit group and element numbers.
#[must_use]
pub fn tags(bytes: &[u8], big_endian: bool) -> Vec<Tag> {
    bytes
        .chunks_exact(4)
        .map(|c| Tag::new(u16::read(&c[..2], big_endian), u16::read(&c[2..], big_endian)))
        .collect()
}

/// The components of a Person Name: alphabetic, ideographic and phonetic groups
/// ('='-separated), each of family, given, middle, prefix and suffix ('^'-separated).
#[must_use]
pub fn person_name_groups(name: &str) -> Vec<Vec<&str>> {
    name.split('=').map(|group| group.split('^').collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ascii() -> CharacterSet {
        CharacterSet::from_value(b"")
    }

    #[test]
    fn strings_split_and_strip() {
        assert_eq!(strings(b"ORIGINAL\\PRIMARY ", Vr::CS, &ascii()), ["ORIGINAL", "PRIMARY"]);
        assert_eq!(strings(b"   STORESCU ", Vr::AE, &ascii()), ["STORESCU"]);
        assert_eq!(strings(b"1.2.840.10008.1.2\0", Vr::UI, &ascii()), ["1.2.840.10008.1.2"]);
        assert!(strings(b"  ", Vr::CS, &ascii()).is_empty());
        assert_eq!(strings(b"a\\b \\c", Vr::LO, &ascii()), ["a", "b", "c"]);
        assert_eq!(strings(b"line 1\\still one value  ", Vr::LT, &ascii()), ["line 1\\still one value"]);
        assert_eq!(strings(b"Doe^John\\Roe^Jane ", Vr::PN, &ascii()), ["Doe^John", "Roe^Jane"]);
        assert_eq!(strings(b"Doe^John==", Vr::PN, &ascii()), ["Doe^John"]);
    }

    #[test]
    fn numbers_from_strings() {
        assert_eq!(parse_ds(" 1.5e2 "), Some(150.0));
        assert_eq!(parse_ds("-0.25"), Some(-0.25));
        assert_eq!(parse_ds("inf"), None);
        assert_eq!(parse_ds(""), None);
        let texts: Vec<_> = number_texts(b" 1.5\\-2\\\xb5\\ 3 \0").collect();
        assert_eq!(texts, [Some(" 1.5"), Some("-2"), None, Some(" 3")]);
        assert_eq!(number_texts(b"  ").count(), 0);
        assert_eq!(parse_is(" 42"), Some(42));
        assert_eq!(parse_is("-7"), Some(-7));
        assert_eq!(parse_is("12.0"), Some(12));
        assert_eq!(parse_is("1A"), None);
        assert_eq!(parse_is("1.5"), None);
        assert_eq!(parse_numeric_string("1.5", Vr::IS), Some(Number::Float(1.5)));
        assert_eq!(parse_numeric_string("12", Vr::IS), Some(Number::Int(12)));
        assert_eq!(parse_numeric_string("12", Vr::DS), Some(Number::Float(12.0)));
        assert_eq!(parse_numeric_string("1A", Vr::IS), None);
    }

    #[test]
    fn binary_numbers_in_both_byte_orders() {
        assert_eq!(binary_values::<u16>(&[1, 0, 0, 1, 9], false), [1, 256]);
        assert_eq!(binary_values::<u16>(&[1, 0, 0, 1], true), [256, 1]);
        assert_eq!(binary_values::<f32>(&1.5f32.to_le_bytes(), false), [1.5]);
        assert_eq!(tags(&[0x28, 0, 0x10, 0], false), [Tag::new(0x0028, 0x0010)]);
    }

    #[test]
    fn person_name_components() {
        assert_eq!(person_name_groups("Yamada^Tarou=山田^太郎"), [vec!["Yamada", "Tarou"], vec!["山田", "太郎"]]);
    }
}
