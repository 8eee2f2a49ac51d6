//! The fuzz targets' property, run by `cargo test` on stable: mutations of real files through
//! the whole pixel pipeline (scan, describe, split frames, decode) never panic, and a decode
//! that succeeds fills exactly the frames' bytes.

use std::path::PathBuf;

use dicodec_core::parse::{Buffer, DicomFile, ParseOptions};
use dicodec_core::pixel::{decode_frames, DecodeOptions, PixelInfo};
use proptest::prelude::*;

const MAX_PIXEL_BYTES: usize = 16 << 20;

fn run(data: &[u8]) {
    let options = ParseOptions { force: true, ..ParseOptions::default() };
    let Ok(file) = DicomFile::parse(Buffer::Owned(data.to_vec()), &options) else { return };
    let Ok(info) = PixelInfo::from_dataset(&file, &file.index.root.clone(), MAX_PIXEL_BYTES) else { return };
    let frames: Vec<usize> = (0..info.frames).collect();
    let mut out = vec![0u8; info.frame_bytes() * frames.len()];
    let mut warnings = Vec::new();
    let _ = decode_frames(&file, &info, &frames, &mut out, DecodeOptions::default(), &mut warnings);
}

/// Small seeds: the bundled samples of the Python package, which every checkout has.
fn seeds() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../python/dicodec/samples");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "dcm") && std::fs::metadata(p).is_ok_and(|m| m.len() < 64 * 1024))
                .filter_map(|p| std::fs::read(p).ok())
                .collect()
        })
        .unwrap_or_default();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seed files in {}", dir.display());
    seeds
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Length(usize, [u8; 4]),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
        (any::<usize>(), prop_oneof![Just([0xFF; 4]), Just([0xFF, 0xFF, 0xFF, 0x7F]), Just([0; 4]), any::<[u8; 4]>()])
            .prop_map(|(at, bytes)| Mutation::Length(at, bytes)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_files_never_panic(seed in any::<usize>(), mutations in proptest::collection::vec(mutation(), 1..6)) {
        let seeds = seeds();
        let mut data = seeds[seed % seeds.len()].clone();
        for mutation in mutations {
            match mutation {
                Mutation::Flip(at, bit) if !data.is_empty() => {
                    let at = at % data.len();
                    data[at] ^= 1 << bit;
                }
                Mutation::Length(at, bytes) if data.len() >= 4 => {
                    let at = at % (data.len() - 3);
                    data[at..at + 4].copy_from_slice(&bytes);
                }
                Mutation::Truncate(at) if !data.is_empty() => data.truncate(at % data.len()),
                _ => {}
            }
        }
        run(&data);
    }
}

#[test]
fn seeds_decode_cleanly() {
    for seed in seeds() {
        run(&seed);
    }
}
