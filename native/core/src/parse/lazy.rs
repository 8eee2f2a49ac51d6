//! A file opened header first. Reading the few kilobytes before the pixel data costs a
//! fraction of mapping the file; most opens never need more (metadata tables, one tag). The
//! rest is mapped and scanned the first time something asks about the pixel data or what
//! follows it.
//!
//! A read of the header alone goes further: it steps over the top-level sequences of defined
//! length (a third of a CT header's scan) and reads their items the first time one is asked for.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{scan, Buffer, Children, DicomFile, Element, ParseOptions, SkipSequences};
use crate::error::{Error, Result};
use crate::tag::Tag;

/// The first top-level tag a header read leaves out: Float Pixel Data (7FE0,0008).
const FIRST_PIXEL_TAG: Tag = Tag::new(0x7FE0, 0x0008);

/// A DICOM file whose header is indexed and whose remainder is indexed on first need.
///
/// Positions into the index stay valid when the remainder is read: the whole file's index
/// keeps the header's elements where they were (see [`LazyFile::resolve`] for the top-level
/// data set).
pub struct LazyFile {
    /// The file up to its first top-level pixel data (or all of it: see `rest`).
    header: DicomFile,
    /// How to read the whole file; `None` when `header` is all there is to read.
    rest: Option<Rest>,
    whole: OnceLock<Result<Whole>>,
}

/// The file read as far as it goes.
struct Whole {
    file: DicomFile,
    /// Top-level sequences whose items are damaged, by position in the top-level data set,
    /// with the error reading them met.
    unreadable: Vec<(u32, Error)>,
}

/// What the header leaves to read.
enum Rest {
    /// The file past the header, memory-mapped.
    File { path: PathBuf, options: ParseOptions },
    /// The items of the top-level sequences, in the header's own bytes.
    Sequences { options: ParseOptions },
}

impl LazyFile {
    /// Open `path`. With `mmap`, its header now and the rest memory-mapped on first need;
    /// without, all of it read now, so that later changes to the file cannot reach what was
    /// read. With `stop_before_pixels` or `stop_at` in `options` the header is all there will
    /// ever be.
    pub fn open(path: &Path, options: &ParseOptions, mmap: bool) -> Result<Self> {
        if options.stop_before_pixels || options.stop_at.is_some() {
            return Self::sequences_on_demand(options, |header_options| DicomFile::read_header(path, header_options));
        }
        if !mmap {
            return Self::open_whole(path, options, false);
        }
        let header_options = ParseOptions { stop_before_pixels: true, ..options.clone() };
        let header = DicomFile::read_header(path, &header_options)?;
        if header.deflated {
            // Offsets point into the inflated stream: a header-first read gains nothing.
            return Self::open_whole(path, options, true);
        }
        if !header.stopped_early {
            // No pixel data: the header read was the whole file.
            return Ok(Self::from(header));
        }
        let rest = Rest::File { path: path.to_owned(), options: options.clone() };
        Ok(LazyFile { header, rest: Some(rest), whole: OnceLock::new() })
    }

    /// Scan bytes in memory; with `stop_before_pixels` or `stop_at`, stepping over the items
    /// of top-level sequences until one is asked for, as [`LazyFile::open`] does.
    pub fn parse(data: Buffer, options: &ParseOptions) -> Result<Self> {
        if options.stop_before_pixels || options.stop_at.is_some() {
            return Self::sequences_on_demand(options, |header_options| DicomFile::parse(data, header_options));
        }
        Ok(Self::from(DicomFile::parse(data, options)?))
    }

    /// A header scanned by `scan` without the items of its top-level sequences of defined
    /// length, which are read when first asked for, unless `options` skips sequences itself
    /// or reads past the pixel data (reading the items then copies the bytes scanned, and
    /// those of the pixel data are not worth copying for them).
    fn sequences_on_demand(options: &ParseOptions, scan: impl FnOnce(&ParseOptions) -> Result<DicomFile>) -> Result<Self> {
        let before_pixels = options.stop_before_pixels || options.stop_at.is_some_and(|tag| tag <= FIRST_PIXEL_TAG);
        if options.skip_sequences != SkipSequences::None || !before_pixels {
            return Ok(Self::from(scan(options)?));
        }
        let header = scan(&ParseOptions { skip_sequences: SkipSequences::TopLevel, ..options.clone() })?;
        let root = header.index.dataset(&header.index.root);
        let rest = root.iter().any(|e| e.children == Children::Unread).then(|| Rest::Sequences { options: options.clone() });
        Ok(LazyFile { header, rest, whole: OnceLock::new() })
    }

    /// Open `path` and index all of it now, memory-mapped when `mmap` is true (else read):
    /// for callers that came for the pixel data.
    pub fn open_whole(path: &Path, options: &ParseOptions, mmap: bool) -> Result<Self> {
        let whole = if mmap { DicomFile::open(path, options) } else { DicomFile::read(path, options) };
        Ok(Self::from(whole?))
    }

    /// The file as far as it has been read: the header, or the whole file once it was needed.
    #[must_use]
    pub fn current(&self) -> &DicomFile {
        match self.whole.get() {
            Some(Ok(whole)) => &whole.file,
            _ => &self.header,
        }
    }

    /// The whole file, read now unless it was before.
    ///
    /// # Errors
    /// The error reading the rest of the file met (kept: asking again gives it again).
    pub fn whole(&self) -> Result<&DicomFile, &Error> {
        match &self.rest {
            None => Ok(&self.header),
            Some(rest) => self.read_rest(rest).map(|whole| &whole.file),
        }
    }

    fn read_rest(&self, rest: &Rest) -> Result<&Whole, &Error> {
        self.whole
            .get_or_init(|| match rest {
                Rest::File { path, options } => {
                    let file = scan::resume(&self.header, Buffer::map(path)?, options)?;
                    Ok(Whole { file, unreadable: Vec::new() })
                }
                Rest::Sequences { options } => {
                    let (file, unreadable) = scan::read_sequences(&self.header, options);
                    Ok(Whole { file, unreadable })
                }
            })
            .as_ref()
    }

    /// The element at `index` of the file as read so far, and that file; for a top-level
    /// sequence the header read stepped over, its counterpart in the whole file, its items read.
    /// `None` when there is no such element.
    ///
    /// # Errors
    /// The error reading the sequence's items met, when they are damaged (other sequences
    /// still read).
    pub fn element(&self, index: u32) -> Result<Option<(&DicomFile, &Element)>, &Error> {
        let current = self.current();
        let Some(element) = current.index.elements.get(index as usize) else { return Ok(None) };
        let root = &self.header.index.root;
        let Some(rest @ Rest::Sequences { .. }) = &self.rest else { return Ok(Some((current, element))) };
        if element.children != Children::Unread || !root.contains(&index) {
            return Ok(Some((current, element)));
        }
        let whole = self.read_rest(rest)?;
        // The whole file's top-level data set holds the header's elements in the same order.
        let position = index - root.start;
        if let Some((_, error)) = whole.unreadable.iter().find(|(unreadable, _)| *unreadable == position) {
            return Err(error);
        }
        let file = &whole.file;
        let counterpart = file.index.elements.get((file.index.root.start + position) as usize);
        Ok(counterpart.map(|element| (file, element)))
    }

    /// The file and the element range to answer a question about the data set `range` from:
    /// about the element `tag`, or with `None` about all of its elements. Questions about the
    /// header's top-level data set that may concern the pixel data or what follows it read
    /// the whole file first, and are answered from its complete top-level data set.
    ///
    /// # Errors
    /// As [`LazyFile::whole`].
    pub fn resolve(&self, range: Range<u32>, tag: Option<Tag>) -> Result<(&DicomFile, Range<u32>), &Error> {
        let Some(rest) = self.rest.as_ref().filter(|_| range == self.header.index.root) else {
            return Ok((self.current(), range));
        };
        if let Some(Ok(Whole { file, .. })) = self.whole.get() {
            return Ok((file, file.index.root.clone()));
        }
        // Sequences not yet read change nothing in the top-level data set but its items.
        let header_answers = match rest {
            Rest::File { .. } => tag.is_some_and(|tag| tag < FIRST_PIXEL_TAG),
            Rest::Sequences { .. } => true,
        };
        if header_answers {
            return Ok((&self.header, range));
        }
        let whole = self.whole()?;
        Ok((whole, whole.index.root.clone()))
    }

    /// Whether values beyond the header are (or will be) viewed through a memory map.
    #[must_use]
    pub fn is_mapped(&self) -> bool {
        matches!(self.rest, Some(Rest::File { .. })) || self.header.buffer().is_mapped()
    }
}

impl From<DicomFile> for LazyFile {
    /// A file already read as far as it will be.
    fn from(file: DicomFile) -> Self {
        LazyFile { header: file, rest: None, whole: OnceLock::new() }
    }
}
