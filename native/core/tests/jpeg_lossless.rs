//! JPEG Lossless (T.81 process 14): the reference corpus against pydicom's hashes, libjpeg-turbo
//! vectors, malformed codestreams, and streams that must never make the decoder panic or hang.
//!
//! The corpus is read from `../../../shared/data` relative to this crate and the corpus tests
//! pass with a printed reason when it is absent. The vectors in `tests/data/jpeg_lossless` are
//! written by libjpeg-turbo (`tools/gen_jpeg_lossless_vectors.py`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use dicodec_core::codec::jpeg_lossless::{self, Parameters};
use dicodec_core::parse::{DicomFile, ParseOptions};
use dicodec_core::pixel::encapsulated_items;
use dicodec_core::{ErrorKind, Tag};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

const TRANSFER_SYNTAXES: [&str; 2] = ["1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"];

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    dir.join("MANIFEST.csv").is_file().then_some(dir)
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/jpeg_lossless")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// Decode into a buffer of the size the headers ask for.
fn decode_vec(src: &[u8]) -> dicodec_core::Result<(Parameters, Vec<u8>)> {
    let params = jpeg_lossless::parameters(src)?;
    let len = params.output_len().expect("test frames are small");
    let mut out = vec![0u8; len];
    let decoded = jpeg_lossless::decode(src, &mut out)?;
    assert_eq!(decoded, params, "decode and parameters disagree");
    Ok((params, out))
}

fn error_kind(src: &[u8]) -> ErrorKind {
    match decode_vec(src) {
        Ok(_) => panic!("decoding should have failed"),
        Err(error) => error.kind,
    }
}

// The tests live in `mod jpeg` so that `cargo test -p dicodec-core jpeg` selects all of them.
mod jpeg {
    use super::*;

    // ---------------------------------------------------------------------------------------------
    // The reference corpus

    /// One MANIFEST.csv row by column name.
    type Row = HashMap<String, String>;

    /// Split CSV text into records: fields may be quoted, with `""` for a quote inside.
    fn csv_records(text: &str) -> Vec<Vec<String>> {
        let mut records = Vec::new();
        let mut record = Vec::new();
        let mut field = String::new();
        let mut in_quotes = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if in_quotes {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => in_quotes = false,
                    _ => field.push(c),
                }
                continue;
            }
            match c {
                '"' => in_quotes = true,
                ',' => record.push(std::mem::take(&mut field)),
                '\r' => {}
                '\n' => {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                _ => field.push(c),
            }
        }
        if !field.is_empty() || !record.is_empty() {
            record.push(field);
            records.push(record);
        }
        records
    }

    fn manifest_rows(dir: &Path) -> Vec<Row> {
        let text = std::fs::read_to_string(dir.join("MANIFEST.csv")).expect("read MANIFEST.csv");
        let mut records = csv_records(&text).into_iter();
        let names = records.next().unwrap_or_default();
        records.map(|fields| names.iter().cloned().zip(fields).collect()).collect()
    }

    fn number(row: &Row, column: &str) -> usize {
        row[column].parse().unwrap_or_else(|_| panic!("{}: column {column} is {:?}", row["path"], row[column]))
    }

    /// The codestream of each frame: fragments split by the Basic Offset Table, one per frame when
    /// the counts match, or else cut after each fragment that ends with EOI (FFD9, maybe padded).
    fn frame_streams(file: &DicomFile, frames: usize) -> Result<Vec<Vec<u8>>, String> {
        let index = file.index.find(&file.index.root, Tag::PIXEL_DATA).ok_or("no Pixel Data")?;
        let items = encapsulated_items(file, &file.index.elements[index as usize]).map_err(|e| e.to_string())?;
        let (table, fragments) = items.split_first().ok_or("no Basic Offset Table item")?;
        let bot: Vec<usize> =
            file.fragment_bytes(*table).chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
        let bytes: Vec<&[u8]> = fragments.iter().map(|&f| file.fragment_bytes(f)).collect();
        if frames == 1 {
            return Ok(vec![bytes.concat()]);
        }
        if bot.len() == frames {
            // Offsets count from the first fragment's item tag; each item has an 8-byte header.
            let base = fragments.first().ok_or("no fragments")?.offset - 8;
            let mut streams = vec![Vec::new(); frames];
            for (fragment, data) in fragments.iter().zip(&bytes) {
                let at = fragment.offset - 8 - base;
                let frame = bot.iter().rposition(|&start| start <= at).ok_or("fragment before the first offset")?;
                streams[frame].extend_from_slice(data);
            }
            return Ok(streams);
        }
        if bytes.len() == frames {
            return Ok(bytes.iter().map(|b| b.to_vec()).collect());
        }
        let mut streams = Vec::new();
        let mut current = Vec::new();
        for data in bytes {
            current.extend_from_slice(data);
            let mut end = current.len();
            while end > 0 && current[end - 1] == 0 {
                end -= 1;
            }
            if current[..end].ends_with(&[0xFF, 0xD9]) {
                streams.push(std::mem::take(&mut current));
            }
        }
        if streams.len() != frames {
            return Err(format!("found {} frames by EOI, expected {frames}", streams.len()));
        }
        Ok(streams)
    }

    /// The decoder output as pydicom's array: widened to the Bits Allocated container and, for
    /// signed data, sign-extended from Bits Stored (pydicom's reading of the unsigned samples).
    fn as_pydicom(decoded: &[u8], params: &Parameters, row: &Row) -> Vec<u8> {
        let container = number(row, "bits_allocated") / 8;
        let bits_stored = number(row, "bits_stored") as u32;
        let signed = row["pixel_representation"] == "1";
        let mut out = Vec::with_capacity(decoded.len() / params.bytes_per_sample() * container);
        for sample in decoded.chunks_exact(params.bytes_per_sample()) {
            let mut value = match *sample {
                [v] => u32::from(v),
                [lo, hi] => u32::from(u16::from_le_bytes([lo, hi])),
                _ => unreachable!(),
            };
            if signed && bits_stored < 32 {
                // The low Bits Stored bits as two's complement, in 32 bits; the container keeps its
                // low bytes.
                value &= (1 << bits_stored) - 1;
                if value >= 1 << (bits_stored - 1) {
                    value = value.wrapping_sub(1 << bits_stored);
                }
            }
            out.extend_from_slice(&value.to_le_bytes()[..container]);
        }
        out
    }

    /// (0028,0008) Number of Frames from the file itself (1 when absent).
    fn number_of_frames(file: &DicomFile) -> usize {
        let Some(index) = file.index.find(&file.index.root, Tag(0x0028_0008)) else { return 1 };
        let text = String::from_utf8_lossy(file.value_bytes(&file.index.elements[index as usize])).into_owned();
        text.trim_matches(|c: char| c.is_whitespace() || c == '\0').parse().unwrap_or(1)
    }

    #[derive(Default)]
    struct Tally {
        files: usize,
        frames: usize,
        refused: usize,
        damaged: usize,
        failures: Vec<String>,
    }

    #[test]
    fn corpus_frames_match_pydicom() {
        let Some(dir) = corpus_dir() else {
            eprintln!("skipping: reference corpus not found next to the repository (../shared/data)");
            return;
        };
        let mut tally = Tally::default();
        for row in manifest_rows(&dir) {
            if !TRANSFER_SYNTAXES.contains(&row["transfer_syntax_uid"].as_str()) {
                continue;
            }
            let reference = row["reference_decoder"].as_str();
            let path = dir.join(&row["path"]);
            if reference.starts_with("none (no pixel") {
                continue;
            }
            let opened = DicomFile::open(&path, &ParseOptions::default());
            if reference == "error" {
                // Must be refused: by the scanner, the frame split, or the decoder.
                let refused = opened.map_err(|e| e.to_string()).and_then(|file| {
                    let frames = row["frames"].parse().unwrap_or_else(|_| number_of_frames(&file));
                    let streams = frame_streams(&file, frames)?;
                    streams.iter().try_for_each(|s| decode_vec(s).map(|_| ()).map_err(|e| e.to_string()))
                });
                match refused {
                    Err(_) => tally.refused += 1,
                    Ok(()) => tally.failures.push(format!("{}: decoded although the manifest expects an error", row["path"])),
                }
                continue;
            }
            let file = match opened {
                Ok(file) => file,
                Err(e) => {
                    tally.failures.push(format!("{}: cannot open: {e}", row["path"]));
                    continue;
                }
            };
            let frames = number(&row, "frames");
            let streams = match frame_streams(&file, frames) {
                Ok(streams) => streams,
                Err(e) if reference.starts_with("none (any clean") => {
                    eprintln!("{}: {e}", row["path"]);
                    tally.damaged += 1;
                    continue;
                }
                Err(e) => {
                    tally.failures.push(format!("{}: {e}", row["path"]));
                    continue;
                }
            };
            if reference.starts_with("none (any clean") {
                // Damaged on purpose: any outcome but a panic or a hang.
                for stream in &streams {
                    let _ = decode_vec(stream);
                }
                tally.damaged += 1;
                continue;
            }
            let mut pixels = Vec::new();
            let mut failed = None;
            for (i, stream) in streams.iter().enumerate() {
                match decode_vec(stream) {
                    Ok((params, out)) => {
                        let (rows, columns, spp) = (number(&row, "rows"), number(&row, "columns"), number(&row, "samples_per_pixel"));
                        if (params.height, params.width, usize::from(params.components)) != (rows, columns, spp) {
                            failed = Some(format!("frame {i}: {params:?} does not match {rows}x{columns}x{spp}"));
                            break;
                        }
                        pixels.extend(as_pydicom(&out, &params, &row));
                    }
                    Err(e) => {
                        failed = Some(format!("frame {i}: {e}"));
                        break;
                    }
                }
            }
            if let Some(why) = failed {
                tally.failures.push(format!("{}: {why}", row["path"]));
                continue;
            }
            let hash = sha256_hex(&pixels);
            if hash == row["pixel_sha256"] {
                tally.files += 1;
                tally.frames += streams.len();
            } else {
                tally.failures.push(format!("{}: sha256 {hash} != {}", row["path"], row["pixel_sha256"]));
            }
        }
        eprintln!(
            "JPEG Lossless corpus: {} files / {} frames bit-exact, {} malformed files refused, {} damaged files survived",
            tally.files, tally.frames, tally.refused, tally.damaged
        );
        assert!(tally.failures.is_empty(), "{} failures:\n{}", tally.failures.len(), tally.failures.join("\n"));
        assert!(tally.files > 0, "no JPEG Lossless files in the corpus");
    }

    #[test]
    fn corpus_half_stream_is_truncated() {
        let Some(dir) = corpus_dir() else {
            eprintln!("skipping: reference corpus not found next to the repository (../shared/data)");
            return;
        };
        let file = DicomFile::open(&dir.join("malformed/SC_rgb_jpeg_gdcm_half_stream.dcm"), &ParseOptions::default()).expect("scannable");
        let stream = frame_streams(&file, 1).expect("one frame").remove(0);
        assert_eq!(error_kind(&stream), ErrorKind::Truncated);
    }

    // ---------------------------------------------------------------------------------------------
    // libjpeg-turbo vectors

    struct Vector {
        file: String,
        params: Parameters,
        sha256: String,
    }

    fn vectors() -> Vec<Vector> {
        let text = std::fs::read_to_string(vectors_dir().join("manifest.json")).expect("tests/data/jpeg_lossless/manifest.json");
        let manifest: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let field = |v: &serde_json::Value, name: &str| v[name].as_u64().unwrap_or_else(|| panic!("{name} in {v}"));
        manifest["vectors"]
            .as_array()
            .expect("vectors")
            .iter()
            .map(|v| Vector {
                file: v["file"].as_str().expect("file").to_owned(),
                params: Parameters {
                    width: field(v, "width") as usize,
                    height: field(v, "height") as usize,
                    precision: field(v, "precision") as u8,
                    components: field(v, "components") as u8,
                    predictor: field(v, "predictor") as u8,
                    point_transform: field(v, "point_transform") as u8,
                    restart_interval: 0,
                    interleaved: true,
                    height_from_dnl: false,
                },
                sha256: v["sha256"].as_str().expect("sha256").to_owned(),
            })
            .collect()
    }

    fn vector_bytes(name: &str) -> Vec<u8> {
        std::fs::read(vectors_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn libjpeg_turbo_vectors_decode_exactly() {
        let vectors = vectors();
        let mut failures = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for vector in &vectors {
            let src = vector_bytes(&vector.file);
            match decode_vec(&src) {
                Ok((params, _)) if params != vector.params => failures.push(format!("{}: {params:?} != {:?}", vector.file, vector.params)),
                Ok((_, out)) if sha256_hex(&out) != vector.sha256 => failures.push(format!("{}: output differs", vector.file)),
                Ok((params, _)) => {
                    seen.insert((params.predictor, params.precision, params.components));
                }
                Err(e) => failures.push(format!("{}: {e}", vector.file)),
            }
        }
        assert!(failures.is_empty(), "{} of {} vectors failed:\n{}", failures.len(), vectors.len(), failures.join("\n"));
        for predictor in 1..=7 {
            for precision in 2..=16 {
                for components in [1, 3] {
                    assert!(seen.contains(&(predictor, precision, components)), "no vector for {predictor}/{precision}/{components}");
                }
            }
        }
        eprintln!("{} libjpeg-turbo vectors decoded exactly", vectors.len());
    }

    // ---------------------------------------------------------------------------------------------
    // Malformed codestreams (libjpeg-turbo vectors with bytes changed)

    /// A small valid stream: 16-bit, 61x48, one component.
    fn sample_stream() -> Vec<u8> {
        vector_bytes("p1_P16_c1_61x48_large.jpg")
    }

    /// A valid 3-component stream.
    fn sample_rgb() -> Vec<u8> {
        vector_bytes("p4_P08_c3_61x48_large.jpg")
    }

    fn find_marker(src: &[u8], code: u8) -> usize {
        src.windows(2).position(|w| w == [0xFF, code]).unwrap_or_else(|| panic!("no marker FF{code:02X}"))
    }

    fn scan_data_start(src: &[u8]) -> usize {
        let sos = find_marker(src, 0xDA);
        sos + 2 + usize::from(u16::from_be_bytes([src[sos + 2], src[sos + 3]]))
    }

    #[test]
    fn truncated_streams_are_errors() {
        let src = sample_stream();
        let data = scan_data_start(&src);
        let eoi = src.len() - 2;
        for cut in [0, 1, 2, 3, 5, 20, data - 1, data, data + 1, data + (eoi - data) / 4, data + (eoi - data) / 2, eoi - 4] {
            let error = decode_vec(&src[..cut]).expect_err(&format!("cut at {cut}"));
            assert!(matches!(error.kind, ErrorKind::Truncated | ErrorKind::Invalid), "cut at {cut}: {error}");
            if cut > data {
                assert_eq!(error.kind, ErrorKind::Truncated, "cut at {cut}: {error}");
            }
        }
    }

    #[test]
    fn missing_eoi_is_accepted_once_every_sample_is_decoded() {
        let src = sample_stream();
        let (_, full) = decode_vec(&src).expect("valid");
        for end in [src.len() - 2, src.len() - 1] {
            let (_, out) = decode_vec(&src[..end]).expect("EOI is not needed");
            assert_eq!(out, full);
        }
    }

    #[test]
    fn output_buffer_size_must_match() {
        let src = sample_stream();
        let params = jpeg_lossless::parameters(&src).expect("valid");
        assert_eq!((params.width, params.height, params.precision), (61, 48, 16));
        for len in [0, 1, 61 * 48 * 2 - 1, 61 * 48 * 2 + 1] {
            let mut out = vec![0u8; len];
            assert_eq!(jpeg_lossless::decode(&src, &mut out).expect_err("wrong size").kind, ErrorKind::Invalid);
        }
    }

    #[test]
    fn huge_dimensions_with_a_small_buffer_fail_before_decoding() {
        let mut src = sample_stream();
        let sof = find_marker(&src, 0xC3);
        src[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        let params = jpeg_lossless::parameters(&src).expect("headers are fine");
        assert_eq!((params.width, params.height), (65535, 65535));
        let mut out = vec![0u8; 1024];
        let started = Instant::now();
        assert_eq!(jpeg_lossless::decode(&src, &mut out).expect_err("too small").kind, ErrorKind::Invalid);
        assert!(started.elapsed().as_millis() < 100);
    }

    /// Patch the frame header: precision at +4, height +5, width +7, component count +9.
    fn with_frame_byte(offset: usize, value: u8) -> Vec<u8> {
        let mut src = sample_stream();
        let sof = find_marker(&src, 0xC3);
        src[sof + offset] = value;
        src
    }

    #[test]
    fn bad_frame_headers() {
        // Width 0.
        let mut src = sample_stream();
        let sof = find_marker(&src, 0xC3);
        src[sof + 7..sof + 9].copy_from_slice(&[0, 0]);
        assert_eq!(error_kind(&src), ErrorKind::Invalid);
        // Height 0 without a DNL segment.
        let mut src = sample_stream();
        src[sof + 5..sof + 7].copy_from_slice(&[0, 0]);
        assert_eq!(error_kind(&src), ErrorKind::Invalid);
        // Precision 1 and 17.
        assert_eq!(error_kind(&with_frame_byte(4, 1)), ErrorKind::Invalid);
        assert_eq!(error_kind(&with_frame_byte(4, 17)), ErrorKind::Invalid);
        // 0 components; 5 components (valid in T.81, not supported here) with a matching length.
        assert_eq!(error_kind(&with_frame_byte(9, 0)), ErrorKind::Invalid);
        let mut src = sample_stream();
        let components: Vec<u8> = (1..=5).flat_map(|id| [id, 0x11, 0]).collect();
        src.splice(sof + 10..sof + 13, components);
        src[sof + 3] = 8 + 15;
        src[sof + 9] = 5;
        assert_eq!(error_kind(&src), ErrorKind::Unsupported);
        // A component count that does not match the segment length.
        assert_eq!(error_kind(&with_frame_byte(9, 2)), ErrorKind::Invalid);
    }

    #[test]
    fn wrong_segment_lengths() {
        let src = sample_stream();
        for code in [0xC3, 0xC4, 0xDA] {
            for length in [0u16, 1, 3, 0xFFFF] {
                let mut bad = src.clone();
                let at = find_marker(&bad, code);
                bad[at + 2..at + 4].copy_from_slice(&length.to_be_bytes());
                let error = decode_vec(&bad).expect_err(&format!("FF{code:02X} length {length}"));
                assert!(matches!(error.kind, ErrorKind::Invalid | ErrorKind::Truncated), "FF{code:02X} length {length}: {error}");
            }
        }
    }

    #[test]
    fn undefined_huffman_table() {
        let mut src = sample_stream();
        let sos = find_marker(&src, 0xDA);
        src[sos + 6] = 0x20; // component 1 uses DC table 2, never defined
        let error = decode_vec(&src).expect_err("undefined table");
        assert_eq!(error.kind, ErrorKind::Invalid);
        assert!(error.message.contains("not defined"), "{error}");
        // No DHT at all.
        let mut src = sample_stream();
        let dht = find_marker(&src, 0xC4);
        let length = usize::from(u16::from_be_bytes([src[dht + 2], src[dht + 3]]));
        src.drain(dht..dht + 2 + length);
        assert_eq!(error_kind(&src), ErrorKind::Invalid);
    }

    #[test]
    fn bad_huffman_tables() {
        let src = sample_stream();
        let dht = find_marker(&src, 0xC4);
        // Table class 2, destination 5.
        for byte in [0x20, 0x05] {
            let mut bad = src.clone();
            bad[dht + 4] = byte;
            assert_eq!(error_kind(&bad), ErrorKind::Invalid);
        }
        // Three codes of length 1: more than the code space holds.
        let mut bad = src.clone();
        bad[dht + 5] = 3;
        assert_eq!(error_kind(&bad), ErrorKind::Invalid);
        // A category above 16.
        let mut bad = src.clone();
        bad[dht + 5 + 16] = 17;
        assert_eq!(error_kind(&bad), ErrorKind::Invalid);
    }

    #[test]
    fn bit_pattern_without_a_code() {
        // One code only ("0" -> category 0): any 1 bit in the data has no symbol.
        let mut src = sample_stream();
        let dht = find_marker(&src, 0xC4);
        let length = usize::from(u16::from_be_bytes([src[dht + 2], src[dht + 3]]));
        let mut table = vec![0xFF, 0xC4, 0x00, 0x14, 0x00, 1];
        table.extend_from_slice(&[0; 15]);
        table.push(0);
        src.splice(dht..dht + 2 + length, table);
        let error = decode_vec(&src).expect_err("no such code");
        assert_eq!(error.kind, ErrorKind::Invalid);
        assert!(error.message.contains("no Huffman code"), "{error}");
    }

    #[test]
    fn bad_predictors_and_point_transforms() {
        for predictor in [0, 8, 255] {
            let mut src = sample_stream();
            let sos = find_marker(&src, 0xDA);
            src[sos + 7] = predictor;
            let error = decode_vec(&src).expect_err("bad predictor");
            assert_eq!(error.kind, ErrorKind::Invalid);
            assert_eq!(error.offset, Some(sos as u64));
        }
        let mut src = sample_stream();
        let sos = find_marker(&src, 0xDA);
        src[sos + 9] = 0x0F; // Pt 15 is fine for 16 bits
        assert!(jpeg_lossless::parameters(&src).is_ok());
        let mut src = sample_rgb();
        let sos = find_marker(&src, 0xDA);
        src[sos + 13] = 0x08; // Pt 8 with 8 bits is not
        assert_eq!(error_kind(&src), ErrorKind::Invalid);
    }

    #[test]
    fn other_jpeg_processes_are_unsupported() {
        for code in [0xC0, 0xC1, 0xC2, 0xC5, 0xC7, 0xC9, 0xCB, 0xCF] {
            let mut src = sample_stream();
            let sof = find_marker(&src, 0xC3);
            src[sof + 1] = code;
            assert_eq!(error_kind(&src), ErrorKind::Unsupported, "SOF FF{code:02X}");
        }
        // DHP (hierarchical) before the frame.
        let mut src = sample_stream();
        let sof = find_marker(&src, 0xC3);
        src.splice(sof..sof, [0xFF, 0xDE, 0x00, 0x02]);
        assert_eq!(error_kind(&src), ErrorKind::Unsupported);
        // A JPEG-LS frame.
        let mut src = sample_stream();
        src[sof + 1] = 0xF7;
        assert_eq!(error_kind(&src), ErrorKind::Unsupported);
    }

    #[test]
    fn not_a_jpeg() {
        assert_eq!(error_kind(&[]), ErrorKind::Truncated);
        assert_eq!(error_kind(b"DICM"), ErrorKind::Invalid);
        assert_eq!(error_kind(&[0xFF, 0xD8]), ErrorKind::Truncated);
        assert_eq!(error_kind(&[0xFF, 0xD8, 0xFF, 0xD9]), ErrorKind::Invalid);
    }

    #[test]
    fn markers_and_fill_bytes_are_skipped() {
        let src = sample_stream();
        let (_, expected) = decode_vec(&src).expect("valid");
        // APP1, COM, an unknown JPGn segment and fill bytes before the frame and before the scan.
        let mut extended = src.clone();
        let sos = find_marker(&extended, 0xDA);
        extended.splice(sos..sos, [0xFF, 0xFF, 0xFF, 0xFE, 0x00, 0x05, b'a', b'b', b'c']);
        let sof = find_marker(&extended, 0xC3);
        extended.splice(sof..sof, [0xFF, 0xE1, 0x00, 0x04, 1, 2, 0xFF, 0xF3, 0x00, 0x02, 0xFF, 0x01]);
        assert_eq!(decode_vec(&extended).expect("still valid").1, expected);
        // Extra bytes after the entropy-coded data and before EOI are passed over.
        let mut padded = src.clone();
        let eoi = padded.len() - 2;
        padded.splice(eoi..eoi, [0xFF, 0xFF, 0xD0]);
        assert_eq!(decode_vec(&padded).expect("still valid").1, expected);
    }

    #[test]
    fn dnl_gives_the_height() {
        let src = sample_stream();
        let (params, expected) = decode_vec(&src).expect("valid");
        let mut dnl = src.clone();
        let sof = find_marker(&dnl, 0xC3);
        dnl[sof + 5..sof + 7].copy_from_slice(&[0, 0]);
        let eoi = dnl.len() - 2;
        dnl.splice(eoi..eoi, [0xFF, 0xDC, 0x00, 0x04, 0x00, 48]);
        let (with_dnl, out) = decode_vec(&dnl).expect("DNL");
        assert!(with_dnl.height_from_dnl);
        assert_eq!(with_dnl.height, params.height);
        assert_eq!(out, expected);
    }

    /// The one frame of a corpus file, or `None` (with a note) when the corpus is absent.
    fn corpus_stream(path: &str) -> Option<Vec<u8>> {
        let Some(dir) = corpus_dir() else {
            eprintln!("skipping: reference corpus not found next to the repository (../shared/data)");
            return None;
        };
        let file = DicomFile::open(&dir.join(path), &ParseOptions::default()).expect("scannable");
        Some(frame_streams(&file, 1).expect("one frame").remove(0))
    }

    /// Cut a codestream into its marker segments; a scan's segment includes its entropy-coded data
    /// (with any restart markers) up to the next other marker.
    fn segments(src: &[u8]) -> Vec<Vec<u8>> {
        let mut parts = vec![src[..2].to_vec()];
        let mut at = 2;
        while at + 1 < src.len() {
            assert_eq!(src[at], 0xFF, "marker expected at {at}");
            let code = src[at + 1];
            if code == 0xD9 {
                parts.push(src[at..at + 2].to_vec());
                break;
            }
            let mut end = at + 2 + usize::from(u16::from_be_bytes([src[at + 2], src[at + 3]]));
            if code == 0xDA {
                while !(src[end] == 0xFF && src[end + 1] != 0 && !(0xD0..=0xD7).contains(&src[end + 1])) {
                    end += 1;
                }
            }
            parts.push(src[at..end].to_vec());
            at = end;
        }
        parts
    }

    #[test]
    fn non_interleaved_scans_in_any_order_and_redefined_tables() {
        // Three one-component scans, each with its own table (0, 1, 2), restart interval 3 lines.
        let Some(stream) = corpus_stream("jpeg_lossless_restart/0010_rst3_p1_P8_86x67_c3_sep_noninterleaved_com.dcm") else { return };
        let (params, expected) = decode_vec(&stream).expect("decodes");
        assert!(!params.interleaved);
        assert_eq!((params.width, params.height, params.components), (67, 86, 3));
        assert_eq!(params.restart_interval, 3 * 67);

        let parts = segments(&stream);
        let find = |code: u8, nth: usize| parts.iter().filter(|p| p[1] == code).nth(nth).expect("segment").clone();
        let (dht, sos) = ([find(0xC4, 0), find(0xC4, 1), find(0xC4, 2)], [find(0xDA, 0), find(0xDA, 1), find(0xDA, 2)]);
        let head: Vec<u8> = parts.iter().filter(|p| ![0xC4, 0xDA, 0xD9].contains(&p[1])).flatten().copied().collect();

        // The scans in another order: component 3, then 1, then 2.
        let mut reordered = head.clone();
        for part in dht.iter().chain([&sos[2], &sos[0], &sos[1]]) {
            reordered.extend_from_slice(part);
        }
        reordered.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(decode_vec(&reordered).expect("reordered scans").1, expected);

        // Every scan uses table 0, redefined before each scan with the table it used to have.
        let mut redefined = head;
        for (table, scan) in dht.iter().zip(&sos) {
            let mut table = table.clone();
            table[4] &= 0xF0; // class 0, destination 0
            let mut scan = scan.clone();
            scan[6] &= 0x0F; // Td = 0
            redefined.extend_from_slice(&table);
            redefined.extend_from_slice(&scan);
        }
        assert_eq!(decode_vec(&redefined).expect("redefined tables").1, expected);
    }

    #[test]
    fn restart_markers_are_checked() {
        let Some(stream) = corpus_stream("jpeg_lossless_restart/0006_rst2_p1_P8_57x30_c1.dcm") else { return };
        let (params, expected) = decode_vec(&stream).expect("decodes");
        assert_eq!((params.width, params.restart_interval), (30, 2 * 30));
        let data = scan_data_start(&stream);
        let first = data + stream[data..].windows(2).position(|w| w == [0xFF, 0xD0]).expect("RST0");
        // RST1 where RST0 belongs.
        let mut wrong = stream.clone();
        wrong[first + 1] = 0xD1;
        let error = decode_vec(&wrong).expect_err("wrong restart marker");
        assert_eq!((error.kind, error.offset), (ErrorKind::Invalid, Some(first as u64)));
        // A missing restart marker.
        let mut missing = stream.clone();
        missing.drain(first..first + 2);
        assert!(decode_vec(&missing).is_err());
        // Fill bytes before a restart marker are allowed.
        let mut filled = stream.clone();
        filled.splice(first..first, [0xFF, 0xFF]);
        assert_eq!(decode_vec(&filled).expect("fill bytes").1, expected);
    }

    #[test]
    fn a_component_in_two_scans_is_invalid() {
        // A 1x1 frame of three components whose first scan codes component 1 only (one all-zero
        // code), followed by a second scan of component 1.
        let mut rgb = sample_rgb();
        let sof = find_marker(&rgb, 0xC3);
        rgb[sof + 5..sof + 9].copy_from_slice(&[0, 1, 0, 1]);
        let sos = find_marker(&rgb, 0xDA);
        let scan = [0xFF, 0xDA, 0x00, 0x08, 0x01, rgb[sos + 5], rgb[sos + 6], rgb[sos + 11], rgb[sos + 12], rgb[sos + 13]];
        let mut twice = rgb[..sos].to_vec();
        for _ in 0..2 {
            twice.extend_from_slice(&scan);
            twice.extend_from_slice(&[0; 8]);
        }
        twice.extend_from_slice(&[0xFF, 0xD9]);
        let error = decode_vec(&twice).expect_err("component twice");
        assert_eq!(error.kind, ErrorKind::Invalid);
        assert!(error.message.contains("second scan"), "{error}");
        // Without the second scan, the frame lacks two components.
        let mut once = rgb[..sos].to_vec();
        once.extend_from_slice(&scan);
        once.extend_from_slice(&[0; 8]);
        once.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(error_kind(&once), ErrorKind::Invalid);
        let mut no_eoi = once.clone();
        no_eoi.truncate(once.len() - 2);
        assert_eq!(error_kind(&no_eoi), ErrorKind::Truncated);
    }

    // ---------------------------------------------------------------------------------------------
    // Robustness: any input ends in Ok or Err, never a panic or a hang.

    /// Decode with a cap on the output size, as the fuzz target does.
    fn decode_capped(src: &[u8]) {
        if let Ok(params) = jpeg_lossless::parameters(src) {
            if let Some(len) = params.output_len().filter(|&n| n <= 1 << 20) {
                let mut out = vec![0u8; len];
                let _ = jpeg_lossless::decode(src, &mut out);
            }
        }
    }

    proptest! {
        // Each mutated case decodes a 61x48 frame; 1000 cases keep the debug-mode suite quick (the
        // fuzz target explores further).
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..512), soi in any::<bool>()) {
            if soi {
                bytes.splice(0..0, [0xFF, 0xD8]);
            }
            decode_capped(&bytes);
        }

        #[test]
        fn mutated_streams_never_panic(
            which in 0usize..4,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
        ) {
            let name = ["p1_P16_c1_61x48_large.jpg", "p4_P08_c3_61x48_large.jpg", "p7_P12_c1_61x48_large.jpg", "p6_P16_c1_14x9_pt1.jpg"][which];
            let mut src = vector_bytes(name);
            for (at, byte, op) in edits {
                let i = at.index(src.len());
                match op {
                    0 => src[i] = byte,
                    1 => src[i] ^= 1 << (byte % 8),
                    2 => src.insert(i, byte),
                    _ => { src.remove(i); }
                }
                if src.is_empty() {
                    break;
                }
            }
            decode_capped(&src);
        }

        #[test]
        fn truncations_never_panic(cut in any::<prop::sample::Index>(), which in 0usize..2) {
            let src = if which == 0 { sample_stream() } else { sample_rgb() };
            decode_capped(&src[..cut.index(src.len() + 1)]);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Throughput (run with: cargo test --release -p dicodec-core --test jpeg_lossless -- --ignored --nocapture)

    /// Nanoseconds this thread has run on a CPU, so that time spent descheduled on a busy machine
    /// does not count (Python's `time.thread_time_ns` reads the same clock); `None` off Linux.
    #[cfg(target_os = "linux")]
    fn thread_cpu_ns() -> Option<u64> {
        #[repr(C)]
        struct Timespec {
            seconds: i64,
            nanoseconds: i64,
        }
        extern "C" {
            fn clock_gettime(clock: i32, time: *mut Timespec) -> i32;
        }
        const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
        let mut time = Timespec { seconds: 0, nanoseconds: 0 };
        // SAFETY: clock_gettime only writes the struct it is given, which matches the C timespec on
        // 64-bit Linux; std links the C library that provides it. Needed because std has no
        // per-thread CPU clock and wall time on a shared machine measured other people's builds.
        let status = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &raw mut time) };
        if status != 0 || !cfg!(target_pointer_width = "64") {
            return None;
        }
        Some(u64::try_from(time.seconds).ok()? * 1_000_000_000 + u64::try_from(time.nanoseconds).ok()?)
    }

    #[cfg(not(target_os = "linux"))]
    fn thread_cpu_ns() -> Option<u64> {
        None
    }

    /// MB/s of output over `runs` decodes: (best, median), from thread CPU time where available.
    #[allow(clippy::cast_precision_loss)] // byte counts and nanoseconds as f64 for a printed rate
    fn throughput(src: &[u8], runs: usize) -> ((f64, f64), Parameters) {
        let params = jpeg_lossless::parameters(src).expect("valid");
        let mut out = vec![0u8; params.output_len().expect("fits")];
        jpeg_lossless::decode(src, &mut out).expect("decodes");
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let (cpu, wall) = (thread_cpu_ns(), Instant::now());
                jpeg_lossless::decode(src, &mut out).expect("decodes");
                match (cpu, thread_cpu_ns()) {
                    (Some(before), Some(after)) if after > before => (after - before) as f64 * 1e-9,
                    _ => wall.elapsed().as_secs_f64(),
                }
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let mbps = |t: f64| out.len() as f64 / t / 1e6;
        ((mbps(times[0]), mbps(times[runs / 2])), params)
    }

    #[test]
    #[ignore = "timing; run in release mode"]
    #[allow(clippy::cast_precision_loss)] // sizes as f64 for a printed ratio
    fn decode_throughput() {
        let mut streams: Vec<(String, Vec<u8>)> = Vec::new();
        if let Some(dir) = corpus_dir() {
            for (path, frames) in [
                ("jpeg_lossless_sv1/WG04_CT1_JPLL.dcm", 1),
                ("jpeg_lossless/CTImage_jpeg_lossless_57.dcm", 1),
                ("jpeg_lossless_sv1/CT0012.fragmented_no_bot_jpeg_lossless.70.dcm", 2),
                ("jpeg_lossless_sv1/WG04_MR2_JPLL.dcm", 1),
                ("jpeg_lossless_sv1/TestPattern_JPEG-Lossless_RGB.dcm", 1),
                ("jpeg_lossless_sv1/JPEGLosslessP14SV1_3s_2f_u_08_08.dcm", 2),
            ] {
                let file = DicomFile::open(&dir.join(path), &ParseOptions::default()).expect("scannable");
                streams.push((path.to_owned(), frame_streams(&file, frames).expect("frames").remove(0)));
            }
        }
        if let Ok(dir) = std::env::var("JPEG_LOSSLESS_BENCH_DIR") {
            // Extra codestreams (e.g. written by benchmarks/jpeg_lossless_vs_peers.py).
            let mut paths: Vec<_> = std::fs::read_dir(dir).expect("bench dir").flatten().map(|e| e.path()).collect();
            paths.sort();
            for path in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "jpg")) {
                streams.push((path.display().to_string(), std::fs::read(&path).expect("readable")));
            }
        }
        let runs = std::env::var("JPEG_LOSSLESS_BENCH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(51);
        eprintln!("MB/s of output, thread CPU time over {runs} decodes: best / median");
        for (name, src) in &streams {
            let ((best, median), p) = throughput(src, runs);
            let ratio = (p.output_len().unwrap_or(0)) as f64 / src.len() as f64;
            eprintln!(
                "{best:8.1} {median:8.1} MB/s  {}x{}x{} P{} SV{} {ratio:.2}:1  {name}",
                p.width, p.height, p.components, p.precision, p.predictor
            );
        }
    }
}
