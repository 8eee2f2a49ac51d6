#!/usr/bin/env python3
"""Generate native/core/src/dictionary/table.rs, the DICOM data dictionary of dicodec-core.

The standard data (DICOM PS3.6: tag, VR, VM, name, retired flag, keyword) is read from
the data dictionaries that pydicom ships (``pydicom._dicom_dict.DicomDictionary`` and
``RepeatersDictionary``); only that data is used, none of pydicom's code. The output is
plain static Rust data with no lazy initialisation:

* ``ENTRIES``: every exact tag, sorted by tag for binary search;
* ``REPEATERS``: the repeating-group masks (``60xx3000``, ``002031xx``, ``1000xxx0``...)
  as (mask, value) pairs, the most specific (fewest ``x`` digits) first;
* ``KEYWORDS``: (keyword, index, is_repeater), sorted by keyword for binary search.

Usage::

    python native/core/tools/gen_dictionary.py          # (re)write table.rs
    python native/core/tools/gen_dictionary.py --check  # exit 1 if table.rs is stale

Run it after upgrading pydicom to pick up a newer edition of the standard, and commit
the regenerated table.rs together with any change to this script.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pydicom
from pydicom._dicom_dict import DicomDictionary, RepeatersDictionary

OUTPUT = Path(__file__).resolve().parent.parent / "src" / "dictionary" / "table.rs"

# Every repeater also requires an even group: odd groups are private, and the repeating
# groups of the standard (50xx, 60xx, 7Fxx) are even groups only.
EVEN_GROUP_BIT = 0x0001_0000

# Longest line of the packed KEYWORDS table.
KEYWORD_LINE_WIDTH = 100


def rust_str(text: str) -> str:
    """A Rust string literal for ``text``."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def hex32(value: int) -> str:
    """``0x0010_0010``: the underscore keeps clippy's unreadable_literal quiet."""
    return f"0x{value >> 16:04X}_{value & 0xFFFF:04X}"


def normalise_vr(vr: str) -> str:
    """The VR as the standard writes it; pydicom's 'NONE' (items, delimiters) becomes ''."""
    return "" if vr == "NONE" else vr


def retired_flag(flag: str) -> bool:
    if flag not in ("", "Retired"):
        raise ValueError(f"unexpected retired flag {flag!r}")
    return flag == "Retired"


def parse_mask(pattern: str) -> tuple[int, int]:
    """(mask, value) for a pattern such as '60xx3000'; the mask also demands an even group."""
    if len(pattern) != 8:
        raise ValueError(f"bad repeater pattern {pattern!r}")
    mask = value = 0
    for ch in pattern:
        mask <<= 4
        value <<= 4
        if ch not in "xX":
            mask |= 0xF
            value |= int(ch, 16)
    if value & EVEN_GROUP_BIT:
        raise ValueError(f"repeater {pattern!r} names an odd (private) group")
    return mask | EVEN_GROUP_BIT, value


def entry_fields(tag: int, data: tuple[str, str, str, str, str]) -> str:
    vr, vm, name, retired, keyword = data
    return ", ".join(
        (
            hex32(tag),
            rust_str(normalise_vr(vr)),
            rust_str(vm),
            rust_str(name),
            rust_str(keyword),
            "true" if retired_flag(retired) else "false",
        )
    )


def generate() -> str:
    entries = sorted(DicomDictionary.items())
    for tag, _ in entries:
        if not 0 <= tag <= 0xFFFF_FFFF:
            raise ValueError(f"tag {tag:#x} out of range")
        if (tag >> 16) & 1:
            raise ValueError(f"standard entry {tag:08X} is in an odd (private) group")

    repeaters = []
    for pattern, data in RepeatersDictionary.items():
        mask, value = parse_mask(pattern)
        repeaters.append((pattern.upper().replace("X", "x"), mask, value, data))
    # Most specific first, so a linear walk returns the best match: fewest x digits,
    # i.e. most fixed mask bits (the even-group bit only refines that order).
    repeaters.sort(key=lambda r: (-bin(r[1]).count("1"), r[0]))
    for i, (pat_a, mask_a, val_a, _) in enumerate(repeaters):
        for pat_b, mask_b, val_b, _ in repeaters[i + 1 :]:
            overlap = (val_a ^ val_b) & mask_a & mask_b == 0
            if overlap and mask_a == mask_b:
                raise ValueError(f"repeaters {pat_a} and {pat_b} overlap ambiguously")

    keywords: dict[str, tuple[int, bool]] = {}
    for index, (_, data) in enumerate(entries):
        if data[4]:
            if data[4] in keywords:
                raise ValueError(f"duplicate keyword {data[4]!r}")
            keywords[data[4]] = (index, False)
    for index, (*_, data) in enumerate(repeaters):
        if data[4]:
            if data[4] in keywords:
                raise ValueError(f"duplicate keyword {data[4]!r}")
            keywords[data[4]] = (index, True)
    if max(len(entries), len(repeaters)) > 0xFFFF:
        raise ValueError("too many entries for a u16 index")
    # Rust orders &str by bytes; sort the same way.
    keyword_list = sorted(keywords.items(), key=lambda kv: kv[0].encode("utf-8"))

    lines = [
        "// @generated by native/core/tools/gen_dictionary.py -- DO NOT EDIT BY HAND.",
        f"// Standard data: DICOM PS3.6 data dictionary as supplied by pydicom {pydicom.__version__}.",
        "// To change this file, change the script (or upgrade pydicom) and rerun it.",
        "",
        "//! The generated tables behind [`super`]: exact entries, repeating-group masks and",
        "//! the keyword index.",
        "",
        "use super::{Entry, Repeater};",
        "",
        "/// Shorthand constructor that keeps one entry on one line.",
        "const fn e(",
        "    tag: u32,",
        "    vr: &'static str,",
        "    vm: &'static str,",
        "    name: &'static str,",
        "    keyword: &'static str,",
        "    retired: bool,",
        ") -> Entry {",
        "    Entry {",
        "        tag,",
        "        vr,",
        "        vm,",
        "        name,",
        "        keyword,",
        "        retired,",
        "    }",
        "}",
        "",
        "/// Shorthand constructor for a repeater; the entry's tag is the mask's base value.",
        "const fn r(",
        "    mask: u32,",
        "    value: u32,",
        "    vr: &'static str,",
        "    vm: &'static str,",
        "    name: &'static str,",
        "    keyword: &'static str,",
        "    retired: bool,",
        ") -> Repeater {",
        "    Repeater {",
        "        mask,",
        "        entry: e(value, vr, vm, name, keyword, retired),",
        "    }",
        "}",
        "",
        f"/// Every exact standard tag ({len(entries)}), sorted by tag.",
        "#[rustfmt::skip]",
        f"pub(super) static ENTRIES: [Entry; {len(entries)}] = [",
    ]
    lines += [f"    e({entry_fields(tag, data)})," for tag, data in entries]
    lines += [
        "];",
        "",
        f"/// The repeating-group entries ({len(repeaters)}): a tag matches when",
        "/// `tag & mask == entry.tag`. Every mask also requires an even group. Sorted most",
        "/// specific (fewest `x` digits in the standard's pattern) first.",
        "#[rustfmt::skip]",
        f"pub(super) static REPEATERS: [Repeater; {len(repeaters)}] = [",
    ]
    for pattern, mask, value, data in repeaters:
        fields = entry_fields(value, data)
        lines.append(f"    r({hex32(mask)}, {fields}), // {pattern}")
    lines += [
        "];",
        "",
        f"/// Every non-empty keyword ({len(keyword_list)}), sorted by keyword (bytewise):",
        "/// (keyword, index into `ENTRIES` or `REPEATERS`, true for `REPEATERS`).",
        "#[rustfmt::skip]",
        f"pub(super) static KEYWORDS: [(&str, u16, bool); {len(keyword_list)}] = [",
    ]
    # Several keywords a line keeps the file short; rustfmt leaves the block alone.
    line = ""
    for kw, (index, rep) in keyword_list:
        item = f"({rust_str(kw)}, {index}, {'true' if rep else 'false'}),"
        if line and len(line) + 1 + len(item) > KEYWORD_LINE_WIDTH:
            lines.append(line)
            line = ""
        line = f"{line} {item}" if line else f"    {item}"
    if line:
        lines.append(line)
    lines += ["];", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write table.rs")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the output file is not up to date"
    )
    args = parser.parse_args()
    text = generate()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(f"{args.output} is stale; rerun {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
