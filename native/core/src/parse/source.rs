//! The bytes a [`DicomFile`](super::DicomFile) indexes: a memory map, an owned buffer,
//! or a buffer lent by someone else (a Python `bytes` object, say).

use std::ops::Deref;
use std::path::Path;

use crate::error::{Error, Result};

/// Bytes that stay put for as long as the index that points into them lives.
pub enum Buffer {
    /// A read-only memory map of a file. Pages are touched only when a value is read.
    Mapped(memmap2::Mmap),
    /// Bytes read or inflated into memory.
    Owned(Vec<u8>),
    /// Bytes owned elsewhere, kept alive by the box.
    Lent(Box<dyn AsRef<[u8]> + Send + Sync>),
}

impl Deref for Buffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Buffer::Mapped(map) => map,
            Buffer::Owned(bytes) => bytes,
            Buffer::Lent(bytes) => (**bytes).as_ref(),
        }
    }
}

impl Buffer {
    /// Map `path` read-only. The map shows the file as it is on disk: a file that shrinks
    /// while mapped makes reads past its new end fault (SIGBUS); [`Buffer::read`] is immune.
    pub fn map(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        let len = file.metadata().map_err(|e| Error::io(format!("cannot stat {}", path.display()), e))?.len();
        if len == 0 {
            // An empty file cannot be mapped on every platform; it is not DICOM anyway.
            return Ok(Buffer::Owned(Vec::new()));
        }
        // SAFETY: the map is read-only and private to this buffer; its bytes are only ever read
        // through bounds-checked slices. The one hazard, truncation of the file by another
        // process, is documented above and avoided by `read`.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(format!("cannot map {}", path.display()), e))?;
        Ok(Buffer::Mapped(map))
    }

    /// Read `path` into memory.
    pub fn read(path: &Path) -> Result<Self> {
        std::fs::read(path).map(Buffer::Owned).map_err(|e| Error::cannot_read(path, e))
    }

    /// Whether the bytes are a view of a file mapped into memory.
    #[must_use]
    pub fn is_mapped(&self) -> bool {
        matches!(self, Buffer::Mapped(_))
    }
}
