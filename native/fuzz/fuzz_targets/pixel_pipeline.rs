//! The whole pixel pipeline on arbitrary bytes: scan, describe, split frames, decode.
//! An error is fine; a panic, a hang, or a decoded length other than the frames' is a bug.
#![no_main]

use dicodec_core::parse::{Buffer, DicomFile, ParseOptions, SkipSequences};
use dicodec_core::pixel::{decode_frames, DecodeOptions, PixelInfo};
use libfuzzer_sys::fuzz_target;

/// Keep allocations small: the limit is what a header may claim before we allocate.
const MAX_PIXEL_BYTES: usize = 16 << 20;

fuzz_target!(|data: &[u8]| {
    // As the pixel paths scan: the top-level data set only.
    let options = ParseOptions { force: true, skip_sequences: SkipSequences::All, ..ParseOptions::default() };
    let Ok(file) = DicomFile::parse(Buffer::Owned(data.to_vec()), &options) else { return };
    let Ok(info) = PixelInfo::from_dataset(&file, &file.index.root.clone(), MAX_PIXEL_BYTES) else { return };
    let frames: Vec<usize> = (0..info.frames).collect();
    let mut out = vec![0u8; info.frame_bytes() * frames.len()];
    assert!(out.len() <= MAX_PIXEL_BYTES);
    let mut warnings = Vec::new();
    let _ = decode_frames(&file, &info, &frames, &mut out, DecodeOptions::default(), &mut warnings);
});
