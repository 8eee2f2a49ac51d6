//! Scan arbitrary bytes as a DICOM file, then decode every value the way the bindings would:
//! an error is fine, a panic or a hang is a bug.
#![no_main]

use dicodec_core::charset::CharacterSet;
use dicodec_core::parse::{Buffer, DicomFile, LazyFile, ParseOptions};
use dicodec_core::tag::Tag;
use dicodec_core::value;
use dicodec_core::vr::Vr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A header read, its sequences' items read when asked for: they must lie inside the stream.
    if let Ok(header) = LazyFile::parse(Buffer::Owned(data.to_vec()), &ParseOptions { stop_before_pixels: true, ..ParseOptions::default() }) {
        let root = header.current().index.root.clone();
        for index in root {
            if let Ok(Some((file, element))) = header.element(index) {
                assert!(element.value_range().end <= file.bytes().len());
            }
        }
    }
    for force in [false, true] {
        let options = ParseOptions { force, ..ParseOptions::default() };
        let Ok(file) = DicomFile::parse(Buffer::Owned(data.to_vec()), &options) else { continue };
        let charset = file
            .index
            .find(&file.index.root, Tag::new(0x0008, 0x0005))
            .map(|i| CharacterSet::from_value(file.value_bytes(&file.index.elements[i as usize])))
            .unwrap_or_default();
        for element in &file.index.elements {
            // Every indexed value must lie inside the stream.
            assert!(element.value_range().end <= file.bytes().len());
            let bytes = file.value_bytes(element);
            let big_endian = element.encoding.big_endian;
            if element.vr.is_text() {
                for text in value::strings(bytes, element.vr, &charset) {
                    match element.vr {
                        Vr::DS | Vr::IS => {
                            let _ = value::parse_numeric_string(&text, element.vr);
                        }
                        Vr::PN => {
                            let _ = value::person_name_groups(&text);
                        }
                        _ => {}
                    }
                }
            } else if element.vr == Vr::AT {
                let _ = value::tags(bytes, big_endian);
            } else if element.vr == Vr::FD {
                let _ = value::binary_values::<f64>(bytes, big_endian);
            }
        }
    }
});
