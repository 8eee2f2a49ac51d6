//! RLE Lossless: frames from the reference corpus checked against pydicom's hashes, malformed
//! codestreams, and round trips through a test-only encoder.
//!
//! The corpus is read from `../../../shared/data` relative to the crate; when it is absent the
//! corpus tests print why and pass.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dicodec_core::codec::rle::{decode_frame, segment_offsets, FrameInfo, HEADER_LEN};
use dicodec_core::parse::{DicomFile, ParseOptions};
use dicodec_core::pixel::encapsulated_items;
use dicodec_core::{ErrorKind, Tag};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    dir.join("MANIFEST.csv").is_file().then_some(dir)
}

/// One row of MANIFEST.csv, by column name.
type Row = HashMap<String, String>;

/// MANIFEST.csv: RFC 4180 fields (quotes, doubled quotes, commas inside quotes).
fn manifest(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.csv")).expect("MANIFEST.csv is readable");
    let mut records = Vec::new();
    let (mut record, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => record.push(std::mem::take(&mut field)),
            ('\n', false) => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            ('\r', false) => {}
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    let mut records = records.into_iter();
    let header = records.next().expect("MANIFEST.csv has a header");
    records.map(|r| header.iter().cloned().zip(r).collect()).collect()
}

/// A US value of the top-level data set.
fn us(file: &DicomFile, tag: u32) -> Option<usize> {
    let index = file.index.find(&file.index.root, Tag(tag))?;
    let bytes = file.value_bytes(&file.index.elements[index as usize]);
    Some(usize::from(u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?])))
}

/// The Pixel Data fragments after the Basic Offset Table item.
fn fragments(file: &DicomFile) -> Option<Vec<&[u8]>> {
    let index = file.index.find(&file.index.root, Tag::PIXEL_DATA)?;
    let all = encapsulated_items(file, &file.index.elements[index as usize]).ok()?;
    Some(all.iter().skip(1).map(|&f| file.fragment_bytes(f)).collect())
}

/// What the corpus run found, for the summary line.
#[derive(Default)]
struct Tally {
    verified: Vec<String>,
    skipped: Vec<String>,
    frames: usize,
}

#[test]
fn rle_corpus_frames_match_pydicom() {
    let Some(dir) = data_dir() else {
        eprintln!("skipping: no reference corpus at ../../../shared/data");
        return;
    };
    let mut tally = Tally::default();
    for row in manifest(&dir) {
        let decoder = row["reference_decoder"].as_str();
        if row["transfer_syntax_uid"] != RLE_LOSSLESS || decoder == "error" || decoder.starts_with("none") {
            continue;
        }
        let path = &row["path"];
        let file = DicomFile::open(&dir.join(path), &ParseOptions::default()).unwrap_or_else(|e| panic!("{path}: {e}"));
        let info = FrameInfo {
            rows: us(&file, 0x0028_0010).expect("Rows"),
            columns: us(&file, 0x0028_0011).expect("Columns"),
            samples_per_pixel: us(&file, 0x0028_0002).expect("Samples per Pixel"),
            bits_allocated: us(&file, 0x0028_0100).expect("Bits Allocated"),
        };
        let bits_stored = us(&file, 0x0028_0101).expect("Bits Stored");
        let signed = us(&file, 0x0028_0103) == Some(1);
        let number: usize = row["frames"].parse().expect("frames");
        assert_eq!(info.rows.to_string(), row["rows"], "{path}");
        assert_eq!(info.columns.to_string(), row["columns"], "{path}");
        let frames = fragments(&file).expect("encapsulated pixel data");
        if frames.len() != number {
            tally.skipped.push(format!("{path}: {} fragments for {number} frames", frames.len()));
            continue;
        }
        let frame_len = info.decoded_len().expect("frame size");
        let mut pixels = vec![0u8; frame_len * number];
        for (i, (src, out)) in frames.iter().zip(pixels.chunks_exact_mut(frame_len)).enumerate() {
            let mut warnings = Vec::new();
            decode_frame(src, &info, out, &mut warnings).unwrap_or_else(|e| panic!("{path} frame {i}: {e}"));
            assert!(warnings.is_empty(), "{path} frame {i}: {warnings:?}");
        }
        if signed && bits_stored < info.bits_allocated {
            // pydicom sign-extends from Bits Stored; the decoder leaves that to its caller.
            sign_extend(&mut pixels, info.bits_allocated / 8, bits_stored);
        }
        assert_eq!(hex_sha256(&pixels), row["pixel_sha256"], "{path}: pixels differ from pydicom's");
        tally.frames += number;
        tally.verified.push(path.clone());
    }
    eprintln!("verified {} files ({} frames) against MANIFEST pixel_sha256", tally.verified.len(), tally.frames);
    for path in &tally.verified {
        eprintln!("  ok {path}");
    }
    for note in &tally.skipped {
        eprintln!("  skipped {note}");
    }
    assert!(!tally.verified.is_empty(), "the corpus has RLE files; none were checked");
}

/// Files the MANIFEST says must fail: scanning, splitting into frames or decoding refuses them.
#[test]
fn rle_corpus_malformed_files_are_refused() {
    let Some(dir) = data_dir() else {
        eprintln!("skipping: no reference corpus at ../../../shared/data");
        return;
    };
    for row in manifest(&dir) {
        if row["transfer_syntax_uid"] != RLE_LOSSLESS || row["reference_decoder"] != "error" {
            continue;
        }
        let path = &row["path"];
        let Ok(file) = DicomFile::open(&dir.join(path), &ParseOptions::default()) else {
            eprintln!("  {path}: refused by the scanner");
            continue;
        };
        let info = FrameInfo {
            rows: us(&file, 0x0028_0010).unwrap_or(0),
            columns: us(&file, 0x0028_0011).unwrap_or(0),
            samples_per_pixel: us(&file, 0x0028_0002).unwrap_or(0),
            bits_allocated: us(&file, 0x0028_0100).unwrap_or(0),
        };
        // Never allocate what a damaged header asks for: a frame over 64 MiB gets a tiny buffer,
        // which must be refused as well.
        let len = info.decoded_len().filter(|&n| n <= 64 << 20).unwrap_or(16);
        let mut out = vec![0u8; len];
        let frames = fragments(&file).unwrap_or_default();
        let results: Vec<_> = frames.iter().map(|src| decode_frame(src, &info, &mut out, &mut Vec::new())).collect();
        let number: usize = row["frames"].parse().unwrap_or(1);
        if let Some(e) = results.iter().find_map(|r| r.as_ref().err()) {
            eprintln!("  {path}: {e}");
        } else {
            assert_ne!(frames.len(), number, "{path}: every frame decoded");
            eprintln!("  {path}: {} fragments for {number} frames", frames.len());
        }
    }
}

fn sign_extend(pixels: &mut [u8], width: usize, bits_stored: usize) {
    let shift = 64 - 8 * width + (8 * width - bits_stored);
    for sample in pixels.chunks_exact_mut(width) {
        let mut bytes = [0u8; 8];
        bytes[..width].copy_from_slice(sample);
        let value = (i64::from_le_bytes(bytes) << shift) >> shift;
        sample.copy_from_slice(&value.to_le_bytes()[..width]);
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

// ---------------------------------------------------------------------------------------------
// A test-only PackBits encoder (G.3.1), deliberately simple: it is the oracle, not a product.

/// How the encoder chooses runs, so the decoder sees every kind of stream.
#[derive(Debug, Clone, Copy)]
struct Style {
    /// Longest run to write (1..=128).
    max_run: usize,
    /// Replicate only repeats at least this long (2 or more); shorter ones go in literals.
    min_repeat: usize,
    /// Put a no-op (-128) header before every this-many runs (0: never).
    noop_every: usize,
}

const PLAIN: Style = Style { max_run: 128, min_repeat: 2, noop_every: 0 };

fn encode_plane(plane: &[u8], style: Style) -> Vec<u8> {
    let mut out = Vec::new();
    let mut literal: Vec<u8> = Vec::new();
    let mut runs = 0;
    let flush = |literal: &mut Vec<u8>, out: &mut Vec<u8>, runs: &mut usize| {
        for chunk in literal.chunks(style.max_run) {
            if style.noop_every > 0 && *runs % style.noop_every == 0 {
                out.push(0x80);
            }
            *runs += 1;
            out.push((chunk.len() - 1) as u8);
            out.extend_from_slice(chunk);
        }
        literal.clear();
    };
    let mut i = 0;
    while i < plane.len() {
        let value = plane[i];
        let repeat = plane[i..].iter().take(style.max_run).take_while(|&&b| b == value).count();
        if repeat >= style.min_repeat {
            flush(&mut literal, &mut out, &mut runs);
            if style.noop_every > 0 && runs % style.noop_every == 0 {
                out.push(0x80);
            }
            runs += 1;
            out.push((257 - repeat) as u8);
            out.push(value);
            i += repeat;
        } else {
            literal.push(value);
            i += 1;
        }
    }
    flush(&mut literal, &mut out, &mut runs);
    out
}

/// Encode a frame of interleaved little-endian samples: split into planes (most significant
/// byte first within each sample), encode each, prepend the header, pad to even length.
fn encode_frame(pixels: &[u8], samples: usize, bytes_per_sample: usize, style: Style) -> Vec<u8> {
    let width = samples * bytes_per_sample;
    let mut segments = Vec::new();
    for s in 0..samples {
        for k in 0..bytes_per_sample {
            let byte = s * bytes_per_sample + (bytes_per_sample - 1 - k);
            let plane: Vec<u8> = pixels.chunks_exact(width).map(|p| p[byte]).collect();
            segments.push(encode_plane(&plane, style));
        }
    }
    let segments: Vec<&[u8]> = segments.iter().map(Vec::as_slice).collect();
    let mut data = with_header(&segments);
    if data.len() % 2 == 1 {
        data.push(0);
    }
    data
}

/// A frame from segments, with a correct header.
fn with_header(segments: &[&[u8]]) -> Vec<u8> {
    let mut data = vec![0u8; HEADER_LEN];
    data[..4].copy_from_slice(&(segments.len() as u32).to_le_bytes());
    let mut offset = HEADER_LEN;
    for (i, segment) in segments.iter().enumerate() {
        data[4 + 4 * i..8 + 4 * i].copy_from_slice(&(offset as u32).to_le_bytes());
        offset += segment.len();
    }
    for segment in segments {
        data.extend_from_slice(segment);
    }
    data
}

fn info(rows: usize, columns: usize, samples_per_pixel: usize, bits_allocated: usize) -> FrameInfo {
    FrameInfo { rows, columns, samples_per_pixel, bits_allocated }
}

fn decode(src: &[u8], info: &FrameInfo) -> (dicodec_core::Result<Vec<u8>>, Vec<String>) {
    let mut out = vec![0u8; info.decoded_len().expect("test frames are small")];
    let mut warnings = Vec::new();
    let result = decode_frame(src, info, &mut out, &mut warnings).map(|()| out);
    (result, warnings)
}

fn error_kind(src: &[u8], info: &FrameInfo) -> ErrorKind {
    decode(src, info).0.expect_err("must be refused").kind
}

// ---------------------------------------------------------------------------------------------
// Malformed codestreams.

#[test]
fn rle_header_shorter_than_64_bytes() {
    let src = encode_frame(&[1, 2, 3, 4], 1, 1, PLAIN);
    for len in [0, 1, 4, 63] {
        assert_eq!(error_kind(&src[..len], &info(2, 2, 1, 8)), ErrorKind::Truncated, "{len} bytes");
    }
}

#[test]
fn rle_zero_segments() {
    let mut src = encode_frame(&[1, 2, 3, 4], 1, 1, PLAIN);
    src[..4].fill(0);
    assert_eq!(error_kind(&src, &info(2, 2, 1, 8)), ErrorKind::Invalid);
}

#[test]
fn rle_more_than_fifteen_segments() {
    let mut src = encode_frame(&[1, 2, 3, 4], 1, 1, PLAIN);
    src[0] = 16;
    assert_eq!(error_kind(&src, &info(2, 2, 1, 8)), ErrorKind::Invalid);
    src[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(error_kind(&src, &info(2, 2, 1, 8)), ErrorKind::Invalid);
}

#[test]
fn rle_offsets_beyond_the_data() {
    let src = encode_frame(&[1, 2, 3, 4, 5, 6, 7, 8], 1, 2, PLAIN);
    for bad in [src.len() as u32, src.len() as u32 + 1, 0x7FFF_FFF0, u32::MAX] {
        let mut damaged = src.clone();
        damaged[8..12].copy_from_slice(&bad.to_le_bytes());
        assert_eq!(error_kind(&damaged, &info(2, 2, 1, 16)), ErrorKind::Invalid, "offset {bad}");
        assert!(segment_offsets(&damaged).is_err());
    }
}

#[test]
fn rle_offsets_not_increasing_or_inside_the_header() {
    let src = encode_frame(&[1, 2, 3, 4, 5, 6, 7, 8], 1, 2, PLAIN);
    for (field, bad) in [(8, 64u32), (8, 63), (4, 0), (4, 32), (4, 70)] {
        let mut damaged = src.clone();
        damaged[field..field + 4].copy_from_slice(&bad.to_le_bytes());
        assert_eq!(error_kind(&damaged, &info(2, 2, 1, 16)), ErrorKind::Invalid, "field {field} = {bad}");
    }
}

#[test]
fn rle_segment_count_must_match_the_frame() {
    // 16-bit RGB needs 6 segments.
    let pixels: Vec<u8> = (0..4 * 6).collect();
    let src = encode_frame(&pixels, 3, 2, PLAIN);
    assert!(decode(&src, &info(2, 2, 3, 16)).0.is_ok());
    let mut too_few = src.clone();
    too_few[0] = 5;
    let e = decode(&too_few, &info(2, 2, 3, 16)).0.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(e.message.contains("5 segments") && e.message.contains("need 6"), "{e}");
    // pydicom 3.0.2 refuses more segments than the frame needs too.
    let pixels: Vec<u8> = (0..4 * 3).collect();
    let rgb = encode_frame(&pixels, 3, 1, PLAIN);
    assert_eq!(error_kind(&rgb, &info(2, 2, 1, 8)), ErrorKind::Invalid);
    assert_eq!(error_kind(&rgb, &info(2, 2, 1, 16)), ErrorKind::Invalid);
}

#[test]
fn rle_runs_overrunning_the_plane_are_cut_with_a_warning() {
    // A replicate run of 128 and a literal run of 4 into planes of 2 bytes: the rest is dropped.
    let segments: [&[u8]; 2] = [&[0x81, 0xAA, 0x80], &[0x03, 1, 2, 3, 4]];
    let (out, warnings) = decode(&with_header(&segments), &info(1, 2, 1, 16));
    assert_eq!(out.unwrap(), [1, 0xAA, 2, 0xAA]);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("128 bytes") && warnings[1].contains("4 bytes"), "{warnings:?}");
    // Whole runs after the plane is full are excess too.
    let segment: &[u8] = &[0xFF, 7, 0x00, 8];
    let (out, warnings) = decode(&with_header(&[segment]), &info(1, 2, 1, 8));
    assert_eq!(out.unwrap(), [7, 7]);
    assert_eq!(warnings.len(), 1);
}

#[test]
fn rle_odd_padding_is_quiet() {
    // The last segment ends with a pad byte (a literal header with nothing after it).
    let segment: &[u8] = &[0xFD, 5, 0x00];
    let (out, warnings) = decode(&with_header(&[segment]), &info(2, 2, 1, 8));
    assert_eq!(out.unwrap(), [5; 4]);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn rle_stray_header_entries_warn() {
    let mut src = encode_frame(&[1, 2, 3, 4], 1, 1, PLAIN);
    src[60] = 9;
    let (out, warnings) = decode(&src, &info(2, 2, 1, 8));
    assert_eq!(out.unwrap(), [1, 2, 3, 4]);
    assert_eq!(warnings.len(), 1);
}

#[test]
fn rle_literal_run_past_the_end_of_the_segment() {
    // Says 8 bytes follow, 3 do: the plane of 4 cannot be filled.
    let segment: &[u8] = &[0x07, 1, 2, 3];
    assert_eq!(error_kind(&with_header(&[segment]), &info(2, 2, 1, 8)), ErrorKind::Truncated);
    // The same run in the first of two segments must not read into the second.
    let segments: [&[u8]; 2] = [&[0x07, 1, 2, 3], &[0xFD, 9, 9, 9, 9, 9]];
    assert_eq!(error_kind(&with_header(&segments), &info(2, 2, 1, 16)), ErrorKind::Truncated);
    // A replicate run whose value byte is missing.
    let segment: &[u8] = &[0x01, 1, 2, 0xFF];
    assert_eq!(error_kind(&with_header(&[segment]), &info(2, 2, 1, 8)), ErrorKind::Truncated);
}

#[test]
fn rle_segment_decoding_short() {
    let segment: &[u8] = &[0xFE, 1];
    let e = decode(&with_header(&[segment]), &info(2, 2, 1, 8)).0.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated);
    assert_eq!(e.tag, Some(Tag::PIXEL_DATA));
    assert_eq!(e.offset, Some(66), "offsets are from the start of the frame");
    // Too short to reach the plane at all (64:1 is the best RLE can do): refused before any work.
    let e = decode(&with_header(&[segment]), &info(64, 64, 1, 8)).0.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated);
}

/// 16-bit, one sample decodes the low bytes beside the high bytes on a path of its own: its
/// errors and warnings must be those of the other layouts.
#[test]
fn rle_sixteen_bit_frames_damaged_late() {
    let info = info(64, 64, 1, 16);
    // Scrambled values with stretches of one value: literal and replicate runs, short and long.
    let pixels: Vec<u8> = (0..64 * 64u16)
        .flat_map(|i| if (i / 50) % 3 == 0 { 1000 } else { i.wrapping_mul(40_503) >> 3 }.to_le_bytes())
        .collect();
    let high: Vec<u8> = pixels.chunks_exact(2).map(|p| p[1]).collect();
    let low: Vec<u8> = pixels.chunks_exact(2).map(|p| p[0]).collect();
    let (high, low) = (encode_plane(&high, PLAIN), encode_plane(&low, PLAIN));
    let (out, warnings) = decode(&with_header(&[&high, &low]), &info);
    assert_eq!(out.unwrap(), pixels);
    assert!(warnings.is_empty());

    // The low segment cut short near its end: refused, at the end of the segment.
    let cut = &low[..low.len() - 10];
    let e = decode(&with_header(&[&high, cut]), &info).0.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated);
    assert_eq!(e.offset, Some((64 + high.len() + cut.len()) as u64));
    // The high segment cut short.
    let e = decode(&with_header(&[&high[..high.len() - 10], &low]), &info).0.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated);

    // Runs past the end of either plane: the pixels are right, and each segment warns once.
    let long = |segment: &[u8]| [segment, &[0xFD, 7, 0x02, 1, 2, 3]].concat();
    let (out, warnings) = decode(&with_header(&[&long(&high), &long(&low)]), &info);
    assert_eq!(out.unwrap(), pixels);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().all(|w| w.contains(&format!("decodes to {} bytes", 64 * 64 + 7))), "{warnings:?}");
}

#[test]
fn rle_huge_dimensions_with_a_tiny_buffer() {
    let src = encode_frame(&[1, 2, 3, 4], 1, 1, PLAIN);
    let mut out = [0u8; 4];
    for (rows, columns) in [(65_535, 65_535), (1 << 20, 1 << 20), (usize::MAX, 2), (usize::MAX / 2, usize::MAX / 2)] {
        let started = Instant::now();
        let e = decode_frame(&src, &info(rows, columns, 3, 8), &mut out, &mut Vec::new()).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Invalid | ErrorKind::Limit), "{rows}x{columns}: {e}");
        let e = decode_frame(&src, &info(rows, columns, 1, 16), &mut out, &mut Vec::new()).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Invalid | ErrorKind::Limit), "{rows}x{columns}: {e}");
        assert!(started.elapsed() < Duration::from_millis(50), "refusing must not touch the pixels");
    }
}

#[test]
fn rle_output_buffer_must_match() {
    let src = encode_frame(&[1, 2, 3, 4], 1, 1, PLAIN);
    for len in [0, 3, 5, 8] {
        let mut out = vec![0u8; len];
        let e = decode_frame(&src, &info(2, 2, 1, 8), &mut out, &mut Vec::new()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid, "{len}");
    }
}

#[test]
fn rle_frame_attributes() {
    let src = encode_frame(&[1, 2, 3, 4], 1, 1, PLAIN);
    assert_eq!(error_kind(&src, &info(2, 2, 1, 1)), ErrorKind::Unsupported);
    for bits in [0, 2, 12, 24, 128] {
        assert!(decode_frame(&src, &info(2, 2, 1, bits), &mut [0; 16], &mut Vec::new()).is_err(), "{bits} bits");
    }
    assert_eq!(error_kind(&src, &info(2, 2, 0, 8)), ErrorKind::Invalid);
    assert!(decode_frame(&src, &info(2, 2, 4, 8), &mut [0; 16], &mut Vec::new()).is_err());
    assert!(decode_frame(&src, &info(0, 2, 1, 8), &mut [], &mut Vec::new()).is_err());
    assert!(decode_frame(&src, &info(2, 0, 1, 8), &mut [], &mut Vec::new()).is_err());
    // 64-bit samples with two or three samples per pixel need more than 15 segments.
    assert!(decode_frame(&src, &info(1, 1, 2, 64), &mut [0; 16], &mut Vec::new()).is_err());
    let e = decode_frame(&src, &info(2, 2, 1, 12), &mut [0; 6], &mut Vec::new()).unwrap_err();
    assert!(e.to_string().starts_with("(0028,0100)"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Properties.

/// Every layout the decoder accepts: (samples per pixel, bits allocated).
const LAYOUTS: [(usize, usize); 10] =
    [(1, 8), (1, 16), (1, 32), (1, 64), (2, 8), (2, 16), (2, 32), (3, 8), (3, 16), (3, 32)];

/// Pixels with runs in them: bytes drawn from a small alphabet, repeated.
fn pixel_bytes(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), len),
        prop::collection::vec((0u8..4, 1usize..300), 1..64).prop_map(move |runs| {
            runs.iter().flat_map(|&(v, n)| std::iter::repeat_n(v * 85, n)).cycle().take(len).collect()
        }),
    ]
}

fn style() -> impl Strategy<Value = Style> {
    (1usize..=128, 2usize..=4, 0usize..4).prop_map(|(max_run, min_repeat, noop_every)| Style {
        max_run,
        min_repeat,
        noop_every,
    })
}

fn frame_case() -> impl Strategy<Value = (FrameInfo, Vec<u8>, Style)> {
    (0..LAYOUTS.len(), prop_oneof![1usize..=5, 1usize..=70], prop_oneof![1usize..=5, 1usize..=70]).prop_flat_map(
        |(layout, rows, columns)| {
            let (samples, bits) = LAYOUTS[layout];
            let info = info(rows, columns, samples, bits);
            (Just(info), pixel_bytes(rows * columns * samples * bits / 8), style())
        },
    )
}

/// The reference the fast decoder must agree with: per byte, no cleverness. A segment decodes
/// as pydicom 3.0.2's decoder does (a literal run cut by the end yields what is there, a
/// replicate run with no byte yields nothing); short is an error, long is cut with a warning.
fn reference_decode(segments: &[Vec<u8>], info: &FrameInfo) -> Option<(Vec<u8>, usize)> {
    let bytes_per_sample = info.bits_allocated / 8;
    let plane_len = info.rows * info.columns;
    let mut warnings = 0;
    let mut planes = Vec::new();
    for segment in segments {
        let mut plane = Vec::new();
        let mut i = 0;
        while i < segment.len() {
            let header = segment[i];
            i += 1;
            if header < 128 {
                let end = (i + usize::from(header) + 1).min(segment.len());
                plane.extend_from_slice(&segment[i..end]);
                i = end;
            } else if header > 128 {
                if let Some(&value) = segment.get(i) {
                    plane.extend(std::iter::repeat_n(value, 257 - usize::from(header)));
                }
                i += 1;
            }
        }
        if plane.len() < plane_len {
            return None;
        }
        if plane.len() > plane_len {
            warnings += 1;
        }
        plane.truncate(plane_len);
        planes.push(plane);
    }
    // Pixel by pixel: each sample's bytes least significant first, that is from its last segment.
    let order: Vec<&Vec<u8>> = (0..info.samples_per_pixel)
        .flat_map(|s| (0..bytes_per_sample).rev().map(move |k| s * bytes_per_sample + k))
        .map(|segment| &planes[segment])
        .collect();
    let out = (0..plane_len).flat_map(|p| order.iter().map(move |plane| plane[p])).collect();
    Some((out, warnings))
}

/// Ways to damage a segment.
#[derive(Debug, Clone)]
enum Damage {
    None,
    /// Overwrite the byte at this position (modulo the length).
    Flip(usize, u8),
    /// Drop this many bytes from the end.
    Cut(usize),
    /// Append these bytes.
    Extend(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        2 => Just(Damage::None),
        3 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Damage::Flip(at, b)),
        2 => (1usize..8).prop_map(Damage::Cut),
        2 => prop::collection::vec(any::<u8>(), 1..8).prop_map(Damage::Extend),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn rle_round_trip((info, pixels, style) in frame_case()) {
        let src = encode_frame(&pixels, info.samples_per_pixel, info.bits_allocated / 8, style);
        let (out, warnings) = decode(&src, &info);
        prop_assert_eq!(out.unwrap(), pixels);
        prop_assert!(warnings.is_empty(), "{:?}", warnings);
    }

    /// Valid encodings, then damaged: the decoder agrees with [`reference_decode`] on whether
    /// the frame decodes, on the pixels, and on the number of warnings.
    #[test]
    fn rle_matches_the_reference((info, pixels, style) in frame_case(), damages in prop::collection::vec(damage(), 12)) {
        let bytes_per_sample = info.bits_allocated / 8;
        let width = info.samples_per_pixel * bytes_per_sample;
        let mut segments = Vec::new();
        for (j, damage) in (0..width).zip(&damages) {
            let (s, k) = (j / bytes_per_sample, j % bytes_per_sample);
            let byte = s * bytes_per_sample + (bytes_per_sample - 1 - k);
            let plane: Vec<u8> = pixels.chunks_exact(width).map(|p| p[byte]).collect();
            let mut segment = encode_plane(&plane, style);
            match damage {
                Damage::None => {}
                Damage::Flip(at, b) => {
                    let at = at % segment.len();
                    segment[at] = *b;
                }
                Damage::Cut(n) => segment.truncate(segment.len().saturating_sub(*n).max(1)),
                Damage::Extend(bytes) => segment.extend_from_slice(bytes),
            }
            segments.push(segment);
        }
        let src = with_header(&segments.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let (ours, warnings) = decode(&src, &info);
        match reference_decode(&segments, &info) {
            Some((expected, expected_warnings)) => {
                prop_assert_eq!(ours.expect("the reference decodes it"), expected);
                prop_assert_eq!(warnings.len(), expected_warnings, "{:?}", warnings);
            }
            None => prop_assert!(ours.is_err(), "the reference refuses it"),
        }
    }

    #[test]
    fn rle_arbitrary_bytes_never_panic(
        src in prop::collection::vec(any::<u8>(), 0..400),
        layout in 0..LAYOUTS.len(),
        rows in 1usize..12,
        columns in 1usize..12,
    ) {
        let (samples, bits) = LAYOUTS[layout];
        let info = info(rows, columns, samples, bits);
        let _ = decode(&src, &info);
    }

    /// Random segment bytes behind a header that passes: the run decoder itself sees garbage.
    #[test]
    fn rle_arbitrary_segments_never_panic(
        segments in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 1..=6),
        layout in 0..LAYOUTS.len(),
        rows in 1usize..20,
        columns in 1usize..20,
    ) {
        let (samples, bits) = LAYOUTS[layout];
        let info = info(rows, columns, samples, bits);
        let segments: Vec<&[u8]> = segments.iter().map(Vec::as_slice).collect();
        let src = with_header(&segments);
        let (result, _) = decode(&src, &info);
        if let Ok(out) = result {
            prop_assert_eq!(out.len(), info.decoded_len().unwrap());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Throughput: `cargo test --release -p dicodec-core --test rle -- --ignored --nocapture`.

/// Median time of `f` over enough runs to fill about half a second.
fn median_time(mut f: impl FnMut()) -> Duration {
    f();
    let once = {
        let t = Instant::now();
        f();
        t.elapsed().max(Duration::from_nanos(100))
    };
    let runs = (Duration::from_millis(500).as_nanos() / once.as_nanos()).clamp(11, 20_001) as usize;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// Real frames from the corpus (when it is here), and always a synthetic 512×512 16-bit disc.
fn timing_frames() -> Vec<(String, FrameInfo, Vec<u8>)> {
    let mut frames = Vec::new();
    if let Some(dir) = data_dir() {
        for name in [
            "rle/WG04_CT1_RLE.dcm",
            "rle/CT0012.not_fragmented_bot_rle.dcm",
            "rle/WG04_MR4_RLE.dcm",
            "rle/WG04_RG3_RLE.dcm",
            "rle/WG04_US1_RLE.dcm",
            "rle/OBXXXX1A_rle.dcm",
        ] {
            let Ok(file) = DicomFile::open(&dir.join(name), &ParseOptions::default()) else { continue };
            let info = FrameInfo {
                rows: us(&file, 0x0028_0010).unwrap_or(0),
                columns: us(&file, 0x0028_0011).unwrap_or(0),
                samples_per_pixel: us(&file, 0x0028_0002).unwrap_or(0),
                bits_allocated: us(&file, 0x0028_0100).unwrap_or(0),
            };
            if let Some(first) = fragments(&file).and_then(|f| f.first().map(|s| s.to_vec())) {
                frames.push((name.to_string(), info, first));
            }
        }
    }
    let mut pixels = Vec::with_capacity(512 * 512 * 2);
    for y in 0..512u16 {
        for x in 0..512u16 {
            let r2 = (i32::from(x) - 256).pow(2) + (i32::from(y) - 256).pow(2);
            let value = if r2 < 200 * 200 { 1000 + (x * 7 + y * 3) % 40 } else { 0 };
            pixels.extend_from_slice(&value.to_le_bytes());
        }
    }
    frames.push(("synthetic 512x512 disc".to_string(), info(512, 512, 1, 16), encode_frame(&pixels, 1, 2, PLAIN)));
    frames
}

#[test]
#[ignore = "timing; run in release with --ignored --nocapture"]
fn rle_throughput() {
    let mb_s = |len: usize, t: Duration| f64::from(u32::try_from(len).unwrap()) / t.as_secs_f64() / 1e6;
    for (name, info, src) in timing_frames() {
        let len = info.decoded_len().unwrap();
        let source = vec![1u8; len];
        let mut target = vec![0u8; len];
        let memcpy = median_time(|| {
            target.copy_from_slice(std::hint::black_box(&source));
            std::hint::black_box(&mut target);
        });
        let mut out = vec![0u8; len];
        let mut warnings = Vec::new();
        let decode = median_time(|| {
            decode_frame(std::hint::black_box(&src), &info, &mut out, &mut warnings).unwrap();
            std::hint::black_box(&mut out);
        });
        println!(
            "{name} ({}x{}x{}, {}-bit): {} -> {len} bytes in {decode:?} = {:.0} MB/s; memcpy {memcpy:?} = {:.0} MB/s; \
             {:.1}% of memcpy",
            info.rows,
            info.columns,
            info.samples_per_pixel,
            info.bits_allocated,
            src.len(),
            mb_s(len, decode),
            mb_s(len, memcpy),
            100.0 * memcpy.as_secs_f64() / decode.as_secs_f64()
        );
    }
}
