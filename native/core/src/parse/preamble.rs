//! Where the DICOM stream starts, and what it is encoded in when nothing says.

use super::syntax::{self, Encoding};
use crate::error::{Error, Result};
use crate::vr::Vr;

/// Where scanning begins.
pub(super) struct Start {
    pub offset: usize,
    pub has_preamble: bool,
}

const PREAMBLE_LEN: usize = 128;
const MAGIC: &[u8; 4] = b"DICM";

/// Find the start of the file meta (or of a raw data set when `force` is set).
///
/// Accepted without `force`: the 128-byte preamble and `DICM` (PS3.10 7.1), `DICM` alone, or a
/// stream that starts straight with a well-formed file meta element (0002,xxxx) in explicit VR LE,
/// which cannot be mistaken for anything else. A bare data set needs `force`, as in pydicom.
pub(super) fn find_start(data: &[u8], force: bool) -> Result<Start> {
    if data.get(PREAMBLE_LEN..PREAMBLE_LEN + 4) == Some(MAGIC) {
        return Ok(Start { offset: PREAMBLE_LEN + 4, has_preamble: true });
    }
    if data.get(..4) == Some(MAGIC) {
        return Ok(Start { offset: 4, has_preamble: false });
    }
    if starts_with_file_meta(data) || force {
        return Ok(Start { offset: 0, has_preamble: false });
    }
    Err(Error::invalid(
        "not a DICOM file: no 'DICM' prefix after a 128-byte preamble and no file meta \
         (pass force=True to read a data set without them)",
        None,
        PREAMBLE_LEN,
    ))
}

fn starts_with_file_meta(data: &[u8]) -> bool {
    match data.get(..6) {
        Some(&[0x02, 0x00, _, _, a, b]) => Vr::from_bytes([a, b]).is_some(),
        _ => false,
    }
}

/// Guess how a data set with no Transfer Syntax UID is encoded from its first element, the way
/// pydicom's `force=True` does: a valid VR after the tag means explicit VR, and the byte order
/// that gives the smaller group number wins (real data sets start in low groups).
pub(super) fn guess_encoding(first: &[u8]) -> (Encoding, &'static str) {
    let Some(&[g0, g1, _, _, v0, v1]) = first.get(..6) else {
        return (Encoding::IMPLICIT_LE, syntax::IMPLICIT_VR_LITTLE_ENDIAN);
    };
    let explicit = Vr::from_bytes([v0, v1]).is_some();
    let big_endian = u16::from_be_bytes([g0, g1]) < u16::from_le_bytes([g0, g1]);
    match (explicit, big_endian) {
        (true, true) => (Encoding::EXPLICIT_BE, syntax::EXPLICIT_VR_BIG_ENDIAN),
        (true, false) => (Encoding::EXPLICIT_LE, syntax::EXPLICIT_VR_LITTLE_ENDIAN),
        // There is no implicit VR big endian syntax.
        (false, _) => (Encoding::IMPLICIT_LE, syntax::IMPLICIT_VR_LITTLE_ENDIAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preamble_and_magic() {
        let mut data = vec![0u8; 132];
        data[128..].copy_from_slice(b"DICM");
        let start = find_start(&data, false).unwrap();
        assert_eq!((start.offset, start.has_preamble), (132, true));
    }

    #[test]
    fn bare_meta_is_accepted_but_a_bare_data_set_needs_force() {
        assert_eq!(find_start(b"\x02\x00\x00\x00UL\x04\x00", false).unwrap().offset, 0);
        assert!(find_start(b"\x08\x00\x05\x00CS\x0a\x00", false).is_err());
        assert_eq!(find_start(b"\x08\x00\x05\x00CS\x0a\x00", true).unwrap().offset, 0);
        assert!(find_start(b"", false).is_err());
    }

    #[test]
    fn guesses_like_force_true() {
        assert_eq!(guess_encoding(b"\x08\x00\x05\x00CS\x0a\x00").0, Encoding::EXPLICIT_LE);
        assert_eq!(guess_encoding(b"\x00\x08\x00\x05CS\x00\x0a").0, Encoding::EXPLICIT_BE);
        assert_eq!(guess_encoding(b"\x08\x00\x05\x00\x0a\x00\x00\x00").0, Encoding::IMPLICIT_LE);
    }
}
