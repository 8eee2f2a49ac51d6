//! Text decoding under (0008,0005) Specific Character Set (PS3.3 C.12.1.1.2, PS3.5 6.1).
//!
//! The goal is the same text that pydicom 3 gives for the same bytes, including what it does
//! with values the standard does not allow: unknown or misspelt defined terms, invalid byte
//! sequences (each replaced by U+FFFD the way Python's codecs replace them), unknown escape
//! sequences and code extensions that fail to decode (the whole fragment is then read again
//! with the first character set).
//!
//! The code tables come from `encoding_rs`. Where the WHATWG tables it implements differ from
//! the tables Python uses (WHATWG maps `iso-8859-1` and `iso-8859-9` to Windows code pages,
//! adds vendor rows to JIS X 0208, follows GB 18030-2022 where Python follows 2005, ...) the
//! difference is corrected here, cell by cell, from short lists.
//!
//! How a value is read (pydicom's reading of PS3.5 6.1.2.5):
//!
//! - a value without ESC (0x1B) is decoded with the first character set;
//! - otherwise it is cut before every ESC. The part before the first ESC uses the first
//!   character set. A part that starts with an escape sequence of a character set named in
//!   (0008,0005) (or `ESC ( B`, ASCII, which is always allowed) uses that character set up
//!   to the first delimiter and the first character set after it; the multi-byte ISO 2022
//!   sets of Japanese and Chinese (`ESC $ B`, `ESC $ ( D`, `ESC $ ) A`) take the whole part,
//!   as pydicom hands those to Python's stateful codecs;
//! - a part whose escape sequence is unknown, or that fails to decode, is decoded whole,
//!   escape sequence included, with the first character set, replacing what does not decode.

use std::borrow::Cow;
use std::sync::OnceLock;

use encoding_rs::Encoding;

/// Escape, which starts every ISO 2022 escape sequence.
const ESC: u8 = 0x1B;

/// Delimiters pydicom resets code extensions at when it decodes SH, LO, UC, ST, LT, UT and,
/// before splitting it, PN: TAB, LF, FF and CR.
///
/// pydicom decodes a whole value with these and splits multiple values at `\` afterwards.
pub const TEXT_DELIMITERS: &[u8] = b"\t\n\x0c\r";

/// Delimiters pydicom resets code extensions at inside one component group of a person name
/// (after splitting the value at `\` and the name at `=`): `^`.
pub const PN_COMPONENT_DELIMITERS: &[u8] = b"^";

/// A decoder of one character set, with Python's codec behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    /// ISO 8859-1 (Python `latin_1`): every byte is the code point of the same number.
    Latin1,
    /// US-ASCII (Python `ascii`): bytes above 0x7F are invalid.
    Ascii,
    /// A single-byte set: ASCII below 0x80, a 128-cell table above.
    SingleByte(HighHalf),
    /// UTF-8.
    Utf8,
    /// Python's `shift_jis`: JIS X 0201 (katakana in 0xA1..=0xDF) and JIS X 0208.
    ShiftJis,
    /// Python's `euc_kr`: KS X 1001 in GR.
    EucKr,
    /// Python's `gb2312`: GB 2312 in GR.
    Gb2312,
    /// Python's `gbk`.
    Gbk,
    /// Python's `gb18030` (the 2005 mappings).
    Gb18030,
    /// Python's `iso2022_jp`.
    Iso2022Jp,
    /// Python's `iso2022_jp_2`.
    Iso2022Jp2,
}

/// The upper half of a single-byte character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HighHalf {
    /// ISO 8859-2, Latin alphabet No. 2 (ISO-IR 101).
    Latin2,
    /// ISO 8859-3, Latin alphabet No. 3 (ISO-IR 109).
    Latin3,
    /// ISO 8859-4, Latin alphabet No. 4 (ISO-IR 110).
    Latin4,
    /// ISO 8859-5, Cyrillic (ISO-IR 144).
    Cyrillic,
    /// ISO 8859-6, Arabic (ISO-IR 127).
    Arabic,
    /// ISO 8859-7, Greek (ISO-IR 126).
    Greek,
    /// ISO 8859-8, Hebrew (ISO-IR 138).
    Hebrew,
    /// ISO 8859-9, Latin alphabet No. 5 (ISO-IR 148).
    Latin5,
    /// TIS 620-2533, Thai (ISO-IR 166).
    Thai,
    /// A Windows code page (874 or 1250 to 1258), as Python has it: the bytes of 0x80..=0x9F
    /// the code page leaves unassigned are undefined, not C1 controls.
    Windows(u16),
}

/// What pydicom calls a character set internally: its Python codec name. Escape sequences
/// are accepted only when the codec name they stand for is among those of (0008,0005), so
/// two terms are "the same character set" exactly when these compare equal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    /// `iso8859`: the default repertoire, an empty term and `ESC ( B`.
    Default,
    /// `latin_1`: `ISO_IR 100` and `ISO 2022 IR 100`.
    Latin1,
    /// `iso8859_2`.
    Latin2,
    /// `iso8859_3`.
    Latin3,
    /// `iso8859_4`.
    Latin4,
    /// `iso_ir_126`.
    Greek,
    /// `iso_ir_127`.
    Arabic,
    /// `iso_ir_138`.
    Hebrew,
    /// `iso_ir_144`.
    Cyrillic,
    /// `iso_ir_148`.
    Latin5,
    /// `iso_ir_166`.
    Thai,
    /// `shift_jis`: `ISO_IR 13` and `ISO 2022 IR 13`.
    ShiftJis,
    /// `iso2022_jp`: ISO 2022 IR 87.
    Iso2022Jp,
    /// `iso2022_jp_2`: ISO 2022 IR 159.
    Iso2022Jp2,
    /// `euc_kr`: ISO 2022 IR 149.
    EucKr,
    /// `iso_ir_58`: ISO 2022 IR 58.
    IsoIr58,
    /// `GB2312`: the term "ISO 2022 58" pydicom also knows.
    Gb2312,
    /// `UTF8`: `ISO_IR 192`.
    Utf8,
    /// `GBK`.
    Gbk,
    /// `GB18030`.
    Gb18030,
    /// A term that is not a DICOM defined term but names a Python codec, kept as written.
    Python(String),
}

impl Key {
    /// The key of a Python codec name used as a term, which may coincide with one of
    /// pydicom's own names.
    fn from_python_name(name: &str) -> Key {
        match name {
            "iso8859" => Key::Default,
            "latin_1" => Key::Latin1,
            "iso8859_2" => Key::Latin2,
            "iso8859_3" => Key::Latin3,
            "iso8859_4" => Key::Latin4,
            "iso_ir_126" => Key::Greek,
            "iso_ir_127" => Key::Arabic,
            "iso_ir_138" => Key::Hebrew,
            "iso_ir_144" => Key::Cyrillic,
            "iso_ir_148" => Key::Latin5,
            "iso_ir_166" => Key::Thai,
            "shift_jis" => Key::ShiftJis,
            "iso2022_jp" => Key::Iso2022Jp,
            "iso2022_jp_2" => Key::Iso2022Jp2,
            "euc_kr" => Key::EucKr,
            "iso_ir_58" => Key::IsoIr58,
            "GB2312" => Key::Gb2312,
            "UTF8" => Key::Utf8,
            "GBK" => Key::Gbk,
            "GB18030" => Key::Gb18030,
            other => Key::Python(other.to_owned()),
        }
    }
}

/// One value of (0008,0005), resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    /// How its bytes are decoded.
    codec: Codec,
    /// Which escape sequences it admits.
    key: Key,
}

impl Term {
    /// The default repertoire, decoded permissively as ISO 8859-1 (as pydicom does).
    const fn default_repertoire() -> Term {
        Term { codec: Codec::Latin1, key: Key::Default }
    }
}

/// The parsed value of Specific Character Set (one or more defined terms, backslash-separated in the file).
///
/// Build it with [`CharacterSet::from_value`] (or [`CharacterSet::default`] where the element is
/// absent) and decode text with [`CharacterSet::decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharacterSet {
    /// The character sets in order; never empty. The first one decodes text before any
    /// escape sequence and after a delimiter.
    terms: Vec<Term>,
}

impl Default for CharacterSet {
    /// The default repertoire (`ISO_IR 6`). Bytes above 0x7F, which it does not define, are read
    /// as ISO 8859-1, as pydicom reads them.
    fn default() -> CharacterSet {
        CharacterSet { terms: vec![Term::default_repertoire()] }
    }
}

/// Terms that do not allow code extensions (PS3.3 C.12.1.1.2): as the first value the rest is
/// ignored, as a later value the term itself is.
const STAND_ALONE: [&str; 3] = ["ISO_IR 192", "GBK", "GB18030"];

impl CharacterSet {
    /// From the raw bytes of the (0008,0005) value (may be empty, padded with spaces, have an
    /// empty first value as in `\ISO 2022 IR 87`).
    ///
    /// The value is read as pydicom reads it: trailing spaces and NULs are removed, the rest
    /// is split at backslashes, and each term is resolved to a character set. An empty first
    /// term is the default repertoire. Terms that are not defined terms are resolved as
    /// pydicom resolves them: common misspellings (`ISO-IR 100`, `ISO IR 192`,
    /// `ISO_2022_IR_87`) are corrected, names of Python codecs (`UTF-8`, `latin1`,
    /// `ISO_IR_100`) are used as those codecs (for the codecs this module has), and anything
    /// else falls back to the default repertoire. `ISO_IR 192`, `GBK` and `GB18030` as the
    /// first term make the others ignored, and as a later term are ignored themselves.
    #[must_use]
    pub fn from_value(raw: &[u8]) -> CharacterSet {
        // The CS value is read as ISO 8859-1, like every default-repertoire string.
        let text: String = raw.iter().map(|&b| char::from(b)).collect();
        let text = text.trim_end_matches([' ', '\0']);
        let mut names: Vec<&str> = text.split('\\').collect();
        if names.len() > 1 && names[0].is_empty() {
            names[0] = "ISO_IR 6";
        }
        let mut terms: Vec<Term> = names.iter().map(|name| resolve_term(name)).collect();
        if names.len() > 1 {
            if STAND_ALONE.contains(&names[0]) {
                terms.truncate(1);
            } else {
                let mut index = 0;
                terms.retain(|_| {
                    index += 1;
                    index == 1 || !STAND_ALONE.contains(&names[index - 1])
                });
            }
        }
        CharacterSet { terms }
    }

    /// Decode a text value.
    ///
    /// `delimiters` are the bytes at which a single-byte code extension (an `ESC - x` or
    /// `ESC ( x` sequence) ends and the first character set takes over again (PS3.5 6.1.2.5.3).
    /// pydicom uses [`TEXT_DELIMITERS`] for SH, LO, UC, ST, LT, UT and for PN before it splits
    /// the name, and [`PN_COMPONENT_DELIMITERS`] within a person name component group; with
    /// the same delimiters the result is the string `pydicom.charset.decode_bytes` returns.
    /// Nothing is stripped or split here: padding and `\` come back as they are.
    #[must_use]
    pub fn decode(&self, bytes: &[u8], delimiters: &[u8]) -> String {
        self.decode_borrowed(bytes, delimiters).into_owned()
    }

    /// [`CharacterSet::decode`], borrowing `bytes` when they read as themselves: ASCII with no
    /// escape sequence, in a character set whose ASCII half is ASCII (the usual case).
    #[must_use]
    pub fn decode_borrowed<'a>(&self, bytes: &'a [u8], delimiters: &[u8]) -> Cow<'a, str> {
        let first = self.terms[0].codec;
        if !matches!(first, Codec::Iso2022Jp | Codec::Iso2022Jp2) && bytes.is_ascii() && !bytes.contains(&ESC) {
            // `is_ascii` makes the conversion infallible.
            return Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default());
        }
        Cow::Owned(self.decode_owned(bytes, delimiters))
    }

    fn decode_owned(&self, bytes: &[u8], delimiters: &[u8]) -> String {
        let first = self.terms[0].codec;
        let mut out = String::with_capacity(bytes.len());
        if !bytes.contains(&ESC) {
            decode_with(first, bytes, &mut out);
            return out;
        }
        // The text before the first ESC, then one part per ESC, each running to the next.
        let mut start = 0;
        while start < bytes.len() {
            let end = bytes[start + 1..].iter().position(|&b| b == ESC).map_or(bytes.len(), |i| start + 1 + i);
            self.decode_part(&bytes[start..end], delimiters, &mut out);
            start = end;
        }
        out
    }

    /// Decode one part of a value: either the text before the first ESC or an escape sequence
    /// and the text after it up to the next ESC.
    fn decode_part(&self, part: &[u8], delimiters: &[u8], out: &mut String) {
        let first = self.terms[0].codec;
        if part.first() != Some(&ESC) {
            decode_with(first, part, out);
            return;
        }
        let length = if part.starts_with(b"\x1b$(") || part.starts_with(b"\x1b$)") { 4 } else { 3 };
        let sequence = &part[..length.min(part.len())];
        let designated = escape_sequence(sequence)
            .filter(|(key, _)| *key == Key::Default || self.terms.iter().any(|term| term.key == *key));
        let Some((_, codec)) = designated else {
            // An escape sequence for no character set of the value: the whole part, escape
            // sequence included, in the first character set.
            decode_with(first, part, out);
            return;
        };
        let mark = out.len();
        let ok = if matches!(codec, Codec::Iso2022Jp | Codec::Iso2022Jp2) || sequence == b"\x1b$)A" {
            // Handed whole to a codec that reads (or, for GB 2312, copies) the escape sequence.
            decode_with(codec, part, out)
        } else {
            let text = &part[length..];
            match text.iter().position(|b| delimiters.contains(b)) {
                Some(at) => decode_with(codec, &text[..at], out) && decode_with(first, &text[at..], out),
                None => decode_with(codec, text, out),
            }
        };
        if !ok {
            out.truncate(mark);
            decode_with(first, part, out);
        }
    }
}

/// The character set an escape sequence designates, as pydicom knows them (PS3.3 Tables
/// C.12-3 and C.12-4): its key and codec.
fn escape_sequence(sequence: &[u8]) -> Option<(Key, Codec)> {
    let high = |half| Codec::SingleByte(half);
    Some(match sequence {
        b"\x1b(B" => (Key::Default, Codec::Latin1),
        b"\x1b-A" => (Key::Latin1, Codec::Latin1),
        b"\x1b)I" | b"\x1b(J" => (Key::ShiftJis, Codec::ShiftJis),
        b"\x1b$B" => (Key::Iso2022Jp, Codec::Iso2022Jp),
        b"\x1b-B" => (Key::Latin2, high(HighHalf::Latin2)),
        b"\x1b-C" => (Key::Latin3, high(HighHalf::Latin3)),
        b"\x1b-D" => (Key::Latin4, high(HighHalf::Latin4)),
        b"\x1b-F" => (Key::Greek, high(HighHalf::Greek)),
        b"\x1b-G" => (Key::Arabic, high(HighHalf::Arabic)),
        b"\x1b-H" => (Key::Hebrew, high(HighHalf::Hebrew)),
        b"\x1b-L" => (Key::Cyrillic, high(HighHalf::Cyrillic)),
        b"\x1b-M" => (Key::Latin5, high(HighHalf::Latin5)),
        b"\x1b-T" => (Key::Thai, high(HighHalf::Thai)),
        b"\x1b$)C" => (Key::EucKr, Codec::EucKr),
        b"\x1b$(D" => (Key::Iso2022Jp2, Codec::Iso2022Jp2),
        b"\x1b$)A" => (Key::IsoIr58, Codec::Gb2312),
        _ => return None,
    })
}

/// The character set of a DICOM defined term (PS3.3 Tables C.12-2 to C.12-5), plus the terms
/// pydicom accepts besides them.
fn defined_term(name: &str) -> Option<Term> {
    let high = |half| Codec::SingleByte(half);
    let (codec, key) = match name {
        "" | "ISO_IR 6" | "ISO 2022 IR 6" => (Codec::Latin1, Key::Default),
        "ISO_IR 100" | "ISO 2022 IR 100" => (Codec::Latin1, Key::Latin1),
        "ISO_IR 101" | "ISO 2022 IR 101" => (high(HighHalf::Latin2), Key::Latin2),
        "ISO_IR 109" | "ISO 2022 IR 109" => (high(HighHalf::Latin3), Key::Latin3),
        "ISO_IR 110" | "ISO 2022 IR 110" => (high(HighHalf::Latin4), Key::Latin4),
        "ISO_IR 126" | "ISO 2022 IR 126" => (high(HighHalf::Greek), Key::Greek),
        "ISO_IR 127" | "ISO 2022 IR 127" => (high(HighHalf::Arabic), Key::Arabic),
        "ISO_IR 138" | "ISO 2022 IR 138" => (high(HighHalf::Hebrew), Key::Hebrew),
        "ISO_IR 144" | "ISO 2022 IR 144" => (high(HighHalf::Cyrillic), Key::Cyrillic),
        "ISO_IR 148" | "ISO 2022 IR 148" => (high(HighHalf::Latin5), Key::Latin5),
        "ISO_IR 166" | "ISO 2022 IR 166" => (high(HighHalf::Thai), Key::Thai),
        "ISO_IR 13" | "ISO 2022 IR 13" => (Codec::ShiftJis, Key::ShiftJis),
        "ISO 2022 IR 87" => (Codec::Iso2022Jp, Key::Iso2022Jp),
        "ISO 2022 IR 159" => (Codec::Iso2022Jp2, Key::Iso2022Jp2),
        "ISO 2022 IR 149" => (Codec::EucKr, Key::EucKr),
        "ISO 2022 IR 58" => (Codec::Gb2312, Key::IsoIr58),
        "ISO 2022 58" => (Codec::Gb2312, Key::Gb2312),
        "ISO_IR 192" => (Codec::Utf8, Key::Utf8),
        "GB18030" => (Codec::Gb18030, Key::Gb18030),
        "GBK" | "ISO 2022 GBK" => (Codec::Gbk, Key::Gbk),
        _ => return None,
    };
    Some(Term { codec, key })
}

/// Resolve one term of (0008,0005) as pydicom does.
fn resolve_term(name: &str) -> Term {
    if let Some(term) = defined_term(name) {
        return term;
    }
    // "ISO" + any one character but "_" + "IR": taken for "ISO_IR" (as in "ISO IR 100").
    let chars: Vec<char> = name.chars().collect();
    let starts = |prefix: &str, at: usize| prefix.chars().enumerate().all(|(i, p)| chars.get(at + i) == Some(&p));
    let corrected = if starts("ISO", 0) && chars.len() > 3 && chars[3] != '_' && starts("IR", 4) {
        Some(format!("ISO_IR{}", chars[6..].iter().collect::<String>()))
    } else if starts("ISO", 0)
        && chars.len() >= 12
        && [3, 8, 11].iter().all(|&i| chars[i] != '\n')
        && starts("2022", 4)
        && starts("IR", 9)
        && !starts("ISO 2022 IR ", 0)
    {
        // "ISO" ? "2022" ? "IR" ? (any character but a newline in each "?"): taken for
        // "ISO 2022 IR " (as in "ISO_2022_IR_87").
        Some(format!("ISO 2022 IR {}", chars[12..].iter().collect::<String>()))
    } else {
        None
    };
    match corrected {
        Some(corrected) => defined_term(&corrected).unwrap_or_else(Term::default_repertoire),
        None => python_codec(name)
            .map_or_else(Term::default_repertoire, |codec| Term { codec, key: Key::from_python_name(name) }),
    }
}

/// The Python codec modules (as opposed to aliases) among the names `python_codec` knows,
/// besides the `cpNNN` code pages.
const PYTHON_MODULES: [&str; 19] = [
    "latin_1",
    "ascii",
    "utf_8",
    "iso8859_2",
    "iso8859_3",
    "iso8859_4",
    "iso8859_5",
    "iso8859_6",
    "iso8859_7",
    "iso8859_8",
    "iso8859_9",
    "tis_620",
    "shift_jis",
    "euc_kr",
    "gb2312",
    "gbk",
    "gb18030",
    "iso2022_jp",
    "iso2022_jp_2",
];

/// The codec of a Python codec name (for the codecs this module has), found the way Python's
/// codec registry finds it: lower case, every run of characters other than letters, digits
/// and dots made one underscore, then looked up among the codec modules and their aliases.
fn python_codec(name: &str) -> Option<Codec> {
    let mut normal = String::with_capacity(name.len());
    let mut gap = false;
    for c in name.chars() {
        if c.is_alphanumeric() || c == '.' {
            if gap && !normal.is_empty() {
                normal.push('_');
            }
            if c.is_ascii() {
                normal.push(c.to_ascii_lowercase());
            }
            gap = false;
        } else {
            gap = true;
        }
    }
    let lookup = |n: &str| -> Option<Codec> {
        let high = |half| Some(Codec::SingleByte(half));
        match n {
            "latin_1" | "latin1" | "latin" | "l1" | "iso8859" | "iso8859_1" | "iso_8859_1" | "iso_8859_1_1987"
            | "iso_ir_100" | "8859" | "cp819" | "ibm819" | "csisolatin1" => Some(Codec::Latin1),
            "ascii" | "us_ascii" | "us" | "646" | "iso646_us" | "iso_ir_6" | "csascii" | "cp367" | "ibm367"
            | "ansi_x3.4_1968" | "ansi_x3_4_1968" | "ansi_x3.4_1986" | "iso_646.irv_1991" => Some(Codec::Ascii),
            "utf_8" | "utf8" | "u8" | "utf" | "cp65001" | "utf8_ucs2" | "utf8_ucs4" => Some(Codec::Utf8),
            "iso8859_2" | "iso_8859_2" | "iso_8859_2_1987" | "iso_ir_101" | "latin2" | "l2" | "csisolatin2" => {
                high(HighHalf::Latin2)
            }
            "iso8859_3" | "iso_8859_3" | "iso_8859_3_1988" | "iso_ir_109" | "latin3" | "l3" | "csisolatin3" => {
                high(HighHalf::Latin3)
            }
            "iso8859_4" | "iso_8859_4" | "iso_8859_4_1988" | "iso_ir_110" | "latin4" | "l4" | "csisolatin4" => {
                high(HighHalf::Latin4)
            }
            "iso8859_5" | "iso_8859_5" | "iso_8859_5_1988" | "iso_ir_144" | "cyrillic" | "csisolatincyrillic" => {
                high(HighHalf::Cyrillic)
            }
            "iso8859_6" | "iso_8859_6" | "iso_8859_6_1987" | "iso_ir_127" | "arabic" | "asmo_708" | "ecma_114"
            | "csisolatinarabic" => high(HighHalf::Arabic),
            "iso8859_7" | "iso_8859_7" | "iso_8859_7_1987" | "iso_ir_126" | "greek" | "greek8" | "ecma_118"
            | "elot_928" | "csisolatingreek" => high(HighHalf::Greek),
            "iso8859_8" | "iso_8859_8" | "iso_8859_8_1988" | "iso_ir_138" | "hebrew" | "csisolatinhebrew" => {
                high(HighHalf::Hebrew)
            }
            "iso8859_9" | "iso_8859_9" | "iso_8859_9_1989" | "iso_ir_148" | "latin5" | "l5" | "csisolatin5" => {
                high(HighHalf::Latin5)
            }
            "tis_620" | "tis620" | "tis_620_0" | "tis_620_2529_0" | "tis_620_2529_1" | "iso_ir_166" => {
                high(HighHalf::Thai)
            }
            "cp874" => high(HighHalf::Windows(874)),
            _ if n.starts_with("cp125") || n.starts_with("windows_125") || n.starts_with("125") => {
                let page = n.trim_start_matches("cp").trim_start_matches("windows_");
                match page {
                    "1250" | "1251" | "1252" | "1253" | "1254" | "1255" | "1256" | "1257" | "1258" => {
                        page.parse().ok().map(|p| Codec::SingleByte(HighHalf::Windows(p)))
                    }
                    _ => None,
                }
            }
            "shift_jis" | "shiftjis" | "sjis" | "s_jis" | "csshiftjis" => Some(Codec::ShiftJis),
            "euc_kr" | "euckr" | "korean" | "ks_c_5601" | "ks_c_5601_1987" | "ks_x_1001" | "ksc5601" | "ksx1001" => {
                Some(Codec::EucKr)
            }
            "gb2312" | "euc_cn" | "euccn" | "eucgb2312_cn" | "gb2312_1980" | "gb2312_80" | "iso_ir_58" | "chinese"
            | "csiso58gb231280" => Some(Codec::Gb2312),
            "gbk" | "cp936" | "ms936" | "936" => Some(Codec::Gbk),
            "gb18030" | "gb18030_2000" => Some(Codec::Gb18030),
            "iso2022_jp" | "iso2022jp" | "iso_2022_jp" | "csiso2022jp" => Some(Codec::Iso2022Jp),
            "iso2022_jp_2" | "iso2022jp_2" | "iso_2022_jp_2" => Some(Codec::Iso2022Jp2),
            _ => None,
        }
    };
    // Python retries the aliases (not the module names) with dots made underscores.
    lookup(&normal).or_else(|| {
        let undotted = normal.replace('.', "_");
        let module = PYTHON_MODULES.contains(&undotted.as_str()) || undotted.starts_with("cp");
        (undotted != normal && !module).then(|| lookup(&undotted)).flatten()
    })
}

// ---------------------------------------------------------------------------------------------
// Codecs. Each appends the text of `bytes` to `out`, replacing what does not decode with
// U+FFFD exactly where Python's codec with errors="replace" does, and returns whether the
// bytes decoded without error.
// ---------------------------------------------------------------------------------------------

/// Decode `bytes` with `codec` into `out`; `false` if anything was replaced.
fn decode_with(codec: Codec, bytes: &[u8], out: &mut String) -> bool {
    // ASCII reads the same in every codec here that has no escape state; it is the usual case.
    if bytes.is_ascii() && !matches!(codec, Codec::Iso2022Jp | Codec::Iso2022Jp2) {
        // `is_ascii` makes the conversion infallible.
        out.push_str(std::str::from_utf8(bytes).unwrap_or_default());
        return true;
    }
    match codec {
        Codec::Latin1 => {
            out.extend(bytes.iter().map(|&b| char::from(b)));
            true
        }
        Codec::Ascii => {
            out.extend(bytes.iter().map(|&b| if b < 0x80 { char::from(b) } else { char::REPLACEMENT_CHARACTER }));
            bytes.is_ascii()
        }
        Codec::SingleByte(half) => {
            let table = high_half(half);
            let mut ok = true;
            for &b in bytes {
                if b < 0x80 {
                    out.push(char::from(b));
                } else if let Some(c) = table[usize::from(b - 0x80)] {
                    out.push(c);
                } else {
                    out.push(char::REPLACEMENT_CHARACTER);
                    ok = false;
                }
            }
            ok
        }
        Codec::Utf8 => {
            let (text, had_errors) = encoding_rs::UTF_8.decode_without_bom_handling(bytes);
            out.push_str(&text);
            !had_errors
        }
        Codec::ShiftJis => run_decoder(bytes, out, shift_jis_step),
        Codec::EucKr => run_decoder(bytes, out, euc_kr_step),
        Codec::Gb2312 => run_decoder(bytes, out, gb2312_step),
        Codec::Gbk => run_decoder(bytes, out, gbk_step),
        Codec::Gb18030 => run_decoder(bytes, out, gb18030_step),
        Codec::Iso2022Jp => Iso2022Jp::new(false).run(bytes, out),
        Codec::Iso2022Jp2 => Iso2022Jp::new(true).run(bytes, out),
    }
}

/// What one step of a multi-byte decoder found at the start of its input.
enum Step {
    /// A character, and how many bytes it took.
    Char(char, usize),
    /// Nothing to output, this many bytes consumed (an escape sequence).
    Skip(usize),
    /// This many bytes are invalid: one U+FFFD for them.
    Invalid(usize),
    /// The input ends inside a sequence: one U+FFFD for all that is left.
    Truncated,
}

/// Run a multi-byte decoder's `step` over `bytes`, the way Python's CJK codecs report errors.
fn run_decoder(bytes: &[u8], out: &mut String, mut step: impl FnMut(&[u8]) -> Step) -> bool {
    let mut ok = true;
    let mut at = 0;
    while at < bytes.len() {
        match step(&bytes[at..]) {
            Step::Char(c, n) => {
                out.push(c);
                at += n;
            }
            Step::Skip(n) => at += n,
            Step::Invalid(n) => {
                out.push(char::REPLACEMENT_CHARACTER);
                ok = false;
                at += n;
            }
            Step::Truncated => {
                out.push(char::REPLACEMENT_CHARACTER);
                return false;
            }
        }
    }
    ok
}

/// Python's `shift_jis`: ASCII, JIS X 0201 katakana and JIS X 0208 in `Shift_JIS` form.
fn shift_jis_step(bytes: &[u8]) -> Step {
    let lead = bytes[0];
    match lead {
        0x00..=0x7F => Step::Char(char::from(lead), 1),
        0xA1..=0xDF => Step::Char(char::from_u32(0xFF61 + u32::from(lead - 0xA1)).unwrap_or_default(), 1),
        0x81..=0x9F | 0xE0..=0xEF => {
            let Some(&trail) = bytes.get(1) else { return Step::Truncated };
            if !matches!(trail, 0x40..=0x7E | 0x80..=0xFC) {
                return Step::Invalid(1);
            }
            // Back to the JIS X 0208 row and cell, each 0x21..=0x7E.
            let second_row = trail >= 0x9F;
            let row = (lead - if lead < 0xA0 { 0x70 } else { 0xB0 }) * 2 - u8::from(!second_row);
            let cell = if second_row {
                trail - 0x7E
            } else if trail > 0x7F {
                trail - 0x20
            } else {
                trail - 0x1F
            };
            jis0208(row, cell).map_or(Step::Invalid(1), |c| Step::Char(c, 2))
        }
        _ => Step::Invalid(1),
    }
}

/// Python's `euc_kr`: ASCII and KS X 1001 in GR, with the KS X 1001 Annex 3 eight-byte
/// spelling of a Hangul syllable (filler, initial, medial, final).
fn euc_kr_step(bytes: &[u8]) -> Step {
    let lead = bytes[0];
    if lead < 0x80 {
        return Step::Char(char::from(lead), 1);
    }
    let Some(&trail) = bytes.get(1) else { return Step::Truncated };
    if lead == 0xA4 && trail == 0xD4 {
        let Some(seq) = bytes.get(..8) else { return Step::Truncated };
        return compose_hangul(seq).map_or(Step::Invalid(1), |c| Step::Char(c, 8));
    }
    if (0xA1..=0xFE).contains(&lead) && (0xA1..=0xFE).contains(&trail) {
        if let Some(c) = ksx1001(lead & 0x7F, trail & 0x7F) {
            return Step::Char(c, 2);
        }
    }
    Step::Invalid(1)
}

/// The syllable spelt by `A4 D4 A4 initial A4 medial A4 final` in KS X 1001 Annex 3, the jamo
/// being the cells of row 4 (final `D4` is the filler: no final consonant).
fn compose_hangul(seq: &[u8]) -> Option<char> {
    // Cells of row 4 (0xA1 + n is U+3131 + n) that are initials, and finals, in Unicode order.
    const INITIALS: [u8; 19] = [
        0xA1, 0xA2, 0xA4, 0xA7, 0xA8, 0xA9, 0xB1, 0xB2, 0xB3, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xBB, 0xBC, 0xBD,
        0xBE,
    ];
    const FINALS: [u8; 28] = [
        0xD4, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF, 0xB0, 0xB1, 0xB2,
        0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xBA, 0xBB, 0xBC, 0xBD, 0xBE,
    ];
    if seq[2] != 0xA4 || seq[4] != 0xA4 || seq[6] != 0xA4 {
        return None;
    }
    let initial = INITIALS.iter().position(|&c| c == seq[3])?;
    let medial = usize::from(seq[5]).checked_sub(0xBF).filter(|&m| m < 21)?;
    let last = FINALS.iter().position(|&c| c == seq[7])?;
    char::from_u32(0xAC00 + ((initial * 21 + medial) * 28 + last) as u32)
}

/// Python's `gb2312`: ASCII and GB 2312 in GR.
fn gb2312_step(bytes: &[u8]) -> Step {
    let lead = bytes[0];
    if lead < 0x80 {
        return Step::Char(char::from(lead), 1);
    }
    let Some(&trail) = bytes.get(1) else { return Step::Truncated };
    if (0xA1..=0xFE).contains(&lead) && (0xA1..=0xFE).contains(&trail) {
        if let Some(c) = gb2312(lead & 0x7F, trail & 0x7F) {
            return Step::Char(c, 2);
        }
    }
    Step::Invalid(1)
}

/// Python's `gbk`.
fn gbk_step(bytes: &[u8]) -> Step {
    let lead = bytes[0];
    match lead {
        0x00..=0x7F => Step::Char(char::from(lead), 1),
        0x80 | 0xFF => Step::Invalid(1),
        _ => {
            let Some(&trail) = bytes.get(1) else { return Step::Truncated };
            gbk(lead, trail).map_or(Step::Invalid(1), |c| Step::Char(c, 2))
        }
    }
}

/// Python's `gb18030`: GBK's two-byte codes (with the GB 18030 additions) and four-byte codes.
/// Unlike `gbk`, any byte above 0x7F starts a sequence, even 0x80 and 0xFF (which then fails
/// to decode once its length is known).
fn gb18030_step(bytes: &[u8]) -> Step {
    let lead = bytes[0];
    if lead < 0x80 {
        return Step::Char(char::from(lead), 1);
    }
    let Some(&second) = bytes.get(1) else { return Step::Truncated };
    if (0x30..=0x39).contains(&second) {
        let Some(four) = bytes.get(..4) else { return Step::Truncated };
        return gb18030_four(four).map_or(Step::Invalid(1), |c| Step::Char(c, 4));
    }
    gb18030_two(lead, second).map_or(Step::Invalid(1), |c| Step::Char(c, 2))
}

/// The 2022-JP family as Python's codecs decode it (`iso2022_jp`, and `iso2022_jp_2` with
/// JIS X 0212, GB 2312, KS X 1001 and the G2 sets ISO 8859-1 and ISO 8859-7).
struct Iso2022Jp {
    /// Whether the ISO-2022-JP-2 sets are known.
    jp2: bool,
    /// The set in G0, which the 7-bit bytes are read in.
    g0: Graphic,
    /// The set in G2, which single shift 2 (`ESC N`) reads one character from.
    g2: Graphic,
    /// After an ESC that starts no ISO 2022 sequence, bytes are copied as they are up to and
    /// including the next final byte (`@` or a capital letter).
    copying: bool,
}

/// A graphic character set that an escape sequence can designate.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Graphic {
    /// ASCII.
    Ascii,
    /// JIS X 0201 Roman.
    Roman,
    /// JIS X 0208.
    Jis0208,
    /// JIS X 0212.
    Jis0212,
    /// GB 2312.
    Gb2312,
    /// KS X 1001.
    Ksx1001,
    /// The upper half of ISO 8859-1 (a G2 set).
    Latin1,
    /// The upper half of ISO 8859-7 (a G2 set).
    Greek,
}

/// The longest escape sequence the decoder looks for a final byte in.
const MAX_ESCAPE: usize = 16;

impl Iso2022Jp {
    /// A decoder in its initial state (ASCII in G0 and G2).
    fn new(jp2: bool) -> Iso2022Jp {
        Iso2022Jp { jp2, g0: Graphic::Ascii, g2: Graphic::Ascii, copying: false }
    }

    /// Decode all of `bytes` into `out`; `false` if anything was replaced.
    fn run(mut self, bytes: &[u8], out: &mut String) -> bool {
        run_decoder(bytes, out, |rest| self.step(rest))
    }

    /// Read one character, escape sequence or error at the start of `bytes`.
    fn step(&mut self, bytes: &[u8]) -> Step {
        let c = bytes[0];
        if self.copying {
            self.copying = !is_final(c);
            return Step::Char(char::from(c), 1);
        }
        if c == ESC {
            let Some(&second) = bytes.get(1) else { return Step::Truncated };
            return match second {
                b'(' | b')' | b'$' | b'.' | b'&' => self.designate(bytes),
                b'N' if self.jp2 => self.single_shift(bytes),
                _ => {
                    self.copying = true;
                    Step::Char(char::from(ESC), 1)
                }
            };
        }
        if c < 0x20 {
            return Step::Char(char::from(c), 1);
        }
        if c >= 0x80 {
            return Step::Invalid(1);
        }
        let table: fn(u8, u8) -> Option<char> = match self.g0 {
            Graphic::Ascii => return Step::Char(char::from(c), 1),
            Graphic::Roman => {
                let roman = match c {
                    0x5C => '\u{A5}',
                    0x7E => '\u{203E}',
                    _ => char::from(c),
                };
                return Step::Char(roman, 1);
            }
            Graphic::Latin1 | Graphic::Greek => return Step::Invalid(1),
            Graphic::Jis0208 => jis0208,
            Graphic::Jis0212 => jis0212,
            Graphic::Gb2312 => gb2312,
            Graphic::Ksx1001 => ksx1001,
        };
        let Some(&second) = bytes.get(1) else { return Step::Truncated };
        table(c, second).map_or(Step::Invalid(2), |ch| Step::Char(ch, 2))
    }

    /// A designation sequence at the start of `bytes` (ESC, then one of `( ) $ . &`).
    fn designate(&mut self, bytes: &[u8]) -> Step {
        // The sequence runs to its final byte; "&@" (the JIS X 0208-1990 announcer) is passed over.
        let mut length = 0;
        let mut i = 1;
        while i < MAX_ESCAPE {
            let Some(&b) = bytes.get(i) else { return Step::Truncated };
            if is_final(b) {
                length = i + 1;
                break;
            }
            if b == b'&' && i + 1 < bytes.len() && bytes[i + 1] == b'@' {
                i += 2;
            }
            i += 1;
        }
        if length == 0 {
            return Step::Invalid(1);
        }
        let s = &bytes[..length];
        // (designation: 0 for G0, 1 for G1, 2 for G2; final byte; two-byte set)
        let (slot, mark, double) = match length {
            3 if s[1] == b'$' => (0, s[2], true),
            3 => match s[1] {
                b'(' => (0, s[2], false),
                b')' => (1, s[2], false),
                b'.' if self.jp2 => (2, s[2], false),
                _ => return Step::Invalid(3),
            },
            4 if s[1] == b'$' && matches!(s[2], b'(' | b')') => (usize::from(s[2] == b')'), s[3], true),
            6 if s[3] == ESC && s[4] == b'$' && s[5] == b'B' => (0, b'B', true),
            _ => return Step::Invalid(length),
        };
        let graphic = match (mark, double, self.jp2) {
            (b'B', false, _) => Graphic::Ascii,
            (b'J', false, _) => Graphic::Roman,
            (b'@' | b'B', true, _) => Graphic::Jis0208,
            (b'D', true, true) => Graphic::Jis0212,
            (b'A', true, true) => Graphic::Gb2312,
            (b'C', true, true) => Graphic::Ksx1001,
            (b'A', false, true) => Graphic::Latin1,
            (b'F', false, true) => Graphic::Greek,
            _ => return Step::Invalid(length),
        };
        match slot {
            0 => self.g0 = graphic,
            2 => self.g2 = graphic,
            // G1 is never invoked: shifts are plain control characters here.
            _ => {}
        }
        Step::Skip(length)
    }

    /// Single shift 2 (`ESC N`) and the byte it applies to, at the start of `bytes`.
    fn single_shift(&self, bytes: &[u8]) -> Step {
        let Some(&c) = bytes.get(2) else { return Step::Truncated };
        let decoded = match self.g2 {
            Graphic::Ascii => (c < 0x80).then(|| char::from(c)),
            Graphic::Latin1 => (c < 0x80).then(|| char::from(c + 0x80)),
            Graphic::Greek => {
                // Python's own ISO 8859-7 table here predates the 2003 additions.
                let high = c ^ 0x80;
                if high < 0xA0 {
                    Some(char::from(high))
                } else if matches!(high, 0xA4 | 0xA5 | 0xAA) {
                    None
                } else {
                    high_half(HighHalf::Greek)[usize::from(high - 0x80)]
                }
            }
            _ => None,
        };
        decoded.map_or(Step::Invalid(3), |ch| Step::Char(ch, 3))
    }
}

/// Whether `b` ends an escape sequence (`@` or a capital letter).
fn is_final(b: u8) -> bool {
    b == b'@' || b.is_ascii_uppercase()
}

// ---------------------------------------------------------------------------------------------
// Code tables, built once from encoding_rs and corrected to Python's.
// ---------------------------------------------------------------------------------------------

/// A 94 x 94 table of a two-byte set, indexed by row and cell (each 0x21..=0x7E).
type Table94 = Box<[Option<char>]>;

/// Build a 94 x 94 table by decoding, with `encoding`, the bytes `prefix` and then row and
/// cell with their high bits set (the EUC form of a 94 x 94 set).
fn build_94(encoding: &'static Encoding, prefix: &[u8]) -> Table94 {
    let mut table = vec![None; 94 * 94];
    let mut buffer = prefix.to_vec();
    buffer.extend([0, 0]);
    let n = buffer.len();
    for row in 0..94u8 {
        for cell in 0..94u8 {
            buffer[n - 2] = 0xA1 + row;
            buffer[n - 1] = 0xA1 + cell;
            table[usize::from(row) * 94 + usize::from(cell)] = single_char(encoding, &buffer);
        }
    }
    table.into_boxed_slice()
}

/// The one character `bytes` decode to with `encoding`, if they decode to exactly one.
fn single_char(encoding: &'static Encoding, bytes: &[u8]) -> Option<char> {
    let text = encoding.decode_without_bom_handling_and_without_replacement(bytes)?;
    let mut chars = text.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

/// The index of row `row` and cell `cell` (each 0x21..=0x7E) in a [`Table94`].
fn index_94(row: u8, cell: u8) -> Option<usize> {
    ((0x21..=0x7E).contains(&row) && (0x21..=0x7E).contains(&cell))
        .then(|| usize::from(row - 0x21) * 94 + usize::from(cell - 0x21))
}

/// Set `table[row, cell]` (JIS-style row and cell numbers, 0x21..=0x7E) to `c`.
fn put(table: &mut [Option<char>], row: u8, cell: u8, c: Option<char>) {
    if let Some(i) = index_94(row, cell) {
        table[i] = c;
    }
}

/// JIS X 0208 as Python has it (from the EUC-JP decoder).
fn jis0208(row: u8, cell: u8) -> Option<char> {
    static TABLE: OnceLock<Table94> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = build_94(encoding_rs::EUC_JP, &[]);
        // WHATWG adds the NEC row 13 and the IBM rows 89 to 92; Python has plain JIS X 0208.
        for cell in 0x21..=0x7E {
            put(&mut t, 0x2D, cell, None);
            for row in 0x75..=0x7E {
                put(&mut t, row, cell, None);
            }
        }
        // WHATWG maps six symbols as Windows does; Python as JIS X 0208 says.
        for (row, cell, c) in [
            (0x21, 0x41, '\u{301C}'),
            (0x21, 0x42, '\u{2016}'),
            (0x21, 0x5D, '\u{2212}'),
            (0x21, 0x71, '\u{A2}'),
            (0x21, 0x72, '\u{A3}'),
            (0x22, 0x4C, '\u{AC}'),
        ] {
            put(&mut t, row, cell, Some(c));
        }
        t
    });
    index_94(row, cell).and_then(|i| table[i])
}

/// JIS X 0212 as Python has it (from the EUC-JP decoder's 0x8F codes).
fn jis0212(row: u8, cell: u8) -> Option<char> {
    static TABLE: OnceLock<Table94> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = build_94(encoding_rs::EUC_JP, &[0x8F]);
        // The tilde: Python keeps U+007E, WHATWG the fullwidth form.
        put(&mut t, 0x22, 0x37, Some('~'));
        t
    });
    index_94(row, cell).and_then(|i| table[i])
}

/// KS X 1001 as Python has it (from the EUC-KR decoder).
fn ksx1001(row: u8, cell: u8) -> Option<char> {
    static TABLE: OnceLock<Table94> = OnceLock::new();
    let table = TABLE.get_or_init(|| build_94(encoding_rs::EUC_KR, &[]));
    index_94(row, cell).and_then(|i| table[i])
}

/// GB 2312 as Python has it (from the GBK decoder).
fn gb2312(row: u8, cell: u8) -> Option<char> {
    static TABLE: OnceLock<Table94> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t: Table94 = (0..94u8)
            .flat_map(|row| (0..94u8).map(move |cell| (row, cell)))
            .map(|(row, cell)| gbk(0xA1 + row, 0xA1 + cell))
            .collect();
        // GBK's additions inside the GB 2312 rows.
        for (row, first, last) in
            [(0x22, 0x21, 0x2A), (0x26, 0x60, 0x6B), (0x26, 0x6E, 0x72), (0x26, 0x74, 0x75), (0x28, 0x3B, 0x3B)]
        {
            for cell in first..=last {
                put(&mut t, row, cell, None);
            }
        }
        for cell in [0x3D, 0x3E, 0x40] {
            put(&mut t, 0x28, cell, None);
        }
        // Two symbols GBK changed.
        put(&mut t, 0x21, 0x24, Some('\u{30FB}'));
        put(&mut t, 0x21, 0x2A, Some('\u{2015}'));
        t
    });
    index_94(row, cell).and_then(|i| table[i])
}

/// The two-byte codes of GB 18030 (lead 0x81..=0xFE, trail 0x40..=0x7E or 0x80..=0xFE) as
/// Python has them: `encoding_rs` follows GB 18030-2022, Python 2005, which kept 20 of these
/// in the Private Use Area.
fn gb18030_two(lead: u8, trail: u8) -> Option<char> {
    static TABLE: OnceLock<Box<[Option<char>]>> = OnceLock::new();
    let index = |lead: u8, trail: u8| -> Option<usize> {
        let t = match trail {
            0x40..=0x7E => trail - 0x40,
            0x80..=0xFE => trail - 0x41,
            _ => return None,
        };
        (0x81..=0xFE).contains(&lead).then(|| usize::from(lead - 0x81) * 190 + usize::from(t))
    };
    let table = TABLE.get_or_init(|| {
        let mut t = vec![None; 126 * 190];
        for lead in 0x81..=0xFE {
            for trail in (0x40..=0x7E).chain(0x80..=0xFE) {
                if let Some(i) = index(lead, trail) {
                    t[i] = single_char(encoding_rs::GB18030, &[lead, trail]);
                }
            }
        }
        let private = |code: u32| char::from_u32(code);
        let mut fix = |lead: u8, trail: u8, code: u32| {
            if let Some(i) = index(lead, trail) {
                t[i] = private(code);
            }
        };
        fix(0xA3, 0xA0, 0xE5E5);
        fix(0xA8, 0xBC, 0xE7C7);
        for (n, trail) in [0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xEC, 0xED, 0xF3].into_iter().enumerate() {
            fix(0xA6, trail, 0xE78D + n as u32);
        }
        for (trail, code) in [
            (0x59, 0xE81E),
            (0x61, 0xE826),
            (0x66, 0xE82B),
            (0x67, 0xE82C),
            (0x6D, 0xE832),
            (0x7E, 0xE843),
            (0x90, 0xE854),
            (0xA0, 0xE864),
        ] {
            fix(0xFE, trail, code);
        }
        t.into_boxed_slice()
    });
    index(lead, trail).and_then(|i| table[i])
}

/// A four-byte code of GB 18030 as Python has it.
fn gb18030_four(bytes: &[u8]) -> Option<char> {
    if !(0x81..=0xFE).contains(&bytes[0]) || !(0x81..=0xFE).contains(&bytes[2]) || !(0x30..=0x39).contains(&bytes[3]) {
        return None;
    }
    // 2005 gave U+1E3F a four-byte code (and A8BC a private one); 2022 swapped them.
    if bytes == [0x81, 0x35, 0xF4, 0x37] {
        return Some('\u{1E3F}');
    }
    single_char(encoding_rs::GB18030, bytes)
}

/// GBK as Python has it: GB 18030's two-byte codes without those outside GBK (its Private Use
/// Area cells and the characters GB 18030 added).
fn gbk(lead: u8, trail: u8) -> Option<char> {
    let added = match (lead, trail) {
        (0xA2, 0xE3) | (0xA8, 0xBF) => true,
        (0xA9, t) => (0x89..=0x95).contains(&t),
        (0xFE, t) => (0x50..=0xA0).contains(&t),
        _ => false,
    };
    if added {
        return None;
    }
    gb18030_two(lead, trail).filter(|&c| !('\u{E000}'..='\u{F8FF}').contains(&c))
}

/// The upper half (0x80..=0xFF) of a single-byte set as Python has it.
fn high_half(half: HighHalf) -> &'static [Option<char>; 128] {
    /// The ISO sets, then the Windows code pages 874 and 1250 to 1258.
    const ALL: [HighHalf; 19] = [
        HighHalf::Latin2,
        HighHalf::Latin3,
        HighHalf::Latin4,
        HighHalf::Cyrillic,
        HighHalf::Arabic,
        HighHalf::Greek,
        HighHalf::Hebrew,
        HighHalf::Latin5,
        HighHalf::Thai,
        HighHalf::Windows(874),
        HighHalf::Windows(1250),
        HighHalf::Windows(1251),
        HighHalf::Windows(1252),
        HighHalf::Windows(1253),
        HighHalf::Windows(1254),
        HighHalf::Windows(1255),
        HighHalf::Windows(1256),
        HighHalf::Windows(1257),
        HighHalf::Windows(1258),
    ];
    static TABLES: OnceLock<Vec<[Option<char>; 128]>> = OnceLock::new();
    let tables = TABLES.get_or_init(|| ALL.iter().map(|&h| build_high_half(h)).collect());
    // Only the pages above are ever made (see `python_codec`); anything else reads as 1252.
    let slot = ALL.iter().position(|&h| h == half).unwrap_or(12);
    &tables[slot]
}

/// Build the upper half of a single-byte set from `encoding_rs`.
fn build_high_half(half: HighHalf) -> [Option<char>; 128] {
    // WHATWG reads ISO 8859-9 and TIS-620 as the Windows code pages 1254 and 874: their upper
    // 96 bytes are those of the ISO sets, the 32 below are C1 controls in the ISO sets.
    let (encoding, c1_controls) = match half {
        HighHalf::Latin2 => (encoding_rs::ISO_8859_2, false),
        HighHalf::Latin3 => (encoding_rs::ISO_8859_3, false),
        HighHalf::Latin4 => (encoding_rs::ISO_8859_4, false),
        HighHalf::Cyrillic => (encoding_rs::ISO_8859_5, false),
        HighHalf::Arabic => (encoding_rs::ISO_8859_6, false),
        HighHalf::Greek => (encoding_rs::ISO_8859_7, false),
        HighHalf::Hebrew => (encoding_rs::ISO_8859_8, false),
        HighHalf::Latin5 => (encoding_rs::WINDOWS_1254, true),
        HighHalf::Thai => (encoding_rs::WINDOWS_874, true),
        HighHalf::Windows(page) => {
            let label = format!("windows-{page}");
            (Encoding::for_label(label.as_bytes()).unwrap_or(encoding_rs::WINDOWS_1252), false)
        }
    };
    let mut table = [None; 128];
    for (byte, slot) in (0x80..=0xFF_u8).zip(table.iter_mut()) {
        *slot = if c1_controls && byte < 0xA0 { Some(char::from(byte)) } else { single_char(encoding, &[byte]) };
        // WHATWG fills the holes of the Windows code pages with the C1 controls; Python does not.
        if matches!(half, HighHalf::Windows(_)) && byte < 0xA0 && *slot == Some(char::from(byte)) {
            *slot = None;
        }
    }
    match half {
        // TIS-620 has no no-break space.
        HighHalf::Thai => table[0x20] = None,
        // A point WHATWG added to Windows-1255 that Python lacks.
        HighHalf::Windows(1255) => table[0x4A] = None,
        _ => {}
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cs(value: &str) -> CharacterSet {
        CharacterSet::from_value(value.as_bytes())
    }

    #[test]
    fn default_repertoire_reads_high_bytes_as_latin1() {
        let text = CharacterSet::default().decode(b"Caf\xe9 \x80\x9f", TEXT_DELIMITERS);
        assert_eq!(text, "Caf\u{e9} \u{80}\u{9f}");
        assert_eq!(CharacterSet::from_value(b""), CharacterSet::default());
        assert_eq!(CharacterSet::from_value(b"ISO_IR 6 "), CharacterSet::from_value(b"\0"));
    }

    #[test]
    fn latin1_is_not_windows_1252() {
        assert_eq!(cs("ISO_IR 100").decode(b"\x80\x93\xe9", b""), "\u{80}\u{93}\u{e9}");
    }

    #[test]
    fn single_byte_sets() {
        assert_eq!(cs("ISO_IR 144").decode(b"\xbb\xee\xda\xed", b""), "Люкэ");
        assert_eq!(cs("ISO_IR 126").decode(b"\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2", b""), "Διονυσιος");
        assert_eq!(cs("ISO_IR 148").decode(b"\xd0\xdd\xde\x80", b""), "ĞİŞ\u{80}");
        assert_eq!(cs("ISO_IR 166").decode(b"\xa1\xa0", b""), "ก\u{FFFD}");
        // An undefined byte of ISO 8859-3.
        assert_eq!(cs("ISO_IR 109").decode(b"a\xa5b", b""), "a\u{FFFD}b");
    }

    #[test]
    fn utf8_and_invalid_bytes() {
        assert_eq!(cs("ISO_IR 192").decode("Wang^XiaoDong=王^小東".as_bytes(), b""), "Wang^XiaoDong=王^小東");
        assert_eq!(cs("ISO_IR 192").decode(b"a\xffb\xe4\xb8", b""), "a\u{FFFD}b\u{FFFD}");
        // Stand-alone: later terms are ignored, escape sequences stay in the text.
        assert_eq!(cs("ISO_IR 192\\ISO 2022 IR 100").decode(b"\x1b-A\xe9", b""), "\u{1b}-A\u{FFFD}");
    }

    #[test]
    fn misspelt_and_unknown_terms() {
        assert_eq!(cs("ISO-IR 192").decode("é".as_bytes(), b""), "é");
        assert_eq!(cs("ISO IR 100").decode(b"\xe9", b""), "é");
        assert_eq!(cs("UTF-8").decode("é".as_bytes(), b""), "é");
        assert_eq!(cs("ISO_IR 999").decode(b"\xe9", b""), "é");
        assert_eq!(cs("nonsense").decode(b"\xe9", b""), "é");
    }

    #[test]
    fn japanese_code_extensions() {
        let set = cs("\\ISO 2022 IR 87");
        let raw = b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B";
        assert_eq!(set.decode(raw, TEXT_DELIMITERS), "Yamada^Tarou=山田^太郎");
        let set = cs("ISO 2022 IR 13\\ISO 2022 IR 87");
        assert_eq!(set.decode(b"\xd4\xcf\xc0\xde", b""), "ﾔﾏﾀﾞ");
        let set = cs("\\ISO 2022 IR 159");
        assert_eq!(set.decode(b"\x1b$(D0!\x1b(B", b""), "丂");
    }

    #[test]
    fn single_byte_extension_ends_at_a_delimiter() {
        let set = cs("ISO 2022 IR 100\\ISO 2022 IR 126");
        assert_eq!(set.decode(b"\x1b-F\xe1\r\xe1", TEXT_DELIMITERS), "α\r\u{e1}");
        assert_eq!(set.decode(b"\x1b-F\xe1\r\xe1", b""), "α\rα");
    }

    #[test]
    fn unknown_escape_sequence_is_kept() {
        assert_eq!(cs("ISO_IR 100").decode(b"a\x1b-F\xe1", b""), "a\u{1b}-F\u{e1}");
    }

    #[test]
    fn korean_and_chinese() {
        let set = cs("\\ISO 2022 IR 149");
        assert_eq!(set.decode(b"\x1b$)C\xb1\xe8\xc8\xf1\xc1\xdf", b""), "김희중");
        assert_eq!(cs("GB18030").decode(b"\x81\x30\x81\x30\x94\x39\xfc\x36", b""), "\u{80}\u{1F600}");
        assert_eq!(cs("GBK").decode(b"\xc1\xf5^\x80", b""), "刘^\u{FFFD}");
        // pydicom hands ESC $ ) A with the text to Python's gb2312, which keeps the sequence.
        assert_eq!(cs("\\ISO 2022 IR 58").decode(b"\x1b$)A\xb0\xa1", b""), "\u{1b}$)A啊");
    }

    #[test]
    fn hangul_syllable_from_jamo() {
        assert_eq!(cs("ISO 2022 IR 149").decode(b"\xa4\xd4\xa4\xa1\xa4\xbf\xa4\xa1", b""), "각");
    }
}
