//! JPEG Lossless: read the parameters of arbitrary bytes and, when the frame is small, decode.
//!
//! An error is fine; a panic, a hang or an unbounded allocation is a bug. A frame that decodes
//! is decoded a second time into a buffer of different bytes: both results must agree, which
//! shows that every output byte was written.
#![no_main]

use dicodec_core::codec::jpeg_lossless::{decode, parameters};

/// Largest output the target allocates (the decoder itself allocates only tables and lines).
const MAX_OUTPUT: usize = 16 << 20;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(params) = parameters(data) else { return };
    assert!(params.width > 0 && params.height > 0);
    assert!((2..=16).contains(&params.precision) && (1..=4).contains(&params.components));
    let Some(len) = params.output_len().filter(|&len| len <= MAX_OUTPUT) else { return };

    let mut zeros = vec![0u8; len];
    let mut ones = vec![0xFFu8; len];
    let first = decode(data, &mut zeros);
    let second = decode(data, &mut ones);
    match (first, second) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, params);
            assert_eq!(b, params);
            assert!(zeros == ones, "a decoded frame left output bytes unwritten");
        }
        (Err(_), Err(_)) => {}
        _ => panic!("two decodes of the same codestream disagree"),
    }

    // A buffer of the wrong size is refused before any decoding.
    let mut short = vec![0u8; len - 1];
    assert!(decode(data, &mut short).is_err());
});
