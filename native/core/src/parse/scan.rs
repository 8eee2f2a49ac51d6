//! The element scanner: one pass over the stream, recording where each element is.
//!
//! Values are never copied. Every length is checked against the bytes that exist (and against
//! the enclosing item or sequence) before it is used to move on.

use std::io::Read;
use std::ops::Range;

use super::preamble;
use super::syntax::{self, Encoding};
use super::{
    Buffer, Children, DicomFile, Element, Fragment, Index, Item, ParseOptions, SkipSequences,
    Warning, UNDEFINED_LENGTH,
};
use crate::dictionary;
use crate::error::{Error, Result};
use crate::tag::Tag;
use crate::vr::Vr;

/// The 8 bytes of a Sequence Delimitation Item in little endian.
const SEQUENCE_DELIMITER_LE: [u8; 8] = [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0];
/// The same in big endian.
const SEQUENCE_DELIMITER_BE: [u8; 8] = [0xFF, 0xFE, 0xE0, 0xDD, 0, 0, 0, 0];

pub(super) fn scan(data: Buffer, options: &ParseOptions) -> Result<DicomFile> {
    let start = preamble::find_start(&data, options.force)?;
    let mut scanner = Scanner::new(&data, options, Scanner::fresh_index());
    let meta = scanner.scan_meta(start.offset)?;
    let meta_end = meta.end_offset;
    let meta_range = meta.range;

    let (mut encoding, deflated, transfer_syntax) = if let Some(uid) = scanner.meta_transfer_syntax(&meta_range) {
        let (encoding, deflated) = syntax::encoding_of(&uid);
        (encoding, deflated, uid)
    } else {
        if meta_range.is_empty() && start.offset != 0 && !options.force {
            // 'DICM' but no meta: nothing says how the rest is encoded; guess, as with force.
            scanner.warn("no file meta after 'DICM'; guessing the encoding", None, start.offset);
        } else if !meta_range.is_empty() {
            scanner.warn("file meta has no Transfer Syntax UID; guessing the encoding", None, meta_end);
        }
        let (encoding, uid) = preamble::guess_encoding(data.get(meta_end..).unwrap_or_default());
        (encoding, false, uid.to_owned())
    };

    let (index, warnings) = (std::mem::take(&mut scanner.index), std::mem::take(&mut scanner.warnings));
    drop(scanner);

    let data = if deflated { inflate(&data, meta_end, options.max_inflated_bytes)? } else { data };

    let mut scanner = Scanner::new(&data, options, index);
    scanner.warnings = warnings;
    if !deflated {
        encoding = scanner.check_first_element(meta_end, encoding);
    }
    let root = scanner.scan_dataset(meta_end, data.len(), Level::Top, encoding, 0)?;
    let Scanner { mut index, mut warnings, stopped_early, saw_us_or_ss, .. } = scanner;
    in_stream_order(&mut warnings);
    index.meta = meta_range;
    index.root = root.range;
    // Give back the room made ahead that the header left unused, or what growth by doubling
    // overshot: headers are kept by the thousand.
    index.elements.shrink_to_fit();
    if saw_us_or_ss {
        let root_range = index.root.clone();
        settle_us_or_ss(&mut index, &data, root_range, 0);
    }

    Ok(DicomFile {
        data,
        index,
        transfer_syntax,
        encoding,
        has_preamble: start.has_preamble,
        deflated,
        stopped_early,
        scanned_len: root.end_offset,
        warnings,
    })
}

/// Scan the rest of a file whose header, `header`, was scanned from the first bytes of the
/// same file with `stop_before_pixels`. The header's index is kept element for element, so that
/// positions handed out for it stay valid; what follows is added, and the top-level data set,
/// completed, is added again at the end (its old range still names the same elements).
pub(super) fn resume(header: &DicomFile, data: Buffer, options: &ParseOptions) -> Result<DicomFile> {
    let resume_at = header.scanned_len;
    if data.get(..resume_at) != Some(header.bytes().get(..resume_at).unwrap_or_default()) {
        return Err(Error::invalid("the file changed after its header was read", None, 0));
    }
    let mut scanner = Scanner::new(&data, options, header.index.clone());
    scanner.warnings.clone_from(&header.warnings);
    let base = scanner.pending.len();
    scanner.pending.extend_from_slice(header.index.dataset(&header.index.root));
    let root = scanner.continue_dataset(base, resume_at, data.len(), Level::Top, header.encoding, 0)?;
    let Scanner { index, warnings, stopped_early, .. } = scanner;
    Ok(continuing(header, data, index, root.range, warnings, stopped_early, root.end_offset))
}

/// Read the items of the top-level sequences that `header`, scanned with
/// `skip_sequences`, stepped over. As in [`resume`], the header's index is kept element for
/// element and the top-level data set, its sequences now read, is added again at the end.
///
/// Each sequence is read on its own: one whose items are damaged stays unread, with a warning,
/// and is returned with its error (by its position in the top-level data set); the others read.
///
/// The bytes the header indexed are copied (values handed out from the header's buffer must
/// stay where they are), not what a read of them brought along after them.
pub(super) fn read_sequences(header: &DicomFile, options: &ParseOptions) -> (DicomFile, Vec<(u32, Error)>) {
    let data = Buffer::Owned(header.bytes().get(..header.scanned_len).unwrap_or_default().to_vec());
    // The caller's options, which skip no sequence: `LazyFile` leaves items for later only then.
    debug_assert_eq!(options.skip_sequences, SkipSequences::None);
    let mut scanner = Scanner::new(&data, options, header.index.clone());
    scanner.warnings.clone_from(&header.warnings);
    let mut root = header.index.dataset(&header.index.root).to_vec();
    let mut unreadable = Vec::new();
    for (position, element) in (0u32..).zip(root.iter_mut()).filter(|(_, e)| e.children == Children::Unread) {
        let mark = scanner.mark();
        // Read as the top-level data set (depth 0) reads its sequences.
        match scanner.read_items(element, 0) {
            Ok(items) => element.children = Children::Items(items),
            Err(error) => {
                scanner.rewind(&mark);
                scanner.warn(format!("the items of this sequence cannot be read: {error}"), Some(element.tag), element.header_offset);
                unreadable.push((position, error));
            }
        }
    }
    let Scanner { mut index, warnings, .. } = scanner;
    let start = index.elements.len() as u32;
    index.elements.extend(root);
    let root = start..index.elements.len() as u32;
    (continuing(header, data, index, root, warnings, header.stopped_early, header.scanned_len), unreadable)
}

/// The file a later scan of `header`'s stream made of `data`: its index, with the top-level
/// data set at `root`, and its warnings; the rest is what the header found.
fn continuing(
    header: &DicomFile,
    data: Buffer,
    mut index: Index,
    root: Range<u32>,
    mut warnings: Vec<Warning>,
    stopped_early: bool,
    scanned_len: usize,
) -> DicomFile {
    index.root = root.clone();
    settle_us_or_ss(&mut index, &data, root, 0);
    in_stream_order(&mut warnings);
    DicomFile {
        data,
        index,
        transfer_syntax: header.transfer_syntax.clone(),
        encoding: header.encoding,
        has_preamble: header.has_preamble,
        deflated: header.deflated,
        stopped_early,
        scanned_len,
        warnings,
    }
}

/// Warnings in the order of the bytes they are about, however the scan came to them.
fn in_stream_order(warnings: &mut [Warning]) {
    warnings.sort_by_key(|w| w.offset);
}

/// Give "US or SS" elements their VR from the Pixel Representation of the nearest data set
/// that has one (the element's own, else its ancestors'; 0 when none has), as pydicom does.
fn settle_us_or_ss(index: &mut Index, data: &[u8], dataset: Range<u32>, inherited: u16) {
    let own = index.find(&dataset, Tag::PIXEL_REPRESENTATION).and_then(|i| {
        let element = &index.elements[i as usize];
        let bytes: [u8; 2] = data.get(element.value_offset..element.value_offset + 2)?.try_into().ok()?;
        Some(if element.encoding.big_endian { u16::from_be_bytes(bytes) } else { u16::from_le_bytes(bytes) })
    });
    let representation = own.unwrap_or(inherited);
    for i in dataset.start as usize..dataset.end as usize {
        let element = &mut index.elements[i];
        if element.us_or_ss {
            element.vr = if representation == 1 { Vr::SS } else { Vr::US };
        }
        if let Children::Items(items) = element.children.clone() {
            for item in items {
                let elements = index.items[item as usize].elements.clone();
                settle_us_or_ss(index, data, elements, representation);
            }
        }
    }
}

/// Inflate a deflated data set (PS3.5 A.5: raw deflate, no zlib header) behind a copy of the
/// file meta, so offsets before `meta_end` keep their meaning.
fn inflate(data: &Buffer, meta_end: usize, limit: usize) -> Result<Buffer> {
    let compressed = data.get(meta_end..).unwrap_or_default();
    let mut out = Vec::with_capacity(meta_end + compressed.len().saturating_mul(4).min(limit));
    out.extend_from_slice(&data[..meta_end]);
    let budget = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::DeflateDecoder::new(compressed)
        .take(budget)
        .read_to_end(&mut out)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::truncated("deflated data set", None, meta_end, compressed.len() as u64 + 1, compressed.len())
            } else {
                Error::invalid(format!("deflated data set does not inflate: {e}"), None, meta_end)
            }
        })?;
    if out.len() - meta_end > limit {
        return Err(Error::limit(
            format!("deflated data set inflates to more than {limit} bytes"),
            None,
            meta_end,
        ));
    }
    Ok(Buffer::Owned(out))
}

/// Which kind of data set is being scanned, for its stop rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The top-level data set: runs to the end of the stream, honours the stop options.
    Top,
    /// An item of defined length: runs to its end.
    Item,
    /// An item of undefined length: runs to an Item Delimitation Item.
    DelimitedItem,
}

/// What an item or delimiter tag does where a data element was expected.
enum Delimiter {
    /// Closes the item of undefined length being scanned.
    EndsItem,
    /// Closes the sequence around the item being scanned, whose own delimiter is missing.
    EndsSequence,
    /// Means nothing here: skipped with a warning.
    Stray,
}

struct Scanned {
    range: Range<u32>,
    end_offset: usize,
}

/// An element header as read, before its VR is settled.
struct Header {
    tag: Tag,
    vr: Option<Vr>,
    length: u32,
    /// Bytes of the header itself: 8, or 12 for the long-length VRs.
    size: usize,
}

/// The lengths of what a [`Scanner`] has added to, at one point of its scan.
struct Mark {
    elements: usize,
    items: usize,
    fragments: usize,
    pending: usize,
    pending_items: usize,
    warnings: usize,
}

/// Elements room is made for ahead, in the index and in `pending`: a CT or MR header has 150 to
/// 250. Growing the index instead, data set by data set, took 4% of a header read in reallocations.
const ELEMENTS_AHEAD: usize = 256;

struct Scanner<'a> {
    /// The bytes of `source`, taken out of it once.
    data: &'a [u8],
    /// Where they come from: a mapped file also serves small positioned reads.
    source: &'a Buffer,
    options: &'a ParseOptions,
    index: Index,
    warnings: Vec<Warning>,
    stopped_early: bool,
    /// Whether any element's VR waits for `settle_us_or_ss`.
    saw_us_or_ss: bool,
    /// The elements of the data sets being scanned, innermost last: a data set's elements
    /// move to the index when it ends, so that each data set is one contiguous range there.
    pending: Vec<Element>,
    /// The same for the items of the sequences being scanned.
    pending_items: Vec<Item>,
}

impl<'a> Scanner<'a> {
    /// A scanner adding to `index`: a new one from [`Scanner::fresh_index`], or one a scan
    /// of the same file began.
    fn new(source: &'a Buffer, options: &'a ParseOptions, index: Index) -> Self {
        Scanner {
            data: source,
            source,
            options,
            index,
            warnings: Vec::new(),
            stopped_early: false,
            saw_us_or_ss: false,
            pending: Vec::with_capacity(ELEMENTS_AHEAD),
            pending_items: Vec::new(),
        }
    }

    /// An empty index with room for [`ELEMENTS_AHEAD`] elements.
    fn fresh_index() -> Index {
        Index { elements: Vec::with_capacity(ELEMENTS_AHEAD), ..Index::default() }
    }

    /// How far the scan has got, to [`Scanner::rewind`] to.
    fn mark(&self) -> Mark {
        Mark {
            elements: self.index.elements.len(),
            items: self.index.items.len(),
            fragments: self.index.fragments.len(),
            pending: self.pending.len(),
            pending_items: self.pending_items.len(),
            warnings: self.warnings.len(),
        }
    }

    /// Forget what was scanned since `mark` (scanning only ever adds).
    fn rewind(&mut self, mark: &Mark) {
        self.index.elements.truncate(mark.elements);
        self.index.items.truncate(mark.items);
        self.index.fragments.truncate(mark.fragments);
        self.pending.truncate(mark.pending);
        self.pending_items.truncate(mark.pending_items);
        self.warnings.truncate(mark.warnings);
    }

    /// The items of `sequence`, a sequence of defined length in a data set `depth` deep.
    fn read_items(&mut self, sequence: &Element, depth: u32) -> Result<Range<u32>> {
        self.check_depth(sequence.tag, sequence.header_offset, depth)?;
        let end = sequence.value_offset + sequence.value_len;
        let (items, _) = self.scan_sequence(sequence.value_offset, end, Some(end), sequence.encoding, depth + 1)?;
        Ok(items)
    }

    fn warn(&mut self, message: impl Into<String>, tag: Option<Tag>, offset: usize) {
        self.warnings.push(Warning { message: message.into(), tag, offset });
    }

    fn u32_at(&self, offset: usize, big_endian: bool) -> Option<u32> {
        super::u32_at(self.data, offset, big_endian)
    }

    fn tag_at(&self, offset: usize, big_endian: bool) -> Option<Tag> {
        super::tag_at(self.data, offset, big_endian)
    }

    /// The file meta group: explicit VR LE by the standard, though some writers use implicit VR;
    /// read while the group is 0002, whatever the group length says.
    fn scan_meta(&mut self, start: usize) -> Result<Scanned> {
        let base = self.pending.len();
        let mut pos = start;
        while let Some(tag) = self.tag_at(pos, false) {
            if tag.group() != 0x0002 {
                break;
            }
            let vr_bytes = self.data.get(pos + 4..pos + 6).and_then(|b| b.try_into().ok());
            let encoding = if vr_bytes.and_then(Vr::from_bytes).is_some() {
                Encoding::EXPLICIT_LE
            } else {
                self.warn("file meta element written in implicit VR", Some(tag), pos);
                Encoding::IMPLICIT_LE
            };
            let header = self.read_header(pos, self.data.len(), encoding)?;
            let element = self.read_element(pos, &header, self.data.len(), encoding, Level::Item, 0)?;
            pos = element.value_offset + element.value_len;
            self.pending.push(element);
        }
        self.check_group_length(base);
        let range = self.finish_dataset(base, false, start);
        Ok(Scanned { range, end_offset: pos })
    }

    fn check_group_length(&mut self, base: usize) {
        let meta = &self.pending[base..];
        let Some(first) = meta.first().filter(|e| e.tag == Tag::new(0x0002, 0x0000) && e.value_len == 4) else {
            return;
        };
        let Some(declared) = self.u32_at(first.value_offset, false) else { return };
        let actual = meta.last().map_or(0, |e| e.value_offset + e.value_len) - (first.value_offset + 4);
        if declared as usize != actual {
            self.warn(
                format!("file meta group length is {declared} but the group holds {actual} bytes"),
                Some(first.tag),
                first.header_offset,
            );
        }
    }

    fn meta_transfer_syntax(&self, meta: &Range<u32>) -> Option<String> {
        let element = &self.index.elements[self.index.find(meta, Tag::TRANSFER_SYNTAX_UID)? as usize];
        let bytes = self.data.get(element.value_range())?;
        let uid = String::from_utf8_lossy(bytes);
        let uid = uid.trim_end_matches(['\0', ' ']).trim_start();
        (!uid.is_empty()).then(|| uid.to_owned())
    }

    /// Writers sometimes declare explicit VR and write implicit VR, or the reverse. Look at the
    /// first element and believe the bytes, as pydicom does.
    fn check_first_element(&mut self, pos: usize, declared: Encoding) -> Encoding {
        let Some(&[v0, v1]) = self.data.get(pos + 4..pos + 6) else { return declared };
        let Some(tag) = self.tag_at(pos, declared.big_endian) else { return declared };
        let looks_explicit = Vr::from_bytes([v0, v1]).is_some();
        if looks_explicit == declared.explicit_vr {
            return declared;
        }
        let (found, said, is) = if looks_explicit { ("explicit", "implicit", true) } else { ("implicit", "explicit", false) };
        self.warn(
            format!("transfer syntax says {said} VR but the data set is written in {found} VR; reading it as {found}"),
            Some(tag),
            pos,
        );
        Encoding { explicit_vr: is, big_endian: declared.big_endian }
    }

    /// Move a finished data set's elements, `pending[base..]`, to the index, in tag order,
    /// and return their range there. `ascending`: the scan saw strictly ascending tags, so
    /// there is nothing to repair.
    fn finish_dataset(&mut self, base: usize, ascending: bool, offset: usize) -> Range<u32> {
        if !ascending {
            self.repair_order(base, offset);
        }
        let start = self.index.elements.len() as u32;
        if base == 0 {
            // The top-level data set, the bulk of the elements: moved in one copy, into the room
            // made ahead when it fits.
            self.index.elements.append(&mut self.pending);
        } else {
            self.index.elements.extend(self.pending.drain(base..));
        }
        start..self.index.elements.len() as u32
    }

    /// Sort a data set written out of order and keep the last of repeated tags, with a warning.
    #[cold]
    fn repair_order(&mut self, base: usize, offset: usize) {
        let elements = &mut self.pending[base..];
        if !elements.is_sorted_by_key(|e| e.tag) {
            let first = elements.first().map(|e| e.tag);
            elements.sort_by_key(|e| e.tag);
            self.warn("elements are not in ascending tag order; sorted", first, offset);
        }
        if self.pending[base..].windows(2).any(|w| w[0].tag == w[1].tag) {
            self.warn("repeated tags in one data set; the last of each is kept", None, offset);
            let mut kept: Vec<Element> = Vec::with_capacity(self.pending.len() - base);
            for element in self.pending.drain(base..) {
                match kept.last_mut() {
                    Some(last) if last.tag == element.tag => *last = element,
                    _ => kept.push(element),
                }
            }
            self.pending.append(&mut kept);
        }
    }

    /// Read the header at `pos`; `None` for a VR when it is implicit (or an item tag).
    /// Inlined into the element loop, so that the header stays in registers (returned through
    /// memory, its fields were read back wider than written: a stalled load per element).
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn read_header(&self, pos: usize, end: usize, encoding: Encoding) -> Result<Header> {
        let Some(raw) = self.data.get(pos..end).and_then(<[u8]>::first_chunk::<8>) else {
            return Err(Self::short_header(None, pos, 8, end));
        };
        let big_endian = encoding.big_endian;
        let u16_at = |i: usize| {
            let bytes = [raw[i], raw[i + 1]];
            if big_endian { u16::from_be_bytes(bytes) } else { u16::from_le_bytes(bytes) }
        };
        let tag = Tag::new(u16_at(0), u16_at(2));
        // Items and delimiters never carry a VR (PS3.5 7.5).
        if tag.group() == 0xFFFE || !encoding.explicit_vr {
            let bytes = [raw[4], raw[5], raw[6], raw[7]];
            let length = if big_endian { u32::from_be_bytes(bytes) } else { u32::from_le_bytes(bytes) };
            return Ok(Header { tag, vr: None, length, size: 8 });
        }
        let Some(vr) = Vr::from_bytes([raw[4], raw[5]]) else {
            return Err(Self::invalid_vr(tag, [raw[4], raw[5]], pos));
        };
        if !vr.has_long_length() {
            return Ok(Header { tag, vr: Some(vr), length: u32::from(u16_at(6)), size: 8 });
        }
        let Some(&bytes) = self.data.get(pos + 8..end).and_then(<[u8]>::first_chunk::<4>) else {
            return Err(Self::short_header(Some(tag), pos, 12, end));
        };
        let length = if big_endian { u32::from_be_bytes(bytes) } else { u32::from_le_bytes(bytes) };
        Ok(Header { tag, vr: Some(vr), length, size: 12 })
    }

    #[cold]
    #[inline(never)]
    fn short_header(tag: Option<Tag>, pos: usize, needed: u64, end: usize) -> Error {
        Error::truncated("element header", tag, pos, needed, end.saturating_sub(pos))
    }

    #[cold]
    #[inline(never)]
    fn invalid_vr(tag: Tag, code: [u8; 2], pos: usize) -> Error {
        Error::invalid(
            format!("invalid VR {:?} in an explicit VR data set", String::from_utf8_lossy(&code)),
            Some(tag),
            pos + 4,
        )
    }

    /// The VR the dictionary's entry `entry` gives a tag, with the standard's alternatives
    /// settled the way pydicom settles them for implicit VR data.
    fn dictionary_vr(entry: Option<&str>, tag: Tag, length: u32) -> Option<Vr> {
        match entry? {
            // Settled once the whole stream is read: see `settle_us_or_ss`.
            "US or SS" => Some(Vr::US),
            // Encapsulated pixel data is OB (PS3.5 A.4); native pixel data in implicit VR is OW.
            "OB or OW" if tag == Tag::PIXEL_DATA && length == UNDEFINED_LENGTH => Some(Vr::OB),
            "OB or OW" | "US or OW" | "US or SS or OW" => Some(Vr::OW),
            other => Vr::from_dictionary(other),
        }
    }

    /// Scan a data set from `pos` up to `end`, recursing into sequences.
    fn scan_dataset(&mut self, start: usize, end: usize, level: Level, encoding: Encoding, depth: u32) -> Result<Scanned> {
        self.continue_dataset(self.pending.len(), start, end, level, encoding, depth)
    }

    /// Scan the rest of a data set, from `start` up to `end`, whose first elements, if any,
    /// are `pending[base..]`.
    fn continue_dataset(&mut self, base: usize, start: usize, end: usize, level: Level, encoding: Encoding, depth: u32) -> Result<Scanned> {
        // One loop per encoding, which each element's header is then read in without asking.
        match (encoding.explicit_vr, encoding.big_endian) {
            (true, false) => self.continue_in::<true, false>(base, start, end, level, depth),
            (false, false) => self.continue_in::<false, false>(base, start, end, level, depth),
            (true, true) => self.continue_in::<true, true>(base, start, end, level, depth),
            (false, true) => self.continue_in::<false, true>(base, start, end, level, depth),
        }
    }

    /// [`Scanner::continue_dataset`] in one encoding.
    fn continue_in<const EXPLICIT_VR: bool, const BIG_ENDIAN: bool>(&mut self, base: usize, start: usize, end: usize, level: Level, depth: u32) -> Result<Scanned> {
        let encoding = Encoding { explicit_vr: EXPLICIT_VR, big_endian: BIG_ENDIAN };
        let mut pos = start;
        let mut delimited = false;
        // Strictly ascending tags, as the standard requires: then `finish_dataset` has nothing to repair.
        let mut ascending = true;
        let mut previous_tag = self.pending[base..].last().map_or(-1, |e| i64::from(e.tag.0));
        while pos < end {
            let remaining = end - pos;
            // A few zero bytes at the end are padding; anything else is a header cut short.
            if remaining < 8 && level == Level::Top && self.data[pos..end].iter().all(|&b| b == 0) {
                self.warn(format!("{remaining} trailing zero bytes after the last element ignored"), None, pos);
                pos = end;
                break;
            }
            let header = self.read_header(pos, end, encoding)?;
            let tag = header.tag;
            if tag.group() == 0xFFFE {
                match self.item_tag_in_dataset(tag, pos, level)? {
                    Some(Delimiter::EndsItem) => {
                        pos += 8;
                        delimited = true;
                        break;
                    }
                    Some(Delimiter::EndsSequence) => break,
                    Some(Delimiter::Stray) => {
                        pos += 8;
                        continue;
                    }
                    None => {}
                }
            }
            if level == Level::Top && self.should_stop(tag) {
                self.stopped_early = true;
                break;
            }
            ascending &= i64::from(tag.0) > previous_tag;
            previous_tag = i64::from(tag.0);
            if let Some(vr) = Self::plain_vr(pos, &header, end) {
                // Pushed as it is built: moved through a `Result`, the element went through the
                // stack and was read back wider than written, a stalled load per element.
                let element = Self::plain_element(pos, &header, vr, encoding);
                pos = element.value_offset + element.value_len;
                self.pending.push(element);
                continue;
            }
            let element = self.read_any_element(pos, &header, end, encoding, level, depth)?;
            pos = element.value_offset + element.value_len;
            if element.length == UNDEFINED_LENGTH {
                // Step over the Sequence Delimitation Item that closed it (absent only at the end).
                pos = (pos + 8).min(end);
            }
            self.pending.push(element);
        }
        if level == Level::DelimitedItem && !delimited {
            self.warn("item of undefined length has no Item Delimitation Item", None, pos);
        }
        let range = self.finish_dataset(base, ascending, start);
        Ok(Scanned { range, end_offset: pos })
    }

    /// What an item or delimiter tag met where a data element was expected means here;
    /// `None` for other tags of group FFFE, which are read as elements.
    #[cold]
    fn item_tag_in_dataset(&mut self, tag: Tag, pos: usize, level: Level) -> Result<Option<Delimiter>> {
        let found = if tag == Tag::ITEM_DELIMITER {
            if level == Level::DelimitedItem {
                return Ok(Some(Delimiter::EndsItem));
            }
            self.warn("stray Item Delimitation Item skipped", Some(tag), pos);
            Delimiter::Stray
        } else if tag == Tag::SEQUENCE_DELIMITER {
            if level == Level::DelimitedItem {
                // The item's delimiter is missing; the sequence ends here. Leave it for the sequence.
                self.warn("item ends without an Item Delimitation Item", Some(tag), pos);
                return Ok(Some(Delimiter::EndsSequence));
            }
            self.warn("stray Sequence Delimitation Item skipped", Some(tag), pos);
            Delimiter::Stray
        } else if tag == Tag::ITEM {
            return Err(Error::invalid("an Item tag where a data element was expected", Some(tag), pos));
        } else {
            return Ok(None);
        };
        Ok(Some(found))
    }

    fn should_stop(&self, tag: Tag) -> bool {
        let at_pixels = self.options.stop_before_pixels
            && matches!(tag.0, 0x7FE0_0008 | 0x7FE0_0009 | 0x7FE0_0010);
        at_pixels || self.options.stop_at.is_some_and(|stop| tag >= stop)
    }

    /// The VR of the element whose header is at `pos`, when it is one of most elements: a VR in
    /// the file, not a sequence, an even length that fits (which rules out the odd undefined
    /// length). Its value is then `header.length` bytes after the header. `None` for the rest,
    /// which [`Scanner::read_any_element`] reads.
    #[inline]
    fn plain_vr(pos: usize, header: &Header, end: usize) -> Option<Vr> {
        let vr = header.vr.filter(|&vr| vr != Vr::UN && vr != Vr::SQ)?;
        let value_len = header.length as usize;
        (value_len.is_multiple_of(2) && value_len <= end.saturating_sub(pos + header.size)).then_some(vr)
    }

    /// The element whose header is at `pos`, one that [`Scanner::plain_vr`] found to be `vr`.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn plain_element(pos: usize, header: &Header, vr: Vr, encoding: Encoding) -> Element {
        Element {
            tag: header.tag,
            vr,
            encoding,
            header_offset: pos,
            value_offset: pos + header.size,
            length: header.length,
            value_len: header.length as usize,
            children: Children::None,
            us_or_ss: false,
        }
    }

    /// Read one element whose header is at `pos`. The returned element's value ends at
    /// `value_offset + value_len`, followed by a delimiter when the length was undefined.
    fn read_element(&mut self, pos: usize, header: &Header, end: usize, encoding: Encoding, level: Level, depth: u32) -> Result<Element> {
        match Self::plain_vr(pos, header, end) {
            Some(vr) => Ok(Self::plain_element(pos, header, vr, encoding)),
            None => self.read_any_element(pos, header, end, encoding, level, depth),
        }
    }

    /// `read_element` for everything else: implicit VR, UN, sequences, undefined and odd
    /// lengths, values that overrun.
    #[inline(never)]
    fn read_any_element(&mut self, pos: usize, header: &Header, end: usize, encoding: Encoding, level: Level, depth: u32) -> Result<Element> {
        let &Header { tag, vr, length, size } = header;
        let header_vr_unknown = matches!(vr, None | Some(Vr::UN));
        let entry = if header_vr_unknown { dictionary::vr_of(tag.0) } else { None };
        let value_offset = pos + size;
        let mut value_encoding = encoding;
        let vr = match vr {
            Some(Vr::UN) if !tag.is_private() || tag.is_private_creator() => match Self::dictionary_vr(entry, tag, length) {
                // A public tag sent as UN: its value is in the dictionary VR, and a sequence's
                // items are implicit VR little endian (PS3.5 6.2.2).
                Some(Vr::SQ) => {
                    value_encoding = Encoding::IMPLICIT_LE;
                    Vr::SQ
                }
                Some(known) if length != UNDEFINED_LENGTH => known,
                _ => Vr::UN,
            },
            Some(vr) => vr,
            None => match Self::dictionary_vr(entry, tag, length) {
                Some(vr) => vr,
                // Unknown tags with undefined length in implicit VR can only be sequences.
                None if length == UNDEFINED_LENGTH => Vr::SQ,
                None => Vr::UN,
            },
        };
        let us_or_ss = entry == Some("US or SS");
        self.saw_us_or_ss |= us_or_ss;
        let mut element = Element {
            tag,
            vr,
            encoding: value_encoding,
            header_offset: pos,
            value_offset,
            length,
            value_len: 0,
            children: Children::None,
            us_or_ss,
        };

        if length == UNDEFINED_LENGTH {
            self.check_depth(tag, pos, depth)?;
            if vr == Vr::SQ || vr == Vr::UN {
                if vr == Vr::UN {
                    // CP-246: UN of undefined length is a sequence in implicit VR little endian.
                    element.encoding = Encoding::IMPLICIT_LE;
                    element.vr = Vr::SQ;
                }
                let (items, after) = self.scan_sequence(value_offset, end, None, element.encoding, depth + 1)?;
                element.value_len = after - value_offset;
                element.children = Children::Items(items);
            } else if tag == Tag::PIXEL_DATA {
                let (fragments, after) = self.scan_fragments(value_offset, end, encoding, level == Level::Top)?;
                element.value_len = after - value_offset;
                element.children = Children::Fragments(fragments);
            } else {
                let delimiter = if encoding.big_endian { SEQUENCE_DELIMITER_BE } else { SEQUENCE_DELIMITER_LE };
                let haystack = self.data.get(value_offset..end).unwrap_or_default();
                let Some(found) = memchr::memmem::find(haystack, &delimiter) else {
                    return Err(Error::truncated("value of undefined length without its delimiter", Some(tag), pos, 8, haystack.len()));
                };
                self.warn(format!("{vr} value of undefined length read up to its delimiter"), Some(tag), pos);
                element.value_len = found;
            }
            return Ok(element);
        }

        let len = length as usize;
        let available = end.saturating_sub(value_offset);
        if len > available {
            let is_pixels = matches!(tag.0, 0x7FE0_0008 | 0x7FE0_0009 | 0x7FE0_0010);
            if level == Level::Top && end == self.data.len() && is_pixels {
                // Keep what there is: the header stays readable and decoding reports the shortfall.
                self.warn(format!("pixel data is {length} bytes long but only {available} remain"), Some(tag), pos);
                element.value_len = available;
                return Ok(element);
            }
            let what = if end == self.data.len() { "value" } else { "value (inside its item)" };
            return Err(Error::truncated(what, Some(tag), pos, u64::from(length), available));
        }
        element.value_len = len;
        if len % 2 == 1 {
            self.warn(format!("odd value length {length}"), Some(tag), pos);
        }
        let skipped = match self.options.skip_sequences {
            SkipSequences::None => false,
            SkipSequences::TopLevel => level == Level::Top,
            SkipSequences::All => true,
        };
        if vr == Vr::SQ && skipped {
            element.children = Children::Unread;
        } else if vr == Vr::SQ {
            element.children = Children::Items(self.read_items(&element, depth)?);
        }
        Ok(element)
    }

    fn check_depth(&self, tag: Tag, pos: usize, depth: u32) -> Result<()> {
        if depth >= self.options.max_depth {
            return Err(Error::limit(format!("sequences nested deeper than {}", self.options.max_depth), Some(tag), pos));
        }
        Ok(())
    }

    /// Scan the items of a sequence. With `defined_end` the sequence has a length and ends
    /// there; otherwise it ends at a Sequence Delimitation Item, whose offset is returned.
    fn scan_sequence(&mut self, start: usize, end: usize, defined_end: Option<usize>, encoding: Encoding, depth: u32) -> Result<(Range<u32>, usize)> {
        let base = self.pending_items.len();
        let mut pos = start;
        loop {
            if defined_end == Some(pos) {
                break;
            }
            let Some(tag) = self.tag_at(pos, encoding.big_endian).filter(|_| pos + 8 <= end) else {
                return Err(Error::truncated("sequence item header", None, pos, 8, end.saturating_sub(pos)));
            };
            let length = self.u32_at(pos + 4, encoding.big_endian).unwrap_or(0);
            if tag == Tag::SEQUENCE_DELIMITER && defined_end.is_none() {
                break;
            }
            if tag != Tag::ITEM {
                return Err(Error::invalid(format!("expected an Item tag in a sequence, found {tag}"), Some(tag), pos));
            }
            let item_start = pos + 8;
            let scanned = if length == UNDEFINED_LENGTH {
                self.scan_dataset(item_start, end, Level::DelimitedItem, encoding, depth)?
            } else {
                let item_end = item_start
                    .checked_add(length as usize)
                    .filter(|&e| e <= end)
                    .ok_or_else(|| Error::truncated("sequence item", Some(tag), pos, u64::from(length), end - item_start))?;
                self.scan_dataset(item_start, item_end, Level::Item, encoding, depth)?
            };
            pos = scanned.end_offset;
            self.pending_items.push(Item { offset: item_start - 8, length, elements: scanned.range });
        }
        let first = self.index.items.len() as u32;
        self.index.items.extend(self.pending_items.drain(base..));
        Ok((first..self.index.items.len() as u32, pos))
    }

    /// Scan the items of encapsulated pixel data (PS3.5 A.4): an offset table, then fragments,
    /// up to the Sequence Delimitation Item. Only the item headers are read.
    ///
    /// At the top level an offset table lets the scan step from the table to the last frame:
    /// the items of the frames before it sit on pages of their own, one or more a frame, and
    /// reading their headers would touch every page of a large file just to open it. Those
    /// items are walked when a frame among them is decoded (`pixel::FrameTable`).
    fn scan_fragments(&mut self, start: usize, end: usize, encoding: Encoding, top_level: bool) -> Result<(Range<u32>, usize)> {
        let first = self.index.fragments.len() as u32;
        if let Some((table, last_frame)) = top_level.then(|| self.last_frame_item(start, end, encoding)).flatten() {
            self.index.fragments.push(table);
            let warnings = self.warnings.len();
            let walked = self.scan_items(last_frame, end, encoding);
            // Only a clean end vouches for the table: anything amiss may be an entry pointing at
            // bytes that look like an item, and is then judged by walking every item.
            match walked {
                Ok(after) if self.warnings.len() == warnings => return Ok((first..self.index.fragments.len() as u32, after)),
                _ => {
                    self.index.fragments.truncate(first as usize);
                    self.warnings.truncate(warnings);
                }
            }
        }
        let after = self.scan_items(start, end, encoding)?;
        Ok((first..self.index.fragments.len() as u32, after))
    }

    /// The Basic Offset Table item at `start` and where the last frame's first item is, by
    /// the Extended Offset Table or else the Basic Offset Table, when either has two or more
    /// entries and the last points at an item tag.
    fn last_frame_item(&self, start: usize, end: usize, encoding: Encoding) -> Option<(Fragment, usize)> {
        let big_endian = encoding.big_endian;
        if self.tag_at(start, big_endian)? != Tag::ITEM {
            return None;
        }
        let length = self.u32_at(start + 4, big_endian)? as usize;
        let table = Fragment { offset: start + 8, length };
        let first_item = table.offset.checked_add(length).filter(|&e| e <= end)?;
        let last_offset = if length == 0 {
            let extended = self.pending.iter().rev().find(|e| e.tag == Tag::EXTENDED_OFFSET_TABLE)?;
            let bytes = self.data.get(extended.value_range()).filter(|b| b.len() >= 16 && b.len() % 8 == 0)?;
            let last: [u8; 8] = bytes[bytes.len() - 8..].try_into().ok()?;
            let last = if extended.encoding.big_endian { u64::from_be_bytes(last) } else { u64::from_le_bytes(last) };
            usize::try_from(last).ok()?
        } else {
            (length >= 8 && length.is_multiple_of(4)).then_some(())?;
            self.u32_at(first_item - 4, big_endian)? as usize
        };
        let last_frame = first_item.checked_add(last_offset).filter(|&p| p > first_item && p.checked_add(8).is_some_and(|e| e <= end))?;
        (self.tag_at(last_frame, big_endian)? == Tag::ITEM).then_some((table, last_frame))
    }

    /// Index the items from `start` up to the Sequence Delimitation Item (or the end of the
    /// data) and return where that is.
    fn scan_items(&mut self, start: usize, end: usize, encoding: Encoding) -> Result<usize> {
        let mut pos = start;
        loop {
            if pos == end && pos == self.data.len() {
                self.warn("encapsulated pixel data has no Sequence Delimitation Item", Some(Tag::PIXEL_DATA), pos);
                break;
            }
            // Read on its own, not through the map: the items of a long pixel data lie a frame
            // apart, each header on a page nothing else here needs (see `Buffer::read_at`).
            let Some(header) = self.source.read_at::<8>(pos).filter(|_| pos + 8 <= end) else {
                return Err(Error::truncated("pixel data item header", Some(Tag::PIXEL_DATA), pos, 8, end.saturating_sub(pos)));
            };
            let (tag, length) = super::item_header(header, encoding.big_endian);
            if tag == Tag::SEQUENCE_DELIMITER {
                break;
            }
            if tag != Tag::ITEM {
                return Err(Error::invalid(format!("expected an Item tag in encapsulated pixel data, found {tag}"), Some(Tag::PIXEL_DATA), pos));
            }
            let length = length as usize;
            let value = pos + 8;
            let Some(item_end) = value.checked_add(length).filter(|&e| e <= end) else {
                if end == self.data.len() {
                    // Cut off inside a fragment: keep what exists so the header stays readable;
                    // decoding the frame reports the shortfall.
                    self.warn(format!("pixel data fragment is {length} bytes long but only {} remain", end - value), Some(Tag::PIXEL_DATA), pos);
                    self.index.fragments.push(Fragment { offset: value, length: end - value });
                    pos = end;
                    break;
                }
                return Err(Error::truncated("pixel data fragment", Some(Tag::PIXEL_DATA), pos, length as u64, end - value));
            };
            self.index.fragments.push(Fragment { offset: value, length });
            pos = item_end;
        }
        Ok(pos)
    }
}
