//! Parsing a DICOM stream into an [`Index`]: where every element is, never what it holds.
//!
//! [`DicomFile`] owns the bytes (a memory map, a read buffer, or an inflated deflated data set)
//! and the index over them. Offsets in the index are positions in [`DicomFile::bytes`]; for a
//! deflated file that is the file meta followed by the inflated data set.

mod preamble;
mod scan;
mod source;
mod lazy;
pub mod syntax;
#[cfg(test)]
mod tests;

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};
use crate::tag::Tag;
use crate::vr::Vr;
pub use lazy::LazyFile;
pub use source::Buffer;
pub use syntax::Encoding;

/// The length value that means "undefined: look for a delimiter".
pub const UNDEFINED_LENGTH: u32 = u32::MAX;

/// How far to read and how much to tolerate.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Stop at the first top-level Pixel Data, Float Pixel Data or Double Float Pixel Data.
    pub stop_before_pixels: bool,
    /// Stop before the first top-level element whose tag is this or greater.
    pub stop_at: Option<Tag>,
    /// Read data without a preamble and file meta, guessing its encoding.
    pub force: bool,
    /// Sequences nested deeper than this are an error (the scanner recurses once per level).
    pub max_depth: u32,
    /// A deflated data set may not inflate to more than this many bytes.
    pub max_inflated_bytes: usize,
    /// Which sequences of defined length to step over without reading their items.
    pub skip_sequences: SkipSequences,
}

/// Which sequences of defined length a scan steps over, their items unread (they become
/// [`Children::Unread`]). Sequences of undefined length are always read: only walking their
/// items finds where they end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SkipSequences {
    /// None: every item is indexed.
    #[default]
    None,
    /// Those of the top-level data set, whose items a [`LazyFile`] reads when one is asked for.
    TopLevel,
    /// All of them: for callers that need only the top-level data set, such as the pixel
    /// paths, which then do not index the thousands of per-frame items of an enhanced
    /// multi-frame file on every open.
    All,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            stop_before_pixels: false,
            stop_at: None,
            force: false,
            max_depth: 64,
            max_inflated_bytes: 4 << 30,
            skip_sequences: SkipSequences::None,
        }
    }
}

/// The 16-bit number at `offset` in `data`, if the bytes are there.
pub(crate) fn u16_at(data: &[u8], offset: usize, big_endian: bool) -> Option<u16> {
    let bytes: [u8; 2] = data.get(offset..offset.checked_add(2)?)?.try_into().ok()?;
    Some(if big_endian { u16::from_be_bytes(bytes) } else { u16::from_le_bytes(bytes) })
}

/// The 32-bit number at `offset` in `data`, if the bytes are there.
pub(crate) fn u32_at(data: &[u8], offset: usize, big_endian: bool) -> Option<u32> {
    let bytes: [u8; 4] = data.get(offset..offset.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian { u32::from_be_bytes(bytes) } else { u32::from_le_bytes(bytes) })
}

/// The tag at `offset` in `data`, if the bytes are there.
pub(crate) fn tag_at(data: &[u8], offset: usize, big_endian: bool) -> Option<Tag> {
    Some(Tag::new(u16_at(data, offset, big_endian)?, u16_at(data, offset + 2, big_endian)?))
}

/// The tag and the length of an item header (8 bytes, PS3.5 7.5).
pub(crate) fn item_header(bytes: [u8; 8], big_endian: bool) -> (Tag, u32) {
    let [g0, g1, e0, e1, l0, l1, l2, l3] = bytes;
    if big_endian {
        (Tag::new(u16::from_be_bytes([g0, g1]), u16::from_be_bytes([e0, e1])), u32::from_be_bytes([l0, l1, l2, l3]))
    } else {
        (Tag::new(u16::from_le_bytes([g0, g1]), u16::from_le_bytes([e0, e1])), u32::from_le_bytes([l0, l1, l2, l3]))
    }
}

/// What an element contains besides its own bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Children {
    /// A plain value.
    None,
    /// A sequence: its items, as a range of [`Index::items`].
    Items(Range<u32>),
    /// Encapsulated pixel data: the items the scan read, a range of [`Index::fragments`]. The
    /// offset table comes first, then every fragment — or, where an offset table let the scan
    /// step over the frames before the last, the last frame's fragments only
    /// (`pixel::encapsulated_items` lists them all).
    Fragments(Range<u32>),
    /// A sequence of defined length stepped over by a scan with
    /// [`ParseOptions::skip_sequences`]: its items were not read.
    Unread,
}

/// One data element as found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub tag: Tag,
    /// The VR written in the file, or for implicit VR the dictionary's (resolved) VR;
    /// UN is replaced by the dictionary VR of a public tag, as pydicom does.
    pub vr: Vr,
    /// The encoding its value is in (UN sequences switch to implicit VR little endian).
    pub encoding: Encoding,
    /// Where its header starts.
    pub header_offset: usize,
    /// Where its value starts.
    pub value_offset: usize,
    /// The length field as written (may be [`UNDEFINED_LENGTH`]).
    pub length: u32,
    /// Bytes of value that exist: the length, or for undefined lengths the bytes up to the
    /// delimiter; less than the length when the stream was truncated (pixel data only).
    pub value_len: usize,
    pub children: Children,
    /// The VR came from a "US or SS" dictionary entry (implicit VR, or UN): it is settled by the
    /// Pixel Representation of the nearest data set, this one or an ancestor, that has one.
    pub us_or_ss: bool,
}

impl Element {
    /// The byte range of the value in the stream.
    #[must_use]
    pub fn value_range(&self) -> Range<usize> {
        self.value_offset..self.value_offset + self.value_len
    }

    /// Whether the length field was undefined.
    #[must_use]
    pub fn has_undefined_length(&self) -> bool {
        self.length == UNDEFINED_LENGTH
    }
}

/// One item of a sequence: a nested data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Where the item tag starts.
    pub offset: usize,
    /// The item length as written (may be [`UNDEFINED_LENGTH`]).
    pub length: u32,
    /// Its elements, a range of [`Index::elements`].
    pub elements: Range<u32>,
}

/// One item of encapsulated pixel data: the Basic Offset Table or a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    pub offset: usize,
    pub length: usize,
}

/// Where everything is. Data sets are contiguous ranges of `elements` in tag order as read.
#[derive(Debug, Default, Clone)]
pub struct Index {
    pub elements: Vec<Element>,
    pub items: Vec<Item>,
    pub fragments: Vec<Fragment>,
    /// The file meta group (empty when the stream had none).
    pub meta: Range<u32>,
    /// The top-level data set.
    pub root: Range<u32>,
}

impl Index {
    /// The elements of a data set.
    #[must_use]
    pub fn dataset(&self, range: &Range<u32>) -> &[Element] {
        &self.elements[range.start as usize..range.end as usize]
    }

    /// Find a tag in a data set (binary search; data sets are kept in tag order).
    #[must_use]
    pub fn find(&self, range: &Range<u32>, tag: Tag) -> Option<u32> {
        let elements = self.dataset(range);
        elements.binary_search_by_key(&tag, |e| e.tag).ok().map(|i| range.start + i as u32)
    }
}

/// Something the scanner tolerated and repaired, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub message: String,
    pub tag: Option<Tag>,
    pub offset: usize,
}

/// The unit of header reads: one page.
const HEADER_READ_STEP: usize = 4096;
/// Spare bytes a header buffer may keep rather than be copied into a smaller one.
const SHRINK_ABOVE: usize = 16 * 1024;
/// The largest first read [`DicomFile::read_header`] learns to make.
const MAX_HEADER_READ_HINT: usize = 256 * 1024;
/// How many bytes the last header read needed, rounded up to a page: the size of the next
/// first read.
static HEADER_READ_HINT: AtomicUsize = AtomicUsize::new(4 * HEADER_READ_STEP);

/// Up to `limit` bytes from the file's current position: fewer only at its end. One `read`
/// call when the file has them (`read_to_end` would split a first read above 8 KiB in two),
/// and one more to see the end of a shorter file.
///
/// On Unix the bytes are read into the vector's spare capacity, not into zeros written first
/// only to be overwritten (a memset of the whole header per file).
fn read_up_to(file: &mut std::fs::File, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(limit);
    while bytes.len() < limit {
        match read_into_spare(file, &mut bytes) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(bytes)
}

/// One `read` of the file into `bytes`' spare capacity, which it then holds: the bytes read.
#[cfg(unix)]
fn read_into_spare(file: &std::fs::File, bytes: &mut Vec<u8>) -> std::io::Result<usize> {
    Ok(rustix::io::read(file, rustix::buffer::spare_capacity(bytes))?)
}

#[cfg(not(unix))]
fn read_into_spare(mut file: &std::fs::File, bytes: &mut Vec<u8>) -> std::io::Result<usize> {
    use std::io::Read;
    let filled = bytes.len();
    bytes.resize(bytes.capacity(), 0);
    let read = file.read(&mut bytes[filled..]);
    bytes.truncate(filled + *read.as_ref().unwrap_or(&0));
    read
}

/// A scanned DICOM stream: its bytes and the index over them.
pub struct DicomFile {
    data: Buffer,
    pub index: Index,
    /// The Transfer Syntax UID from the file meta, or the guessed one when there was none.
    pub transfer_syntax: String,
    /// The encoding of the top-level data set.
    pub encoding: Encoding,
    /// Whether the file started with a 128-byte preamble and `DICM`.
    pub has_preamble: bool,
    /// Whether the data set was deflated (offsets then point into the inflated stream).
    pub deflated: bool,
    /// Whether scanning stopped early (at pixel data or at a requested tag).
    pub stopped_early: bool,
    /// Bytes of the stream the scan covered: all of it, or up to the element it stopped at.
    pub scanned_len: usize,
    pub warnings: Vec<Warning>,
}

impl std::fmt::Debug for DicomFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DicomFile")
            .field("len", &self.data.len())
            .field("transfer_syntax", &self.transfer_syntax)
            .field("elements", &self.index.elements.len())
            .finish_non_exhaustive()
    }
}

impl DicomFile {
    /// Map `path` read-only and scan it.
    ///
    /// The map shows the file as it is on disk: a file that shrinks while mapped makes
    /// reads past its new end fault (SIGBUS). Use [`DicomFile::read`] for files others may change.
    pub fn open(path: &Path, options: &ParseOptions) -> Result<Self> {
        Self::parse(Buffer::map(path)?, options)
    }

    /// Read `path` into memory and scan it.
    pub fn read(path: &Path, options: &ParseOptions) -> Result<Self> {
        Self::parse(Buffer::read(path)?, options)
    }

    /// Read only as much of `path` as the scan needs, which `options` must bound
    /// (`stop_before_pixels` or `stop_at`): as many bytes as the last header read needed (a
    /// series' files have headers of much the same size), then eight times more from the start
    /// until the scanner stops or the file ends.
    ///
    /// With `read`, not a map: cheap for headers, and immune to the file shrinking meanwhile.
    pub fn read_header(path: &Path, options: &ParseOptions) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::cannot_read(path, e))?;
        Self::read_header_of(file, path, options)
    }

    /// [`DicomFile::read_header`] of a file already open; `path` names it in errors.
    pub fn read_header_of(mut file: std::fs::File, path: &Path, options: &ParseOptions) -> Result<Self> {
        use std::io::Seek;
        let mut want = HEADER_READ_HINT.load(Ordering::Relaxed);
        loop {
            // No stat first: a read that comes back short has met the end of the file.
            let bytes = read_up_to(&mut file, want).map_err(|e| Error::cannot_read(path, e))?;
            let at_end = bytes.len() < want;
            match Self::parse(Buffer::Owned(bytes), options) {
                Ok(mut scanned) if at_end || scanned.stopped_early => {
                    // The scan had to read the header of the element it stopped at, up to 12 bytes.
                    let needed = (scanned.scanned_len + 12).next_multiple_of(HEADER_READ_STEP);
                    HEADER_READ_HINT.store(needed.clamp(HEADER_READ_STEP, MAX_HEADER_READ_HINT), Ordering::Relaxed);
                    // Keep the header, not the pixel bytes the read brought along (giving back
                    // the memory only when that is worth a copy).
                    if let Buffer::Owned(bytes) = &mut scanned.data {
                        bytes.truncate(scanned.scanned_len);
                        if bytes.capacity() - bytes.len() > SHRINK_ABOVE {
                            bytes.shrink_to_fit();
                        }
                    }
                    return Ok(scanned);
                }
                Err(error) if at_end || error.kind != crate::error::ErrorKind::Truncated => return Err(error),
                // A header cut by our own read, not by the file: read more. The first bytes
                // are simply read again.
                _ => {
                    want = want.saturating_mul(8);
                    file.rewind().map_err(|e| Error::cannot_read(path, e))?;
                }
            }
        }
    }

    /// Scan bytes already in memory.
    pub fn parse(data: Buffer, options: &ParseOptions) -> Result<Self> {
        scan::scan(data, options)
    }

    /// The stream the index points into.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// The buffer itself (to tell a memory map from an owned buffer).
    #[must_use]
    pub fn buffer(&self) -> &Buffer {
        &self.data
    }

    /// The bytes of an element's value.
    #[must_use]
    pub fn value_bytes(&self, element: &Element) -> &[u8] {
        // The scanner only records ranges inside the buffer; `get` keeps that a checked fact.
        self.data.get(element.value_range()).unwrap_or_default()
    }

    /// The bytes of a fragment of encapsulated pixel data.
    #[must_use]
    pub fn fragment_bytes(&self, fragment: Fragment) -> &[u8] {
        self.data.get(fragment.offset..fragment.offset + fragment.length).unwrap_or_default()
    }
}
