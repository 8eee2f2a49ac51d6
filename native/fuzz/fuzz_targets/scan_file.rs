//! Scan arbitrary bytes as a DICOM file: an error is fine, a panic or a hang is a bug.
#![no_main]

use dicodec_core::parse::{Buffer, DicomFile, ParseOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for force in [false, true] {
        let options = ParseOptions { force, ..ParseOptions::default() };
        if let Ok(file) = DicomFile::parse(Buffer::Owned(data.to_vec()), &options) {
            // Every indexed value must lie inside the stream.
            for element in &file.index.elements {
                assert!(element.value_range().end <= file.bytes().len());
            }
        }
    }
});
