//! A file opened header first. Reading the few kilobytes before the pixel data costs a
//! fraction of mapping the file; most opens never need more (metadata tables, one tag). The
//! rest is mapped and scanned the first time something asks about the pixel data or what
//! follows it.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{scan, Buffer, DicomFile, ParseOptions};
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
    whole: OnceLock<Result<DicomFile>>,
}

struct Rest {
    path: PathBuf,
    options: ParseOptions,
}

impl LazyFile {
    /// Open `path`. With `mmap`, its header now and the rest memory-mapped on first need;
    /// without, all of it read now, so that later changes to the file cannot reach what was
    /// read. With `stop_before_pixels` or `stop_at` in `options` the header is all there will
    /// ever be.
    pub fn open(path: &Path, options: &ParseOptions, mmap: bool) -> Result<Self> {
        if options.stop_before_pixels || options.stop_at.is_some() {
            return Ok(Self::from(DicomFile::read_header(path, options)?));
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
        Ok(LazyFile { header, rest: Some(Rest { path: path.to_owned(), options: options.clone() }), whole: OnceLock::new() })
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
            Some(Ok(whole)) => whole,
            _ => &self.header,
        }
    }

    /// The whole file, read now unless it was before.
    ///
    /// # Errors
    /// The error reading the rest of the file met (kept: asking again gives it again).
    pub fn whole(&self) -> Result<&DicomFile, &Error> {
        let Some(rest) = &self.rest else { return Ok(&self.header) };
        self.whole
            .get_or_init(|| {
                scan::resume(&self.header, Buffer::map(&rest.path)?, &rest.options)
            })
            .as_ref()
    }

    /// The file and the element range to answer a question about the data set `range` from:
    /// about the element `tag`, or with `None` about all of its elements. Questions about the
    /// header's top-level data set that may concern the pixel data or what follows it read
    /// the whole file first, and are answered from its complete top-level data set.
    ///
    /// # Errors
    /// As [`LazyFile::whole`].
    pub fn resolve(&self, range: Range<u32>, tag: Option<Tag>) -> Result<(&DicomFile, Range<u32>), &Error> {
        if self.rest.is_none() || range != self.header.index.root {
            return Ok((self.current(), range));
        }
        if self.whole.get().is_none() && tag.is_some_and(|tag| tag < FIRST_PIXEL_TAG) {
            return Ok((&self.header, range));
        }
        let whole = self.whole()?;
        Ok((whole, whole.index.root.clone()))
    }

    /// Whether values beyond the header are (or will be) viewed through a memory map.
    #[must_use]
    pub fn is_mapped(&self) -> bool {
        self.rest.is_some() || self.header.buffer().is_mapped()
    }
}

impl From<DicomFile> for LazyFile {
    /// A file already read as far as it will be.
    fn from(file: DicomFile) -> Self {
        LazyFile { header: file, rest: None, whole: OnceLock::new() }
    }
}
