//! dicodec-core: a zero-copy DICOM Part 10 scanner and the pixel codecs of dicodec.
//!
//! The crate has no Python in it. It borrows the bytes of a file (usually a memory map),
//! builds an index of elements — tag, VR, offsets, lengths, nesting — and decodes values
//! only when asked. Every length read from a file is treated as hostile: it is checked
//! against the bytes that exist before anything is sliced or allocated.

pub mod bulk;
pub mod charset;
pub mod codec;
pub mod dictionary;
pub mod error;
pub mod parse;
pub mod pixel;
pub mod tag;
pub mod value;
pub mod vr;

pub use error::{Error, ErrorKind, Result};
pub use parse::{DicomFile, Element, Index, Item, ParseOptions};
pub use tag::Tag;
pub use vr::Vr;
