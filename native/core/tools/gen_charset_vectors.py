#!/usr/bin/env python3
"""Write tests/data/charset_vectors.json: text values and what pydicom decodes them to.

The vectors pin `dicodec_core::charset::CharacterSet` to pydicom 3.0.2. Run from anywhere:

    python native/core/tools/gen_charset_vectors.py

Every vector holds hex strings for the raw (0008,0005) value in force (`charset`), the raw
element value (`raw`) and the delimiter bytes (`delimiters`), and:

* `expected`: `pydicom.charset.decode_bytes(raw, encodings, set(delimiters))`, where
  `encodings` is what pydicom makes of `charset` (`Dataset._character_set` of a data set with
  that (0008,0005)). The Rust test asserts
  `CharacterSet::from_value(charset).decode(raw, delimiters) == expected`.
* `value` (vectors taken from DICOM files and some hand-written ones): the element value as
  pydicom presents it after reading, `ds[tag].value`, with multiple values joined by `\\`
  and a person name as `str(PersonName)`. The Rust test derives it from `decode` the way
  pydicom's value conversion does: SH, LO and UC are decoded whole with the text delimiters
  (TAB, LF, FF, CR), split at `\\` and each value stripped of trailing spaces and NULs;
  ST, LT and UT are decoded the same way and stripped; PN is stripped of trailing spaces
  and NULs as bytes, decoded with the text delimiters, split at `\\`, and each name loses
  its empty trailing `=` groups.

Sources: every file of pydicom's charset test files, every other pydicom test file with a
text element of SH, LO, ST, PN, LT, UC or UT holding a byte above 0x7F or an ESC (sequence
items are searched too; an item without (0008,0005) inherits its parent's), hand-written
cases, and seeded random byte strings for each character set (a generator of cases for the
error paths: invalid bytes, truncated sequences, unknown escape sequences).
"""

from __future__ import annotations

import io
import json
import random
import struct
import sys
import warnings
from pathlib import Path

import pydicom
from pydicom.charset import decode_bytes
from pydicom.data import get_charset_files, get_testdata_files
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

TEXT_VRS = {"SH", "LO", "ST", "PN", "LT", "UC", "UT"}
TEXT_DELIMITERS = b"\t\n\x0c\r"
PN_COMPONENT_DELIMITERS = b"^"
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "charset_vectors.json"
# Text elements taken from one non-charset test file, at most.
PER_FILE_LIMIT = 40
# Bytes of raw value kept in one vector, at most (longer values are skipped).
MAX_RAW = 2048


def synthetic(elements: list[tuple[int, bytes]]) -> Dataset:
    """Read a data set made of implicit VR little endian elements, as pydicom reads files."""
    data = b""
    for tag, value in elements:
        if len(value) % 2:
            value += b" "
        data += struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value
    return pydicom.dcmread(io.BytesIO(data), force=True)


def encodings_for(charset: bytes) -> list[str]:
    """What pydicom makes of a raw (0008,0005) value."""
    ds = synthetic([(0x00080005, charset)])
    result = ds._character_set
    return [result] if isinstance(result, str) else list(result)


def decoded(raw: bytes, charset: bytes, delimiters: bytes) -> str:
    return decode_bytes(raw, encodings_for(charset), set(delimiters))


def present(value) -> str:
    """An element value as the vectors store it."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def vector(source: str, vr: str, charset: bytes, raw: bytes, delimiters: bytes, value=None) -> dict:
    v = {
        "source": source,
        "vr": vr,
        "charset": charset.hex(),
        "raw": raw.hex(),
        "delimiters": delimiters.hex(),
        "expected": decoded(raw, charset, delimiters),
    }
    if value is not None:
        v["value"] = value
    return v


def walk(ds: Dataset, charset: bytes, source: str, out: list, only_non_ascii: bool, path: str = "") -> None:
    """Collect the text elements of `ds` and its sequence items."""
    if 0x00080005 in ds:
        item = ds.get_item(0x00080005)
        if isinstance(item.value, bytes):
            charset = item.value
        else:
            # pydicom converted it while reading: the same terms, padding aside.
            charset = present(item.value).encode("latin-1")
    for tag in list(ds.keys()):
        raw_elem = ds.get_item(tag)
        try:
            elem = ds[tag]
        except Exception:  # undecodable element: not a text case
            continue
        if elem.VR == "SQ":
            for i, child in enumerate(elem.value or []):
                walk(child, charset, source, out, only_non_ascii, f"{path}{tag:08X}[{i}].")
            continue
        if elem.VR not in TEXT_VRS:
            continue
        raw = getattr(raw_elem, "value", None)
        if not isinstance(raw, bytes) or not raw or len(raw) > MAX_RAW:
            continue
        if only_non_ascii and all(b < 0x80 and b != 0x1B for b in raw):
            continue
        out.append(vector(f"{source}:{path}{tag:08X}", elem.VR, charset, raw, TEXT_DELIMITERS, present(elem.value)))


def file_vectors() -> list[dict]:
    vectors: list[dict] = []
    charset_files = sorted(f for f in get_charset_files() if f.endswith(".dcm"))
    seen = {Path(f).name for f in charset_files}
    for f in charset_files:
        ds = pydicom.dcmread(f, defer_size=None)
        walk(ds, b"", Path(f).name, vectors, only_non_ascii=False)
    for f in sorted(get_testdata_files()):
        name = Path(f).name
        if name in seen or not name.endswith((".dcm", "")) or Path(f).suffix not in (".dcm", ""):
            continue
        try:
            ds = pydicom.dcmread(f, defer_size=None, force=True)
        except Exception:
            continue
        found: list[dict] = []
        try:
            walk(ds, b"", name, found, only_non_ascii=True)
        except Exception:
            continue
        vectors.extend(found[:PER_FILE_LIMIT])
    return vectors


def element_value(charset: bytes, raw: bytes, tag: int) -> str:
    """`ds[tag].value` of a data set with this (0008,0005) and this raw value."""
    ds = synthetic([(0x00080005, charset), (tag, raw)])
    return present(ds[tag].value)


# Tags of each VR, for hand-written element values (implicit VR takes the dictionary's).
TAG_OF_VR = {
    "SH": 0x00080050,  # Accession Number
    "LO": 0x00081030,  # Study Description
    "ST": 0x00080081,  # Institution Address
    "PN": 0x00100010,  # Patient's Name
    "LT": 0x00324000,  # Study Comments
    "UC": 0x00080119,  # Long Code Value
    "UT": 0x0040A160,  # Text Value
}

# (charset, raw value, VR) written by hand for the cases files do not cover.
HAND_WRITTEN: list[tuple[bytes, bytes, str]] = [
    # Default repertoire and ISO 8859-1: C1 bytes are code points, not Windows-1252.
    (b"", b"Caf\xe9 \x80\x85\x9f", "LO"),
    (b"ISO_IR 100", bytes(range(0x20, 0x100)).replace(b"\\", b""), "LT"),
    (b"ISO_IR 6", b"\xe9\xff", "LO"),
    (b"ISO 2022 IR 6", b"abc\xe9", "SH"),
    # Every byte of every single-byte set.
    *[(cs, bytes(range(0x80, 0x100)), "LT") for cs in (
        b"ISO_IR 101", b"ISO_IR 109", b"ISO_IR 110", b"ISO_IR 144", b"ISO_IR 127", b"ISO_IR 126",
        b"ISO_IR 138", b"ISO_IR 148", b"ISO_IR 166", b"ISO_IR 13", b"ISO_IR 100", b"")],
    # UTF-8, valid and not.
    (b"ISO_IR 192", "Wang^XiaoDong=王^小東".encode(), "PN"),
    (b"ISO_IR 192", b"abc\xff\xfe def", "LO"),
    (b"ISO_IR 192", b"\xe4\xb8", "LO"),
    (b"ISO_IR 192", b"\xed\xa0\x80\xf0\x80\x80\xc0\xaf\xf4\x90\x80\x80", "LT"),
    (b"ISO_IR 192", b"\xef\xbb\xbfBOM", "LO"),
    (b"ISO_IR 192\\ISO 2022 IR 100", b"\x1b-A\xe9", "LO"),
    (b"ISO_IR 100\\ISO_IR 192", "é".encode(), "LO"),
    (b"ISO_IR 192 ", "é".encode(), "LO"),
    # GB 18030 and GBK.
    (b"GB18030", "Wang^XiaoDong=王^小东".encode("gb18030"), "PN"),
    (b"GB18030", b"\x81\x30\x81\x30 \x94\x39\xfc\x36 \x84\x31\xa4\x39 \x90\x30\x81\x30", "LO"),
    (b"GB18030", b"\x81\x35\xf4\x37\xa8\xbc\xa6\xd9\xfe\x59\xa3\xa0", "LO"),
    (b"GB18030", b"\x81\x30\x81", "LO"),
    (b"GB18030", b"\x80\xff\x81\x30\xff\x30\x85\x30\x81\x30", "LO"),
    (b"GBK", "刘^晓东".encode("gbk") + b"\x80\xa2\xe3\xfe\x50", "PN"),
    (b"GBK\\ISO 2022 IR 100", b"\xc1\xf5\x1b-A\xe9", "LO"),
    # GB 2312 through ISO 2022 IR 58 (pydicom keeps the escape sequence in the text).
    (b"\\ISO 2022 IR 58", b"Zhang^XiaoDong=\x1b$)A\xd5\xc5^\xd0\xa1\xb6\xab\x1b(B=", "PN"),
    (b"ISO 2022 58", "啊".encode("gb2312"), "LO"),
    (b"\\ISO 2022 IR 58", b"\x1b$)A\xa1\xa4\xa1\xaa\xa2\xa1", "LO"),
    # Korean: KS X 1001 in G1, also as the first value, and an eight-byte syllable.
    (b"\\ISO 2022 IR 149", b"Hong^Gildong=\x1b$)C\xc8\xab^\xb1\xe6\xb5\xbf=\x1b$)C\xc8\xab^\xb1\xe6\xb5\xbf", "PN"),
    (b"ISO 2022 IR 149", "김희중".encode("euc_kr"), "LO"),
    (b"ISO 2022 IR 149", b"\xa4\xd4\xa4\xa1\xa4\xbf\xa4\xa1 \xa4\xd4\xa4\xa1\xa4\xbf", "LO"),
    (b"\\ISO 2022 IR 149", b"\x1b$)C\xa2\xe6\xa2\xe7\xa4\xd4\xb0", "LO"),
    # Japanese: katakana, kanji, JIS X 0212, Roman, and what goes wrong with them.
    (b"ISO 2022 IR 13\\ISO 2022 IR 87", b"\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J=\x1b$B$d$^$@\x1b(J^\x1b$B$?$m$&\x1b(J", "PN"),
    (b"\\ISO 2022 IR 87", b"\x1b$B-!-\"t'\x1b(B \x1b$B!A!B!]!q!r\"L\x1b(B", "LO"),
    (b"\\ISO 2022 IR 87", b"\x1b$B0!\n0! 0\x800", "LT"),
    (b"\\ISO 2022 IR 159", b"\x1b$(D0!\"7\x1b(B", "LO"),
    (b"\\ISO 2022 IR 87\\ISO 2022 IR 159", b"\x1b$B0!\x1b$(D0!\x1b(Babc", "LO"),
    (b"ISO_IR 13", b"\\~\xa1\xdf\x81\x40\x88\x9f\x87\x40\x80\xa0\xfd", "LO"),
    (b"ISO 2022 IR 13", b"\x1b(J\\~\x1b)I\xb1", "LO"),
    (b"ISO 2022 IR 87", b"abc\x1b$B0!\x1b(Bdef\xe9", "LO"),
    (b"ISO 2022 IR 159", b"\x1b$B0!\x1b$A0!", "LO"),
    # Single-byte code extensions and delimiters.
    (b"ISO 2022 IR 100\\ISO 2022 IR 126", b"\x1b-F\xe1\xe2\r\n\xe1\x1b-A\xe9", "LT"),
    (b"ISO 2022 IR 100\\ISO 2022 IR 126", b"\x1b-F\xe1^\xe2=\xe3", "PN"),
    (b"ISO 2022 IR 100\\ISO 2022 IR 144", b"\x1b-L\xbb\xee\xda\xed^\x1b-L\xbb\\\x1b-A\xe9", "SH"),
    (b"\\ISO 2022 IR 109", b"\x1b-C\xa5\xa1", "LO"),
    (b"ISO_IR 100", b"a\x1b-F\xe1b", "LO"),
    (b"ISO_IR 100", b"\x1b", "LO"),
    (b"ISO_IR 100", b"x\x1b$(", "LO"),
    (b"ISO 2022 IR 166", b"\x1b-T\xa1\xa0", "LO"),
    (b"ISO 2022 IR 148\\ISO 2022 IR 6", b"\xd0\x1b(B\xd0\t\xd0", "LT"),
    # Unknown terms, misspellings and Python codec names.
    (b"ISO_IR 999", b"\xe9", "LO"),
    (b"ISO-IR 100", b"\xe9", "LO"),
    (b"ISO IR 192", "é".encode(), "LO"),
    (b"ISO-IR 192\\ISO 2022 IR 100", b"\x1b-A\xe9", "LO"),
    (b"ISO_2022_IR_126", b"\xe1", "LO"),
    (b"ISO-2022-IR 999", b"\xe9", "LO"),
    (b"ISO_IR_100", b"\xe9", "LO"),
    (b"ISO_IR_6", b"a\xe9", "LO"),
    (b"UTF-8", "é".encode(), "LO"),
    (b"utf8", b"\xff", "LO"),
    (b"latin_1\\ISO 2022 IR 126", b"\x1b-A\xe9\x1b-F\xe1", "LO"),
    (b"ISO-8859-1\\ISO 2022 IR 126", b"\x1b-A\xe9\x1b-F\xe1", "LO"),
    (b"windows-1252", b"\x80\x81", "LO"),
    (b"Shift_JIS", b"\x88\x9f", "LO"),
    (b"nonsense\\ISO 2022 IR 100", b"\x1b-A\xe9", "LO"),
    (b"\\\\ISO 2022 IR 100", b"\x1b-A\xe9", "LO"),
    (b" ISO_IR 100", b"\xe9", "LO"),
    (b"\x00", b"\xe9", "LO"),
    # Padding and multiple values as pydicom presents them.
    (b"ISO_IR 100", b"one \\two\x00\\ three ", "LO"),
    (b"ISO_IR 100", b"Doe^John\\Roe^Jane== ", "PN"),
    (b"ISO_IR 100", b"text with trailing spaces   ", "UT"),
    (b"GBK", b"\x95\x5c", "LO"),
    (b"GB18030", b"\x95\x5c\\\x95\x5c", "SH"),
    (b"ISO_IR 109", b"a\xa5b^c", "PN"),
    (b"\\ISO 2022 IR 87", b"\x1b$B-!\x1b(B^x", "PN"),
    (b"ISO_IR 100", b"a\x1b-Fb", "PN"),
]


# Spellings of (0008,0005) terms that are not defined terms: pydicom corrects some, takes
# others for Python codec names and falls back to the default repertoire for the rest.
TERM_SPELLINGS = [
    "iso-8859-2", "ISO8859-5", "latin-1", "L1", "Latin2", "cp936", "EUC-KR", "ks_c_5601-1987", "utf_8", "U8",
    "ISO_IR 192\n", "ISO 2022-IR 87", "ISO\n2022 IR 87", "ISO 2022 IR\n87", "ISO.IR 100", "ISO_IR_192",
    "iso_ir 100", " ISO_IR 100", "ISO-IR 13", "ISO_2022_IR_149", "ISO-2022-IR-149", "iso2022_jp", "ISO-2022-JP-2",
    "SJIS", "EUC-CN", "iso_ir_58", "ISO-IR-58", "gbk", "gb18030-2000", "US-ASCII", "ANSI_X3.4-1968", "TIS620",
    "windows-1252", "cp1255", "windows-1253", "1251", "cp874", "latin_1", "iso8859", "euc_kr", "UTF8",
    "iso_ir_126", "utf.8", "iso_646.irv:1991", "ISO_IR  100", "ISOxIR 100", "ISO_IR 1OO", "\xe9",
    "ISO 2022 GBK", "ISO 2022 58",
]
TERM_RAWS = [
    b"abc\xe9\x80\xa4\xd4\x81\x40\x30\x21\xff",
    b"\x1b-A\xe9\x1b-F\xe1\x1b$B0!\x1b(J\\\x1b$)C\xb0\xa1\x1b)I\xb1",
]


def hand_vectors() -> list[dict]:
    vectors = []
    for i, (charset, raw, vr) in enumerate(HAND_WRITTEN):
        # A value in a file has an even length: an odd one gets a trailing space.
        stored = raw + b" " if len(raw) % 2 else raw
        value = element_value(charset, stored, TAG_OF_VR[vr])
        vectors.append(vector(f"hand:{i}", vr, charset, stored, TEXT_DELIMITERS, value))
        if stored != raw:
            vectors.append(vector(f"hand:{i}:odd", vr, charset, raw, TEXT_DELIMITERS))
        if vr == "PN":
            vectors.append(vector(f"hand:{i}:pn", vr, charset, raw, PN_COMPONENT_DELIMITERS))
            vectors.append(vector(f"hand:{i}:none", vr, charset, raw, b""))
    for name in TERM_SPELLINGS:
        charset = name.encode("latin-1")
        for j, raw in enumerate(TERM_RAWS):
            vectors.append(vector(f"term:{name!r}:{j}", "LO", charset, raw, TEXT_DELIMITERS))
    return vectors


# Bytes each random case draws from, per character set (weighted to hit interesting paths).
RANDOM_SETS: list[tuple[bytes, list[bytes]]] = [
    (b"ISO_IR 100", [bytes(range(256))]),
    (b"ISO_IR 109", [bytes(range(0xA0, 0x100))]),
    (b"ISO_IR 166", [bytes(range(0x80, 0x100))]),
    (b"ISO_IR 192", [bytes(range(0x80, 0x100)), b"\xc2\xe0\xed\xef\xf0\xf4\x80\xbf\x90\xa0"]),
    (b"ISO_IR 13", [bytes(range(0x80, 0x100)), b"\x81\x88\x9f\xe0\xea\xeb\x40\x7e\x80\x9e\x9f\xfc"]),
    (b"ISO 2022 IR 149", [bytes(range(0xA0, 0x100)), b"\xa4\xd4\xa1\xbf\x80\xff A"]),
    (b"ISO 2022 58", [bytes(range(0xA0, 0x100)), b"\xa1\xa2\xa6\xa8\xf7\xf8\x80A"]),
    (b"GBK", [bytes(range(0x80, 0x100)), b"\x81\xa1\xfe\x40\x7f\x80\xa0\xff\x5c"]),
    (b"GB18030", [bytes(range(0x80, 0x100)), b"\x81\x84\x85\x90\xe3\xe4\xfe\x30\x39\x40\xff"]),
    (b"ISO 2022 IR 87", [bytes(range(0x20, 0x80)), b"\x1b$B(J\x210!~\n\x80 "]),
    (b"ISO 2022 IR 159", [bytes(range(0x20, 0x80)), b"\x1b$(D)B.AFN\x210!~\n\x80"]),
    (b"\\ISO 2022 IR 87\\ISO 2022 IR 13", [b"\x1b$B()JI\x210!\xb1\x5c\r^", bytes(range(0x20, 0x100))]),
    (b"ISO 2022 IR 100\\ISO 2022 IR 126\\ISO 2022 IR 149", [b"\x1b-AF$)C\xa1\xe1\xb0\xd4\r^", bytes(range(0xA0, 0x100))]),
    (b"\\ISO 2022 IR 58\\ISO 2022 IR 87", [b"\x1b$)AB(\xb0\xa1\x30\x21^", bytes(range(0x20, 0x100))]),
]


def random_vectors(count: int, seed: int = 20240601) -> list[dict]:
    rng = random.Random(seed)
    vectors = []
    for charset, alphabets in RANDOM_SETS:
        for n in range(count):
            alphabet = alphabets[n % len(alphabets)]
            raw = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
            delimiters = rng.choice([TEXT_DELIMITERS, PN_COMPONENT_DELIMITERS, b"^=\\", b""])
            vectors.append(vector(f"random:{charset.decode()}:{n}", "LO", charset, raw, delimiters))
    return vectors


def main() -> int:
    warnings.simplefilter("ignore")
    pydicom.config.settings.reading_validation_mode = pydicom.config.WARN
    vectors = file_vectors() + hand_vectors() + random_vectors(40)
    document = {
        "generator": "native/core/tools/gen_charset_vectors.py",
        "pydicom": pydicom.__version__,
        "vectors": vectors,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, ensure_ascii=False, indent=0)
    OUT.write_text(text + "\n", encoding="utf-8")
    print(f"{len(vectors)} vectors, {len(text.encode()) // 1024} KiB -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
