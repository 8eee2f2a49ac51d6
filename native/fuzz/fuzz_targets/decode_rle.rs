//! RLE Lossless: the first three bytes pick a frame shape, the rest is the codestream.
//!
//! Decodes twice, into a buffer of zeros and one of 0xFF: a frame that decodes must come out
//! the same both times, which proves every output byte was written. Then as planes: they
//! decode when the pixels do, and hold the same samples.
#![no_main]

use dicodec_core::codec::rle::{decode_frame, decode_frame_planes, segment_offsets, FrameInfo};

/// Bits Allocated to try: the four the decoder takes, and two it must refuse.
const BITS: [usize; 6] = [8, 16, 32, 64, 1, 12];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [rows, columns, shape, src @ ..] = data else { return };
    let info = FrameInfo {
        rows: usize::from(*rows) + 1,
        columns: usize::from(*columns) + 1,
        samples_per_pixel: usize::from(shape / 8 % 3) + 1,
        bits_allocated: BITS[usize::from(shape % 8) % BITS.len()],
    };

    if let Ok(offsets) = segment_offsets(src) {
        assert!((1..=15).contains(&offsets.len()));
        assert!(offsets.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(offsets.iter().all(|&offset| offset >= 64 && (offset as usize) < src.len()));
    }

    // At most 256 x 256 pixels of 3 x 4 bytes: small enough to allocate for every input.
    let len = info.decoded_len().unwrap_or(0);
    let mut zeros = vec![0u8; len];
    let mut ones = vec![0xFFu8; len];
    let first = decode_frame(src, &info, &mut zeros, &mut Vec::new());
    let second = decode_frame(src, &info, &mut ones, &mut Vec::new());
    assert_eq!(first.is_ok(), second.is_ok());
    if first.is_ok() {
        assert!(zeros == ones, "a decoded frame left bytes unwritten");
    }

    let mut planes = vec![0u8; len];
    let planar = decode_frame_planes(src, &info, &mut planes, &mut Vec::new());
    assert_eq!(planar.is_ok(), first.is_ok());
    if planar.is_ok() {
        let (samples, width) = (info.samples_per_pixel, info.bits_allocated / 8);
        let pixels = info.rows * info.columns;
        for (p, pixel) in zeros.chunks_exact(samples * width).enumerate() {
            for (s, sample) in pixel.chunks_exact(width).enumerate() {
                let at = (s * pixels + p) * width;
                assert_eq!(sample, &planes[at..at + width], "planes differ from pixels");
            }
        }
    }
});
