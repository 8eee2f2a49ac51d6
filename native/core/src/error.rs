//! The crate's one error type. Every variant says where in the byte stream it happened
//! and, when known, which element it concerns.
//!
//! Users may branch on [`ErrorKind`]; the display text is for people, not an API.

use crate::tag::Tag;
use std::fmt;

/// What went wrong, in the categories the Python layer maps to exception classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The bytes are not DICOM, or break a rule of the standard in a way we cannot repair.
    Invalid,
    /// The data ends before a length read from it says it should.
    Truncated,
    /// Valid DICOM that this library does not handle (yet).
    Unsupported,
    /// A limit set to protect the process (nesting depth, allocation size) was reached.
    Limit,
    /// The operating system refused to open or map the file.
    Io,
}

/// An error with its location: the byte offset in the (decoded) stream and the tag, if known.
#[derive(Debug, thiserror::Error)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub tag: Option<Tag>,
    pub offset: Option<u64>,
    #[source]
    pub source: Option<std::io::Error>,
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    #[cold]
    #[inline(never)]
    fn new(kind: ErrorKind, message: impl Into<String>, tag: Option<Tag>, offset: usize) -> Self {
        Error { kind, message: message.into(), tag, offset: Some(offset as u64), source: None }
    }

    /// The bytes break the standard beyond repair.
    #[cold]
    pub fn invalid(message: impl Into<String>, tag: Option<Tag>, offset: usize) -> Self {
        Self::new(ErrorKind::Invalid, message, tag, offset)
    }

    /// `needed` bytes were required at `offset` but only `available` exist.
    #[cold]
    #[must_use] 
    pub fn truncated(what: &str, tag: Option<Tag>, offset: usize, needed: u64, available: usize) -> Self {
        Self::new(
            ErrorKind::Truncated,
            format!("{what} needs {needed} bytes but only {available} remain"),
            tag,
            offset,
        )
    }

    /// A valid feature we do not implement.
    #[cold]
    pub fn unsupported(message: impl Into<String>, tag: Option<Tag>, offset: usize) -> Self {
        Self::new(ErrorKind::Unsupported, message, tag, offset)
    }

    /// A protective limit was reached.
    #[cold]
    pub fn limit(message: impl Into<String>, tag: Option<Tag>, offset: usize) -> Self {
        Self::new(ErrorKind::Limit, message, tag, offset)
    }

    /// The file could not be opened or mapped.
    #[cold]
    pub fn io(message: impl Into<String>, source: std::io::Error) -> Self {
        Error { kind: ErrorKind::Io, message: message.into(), tag: None, offset: None, source: Some(source) }
    }

    /// `path` could not be opened or read.
    #[cold]
    #[must_use]
    pub fn cannot_read(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::io(format!("cannot read {}", path.display()), source)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(tag) = self.tag {
            write!(f, "{tag}")?;
            if let Some(name) = crate::dictionary::name_of(tag.0) {
                write!(f, " '{name}'")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)?;
        if let Some(offset) = self.offset {
            write!(f, " at offset {offset}")?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}
