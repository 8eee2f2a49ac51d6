//! Pixel data codecs written for dicodec: RLE Lossless (PS3.5 Annex G) and JPEG Lossless
//! (ITU-T T.81 process 14). Each works on one frame's codestream and writes into a caller's buffer.

pub mod jpeg_lossless;
pub mod rle;
