//! The bytes a [`DicomFile`](super::DicomFile) indexes: a memory map, an owned buffer,
//! or a buffer lent by someone else (a Python `bytes` object, say).

use std::ops::Deref;

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
    /// Whether the bytes are a view of a file mapped into memory.
    #[must_use]
    pub fn is_mapped(&self) -> bool {
        matches!(self, Buffer::Mapped(_))
    }
}
