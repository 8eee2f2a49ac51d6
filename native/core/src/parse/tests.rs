//! Scanner edge cases on streams built byte by byte.

use super::*;
use crate::error::ErrorKind;

const UNDEFINED: u32 = UNDEFINED_LENGTH;

fn explicit(tag: u32, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
    out.extend_from_slice(&(tag as u16).to_le_bytes());
    out.extend_from_slice(vr);
    if Vr::from_bytes(*vr).is_some_and(Vr::has_long_length) {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(value);
    out
}

fn explicit_be(tag: u32, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((tag >> 16) as u16).to_be_bytes());
    out.extend_from_slice(&(tag as u16).to_be_bytes());
    out.extend_from_slice(vr);
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    out
}

fn implicit(tag: u32, length: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
    out.extend_from_slice(&(tag as u16).to_le_bytes());
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(value);
    out
}

fn undefined_sequence(tag: u32, vr: &[u8; 2], items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
    out.extend_from_slice(&(tag as u16).to_le_bytes());
    out.extend_from_slice(vr);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&UNDEFINED.to_le_bytes());
    for item in items {
        out.extend(implicit(0xFFFE_E000, UNDEFINED, item));
        out.extend(implicit(0xFFFE_E00D, 0, &[]));
    }
    out.extend(implicit(0xFFFE_E0DD, 0, &[]));
    out
}

fn part10(syntax: &str, dataset: &[u8]) -> Vec<u8> {
    let mut uid = syntax.as_bytes().to_vec();
    if uid.len() % 2 == 1 {
        uid.push(0);
    }
    let meta = explicit(0x0002_0010, b"UI", &uid);
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    out.extend(explicit(0x0002_0000, b"UL", &(meta.len() as u32).to_le_bytes()));
    out.extend(meta);
    out.extend_from_slice(dataset);
    out
}

fn parse(bytes: Vec<u8>) -> Result<DicomFile> {
    DicomFile::parse(Buffer::Owned(bytes), &ParseOptions::default())
}

fn parse_with(bytes: Vec<u8>, options: &ParseOptions) -> Result<DicomFile> {
    DicomFile::parse(Buffer::Owned(bytes), options)
}

fn root(file: &DicomFile) -> &[Element] {
    file.index.dataset(&file.index.root)
}

fn items<'a>(file: &'a DicomFile, element: &Element) -> &'a [Item] {
    let Children::Items(range) = &element.children else { panic!("not a sequence: {element:?}") };
    &file.index.items[range.start as usize..range.end as usize]
}

#[test]
fn explicit_le_offsets_and_lengths() {
    let mut data = explicit(0x0010_0010, b"PN", b"Doe^John");
    data.extend(explicit(0x0028_0010, b"US", &512u16.to_le_bytes()));
    let bytes = part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &data);
    let start = bytes.len() - data.len();
    let file = parse(bytes).unwrap();
    assert_eq!(file.transfer_syntax, syntax::EXPLICIT_VR_LITTLE_ENDIAN);
    assert!(file.has_preamble && file.warnings.is_empty());
    let elements = root(&file);
    assert_eq!(elements.len(), 2);
    assert_eq!((elements[0].tag, elements[0].vr), (Tag(0x0010_0010), Vr::PN));
    assert_eq!(elements[0].header_offset, start);
    assert_eq!(elements[0].value_offset, start + 8);
    assert_eq!(file.value_bytes(&elements[0]), b"Doe^John");
    assert_eq!(file.value_bytes(&elements[1]), &512u16.to_le_bytes());
    assert_eq!(file.index.dataset(&file.index.meta).len(), 2);
}

#[test]
fn implicit_vr_comes_from_the_dictionary() {
    let mut data = implicit(0x0009_0010, 8, b"CREATOR ");
    data.extend(implicit(0x0009_1001, 4, b"\x01\x02\x03\x04"));
    data.extend(implicit(0x0010_0010, 8, b"Doe^John"));
    data.extend(implicit(0x0028_0103, 2, &1u16.to_le_bytes()));
    data.extend(implicit(0x0028_0106, 2, &(-5i16).to_le_bytes()));
    data.extend(implicit(0x7FE0_0010, 4, &[0; 4]));
    let file = parse(part10(syntax::IMPLICIT_VR_LITTLE_ENDIAN, &data)).unwrap();
    let vrs: Vec<Vr> = root(&file).iter().map(|e| e.vr).collect();
    // Private creator LO, private data UN, "US or SS" settled by Pixel Representation, pixels OW.
    assert_eq!(vrs, [Vr::LO, Vr::UN, Vr::PN, Vr::US, Vr::SS, Vr::OW]);
}

#[test]
fn big_endian_lengths_and_tags() {
    let mut data = explicit_be(0x0028_0010, b"US", &512u16.to_be_bytes());
    data.extend(explicit_be(0x0028_0011, b"US", &256u16.to_be_bytes()));
    let file = parse(part10(syntax::EXPLICIT_VR_BIG_ENDIAN, &data)).unwrap();
    assert!(file.encoding.big_endian);
    let elements = root(&file);
    assert_eq!(elements[0].tag, Tag(0x0028_0010));
    assert_eq!(crate::value::binary_values::<u16>(file.value_bytes(&elements[1]), true), [256]);
}

#[test]
fn nested_sequences_of_both_lengths() {
    let inner = explicit(0x0010_0020, b"LO", b"ID");
    let nested = undefined_sequence(0x0008_1140, b"SQ", &[inner.clone()]);
    let mut defined_item = implicit(0xFFFE_E000, inner.len() as u32, &inner);
    defined_item.extend(implicit(0xFFFE_E000, 0, &[]));
    let mut data = explicit(0x0008_1115, b"SQ", &defined_item);
    data.extend(undefined_sequence(0x0008_1120, b"SQ", &[nested, inner]));
    let file = parse(part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &data)).unwrap();
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
    let elements = root(&file);
    let defined = items(&file, &elements[0]);
    assert_eq!(defined.len(), 2);
    assert_eq!(file.index.dataset(&defined[0].elements)[0].tag, Tag(0x0010_0020));
    assert!(defined[1].elements.is_empty());
    let undefined = items(&file, &elements[1]);
    assert_eq!(undefined.len(), 2);
    let first = file.index.dataset(&undefined[0].elements);
    assert_eq!(first[0].vr, Vr::SQ);
    assert_eq!(items(&file, &first[0]).len(), 1);
    assert!(elements[1].has_undefined_length());
}

#[test]
fn skip_sequences_steps_over_defined_lengths_only() {
    let inner = explicit(0x0010_0020, b"LO", b"ID");
    // A defined-length sequence whose item holds bytes that are no element at all.
    let garbage_item = implicit(0xFFFE_E000, 8, b"\x01\x02XXjunk");
    let nested_defined = explicit(0x0008_1140, b"SQ", &implicit(0xFFFE_E000, inner.len() as u32, &inner));
    let mut data = explicit(0x0008_1115, b"SQ", &garbage_item);
    data.extend(undefined_sequence(0x0008_1120, b"SQ", &[nested_defined]));
    data.extend(explicit(0x0028_0010, b"US", &512u16.to_le_bytes()));
    let bytes = part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &data);
    assert_eq!(parse(bytes.clone()).err().map(|e| e.kind), Some(ErrorKind::Invalid));

    let file = parse_with(bytes, &ParseOptions { skip_sequences: SkipSequences::All, ..ParseOptions::default() }).unwrap();
    let elements = root(&file);
    let tags: Vec<u32> = elements.iter().map(|e| e.tag.0).collect();
    assert_eq!(tags, [0x0008_1115, 0x0008_1120, 0x0028_0010]);
    assert_eq!((elements[0].children.clone(), elements[0].value_len), (Children::Unread, garbage_item.len()));
    // Only walking the items of an undefined-length sequence finds its end: it is read, and
    // the defined-length sequence inside it stepped over.
    let undefined = items(&file, &elements[1]);
    assert_eq!(undefined.len(), 1);
    assert_eq!(file.index.dataset(&undefined[0].elements)[0].children, Children::Unread);
    assert_eq!(file.value_bytes(&elements[2]), &512u16.to_le_bytes());
}

#[test]
fn un_of_undefined_length_is_an_implicit_sequence() {
    let inner = implicit(0x0010_0020, 2, b"ID");
    let data = undefined_sequence(0x0009_1010, b"UN", &[inner]);
    let file = parse(part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &data)).unwrap();
    let element = &root(&file)[0];
    assert_eq!(element.vr, Vr::SQ);
    assert_eq!(element.encoding, Encoding::IMPLICIT_LE);
    let item = &items(&file, element)[0];
    let nested = &file.index.dataset(&item.elements)[0];
    assert_eq!((nested.tag, nested.vr), (Tag(0x0010_0020), Vr::LO));
}

#[test]
fn public_un_is_typed_from_the_dictionary() {
    let data = explicit(0x0028_0010, b"UN", &512u16.to_le_bytes());
    let file = parse(part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &data)).unwrap();
    assert_eq!(root(&file)[0].vr, Vr::US);
}

#[test]
fn encapsulated_fragments_are_indexed_not_read() {
    let mut pixel = Vec::new();
    pixel.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00]);
    pixel.extend_from_slice(b"OB\0\0");
    pixel.extend_from_slice(&UNDEFINED.to_le_bytes());
    pixel.extend(implicit(0xFFFE_E000, 0, &[]));
    pixel.extend(implicit(0xFFFE_E000, 4, b"abcd"));
    pixel.extend(implicit(0xFFFE_E000, 2, b"ef"));
    pixel.extend(implicit(0xFFFE_E0DD, 0, &[]));
    let mut data = explicit(0x0028_0010, b"US", &1u16.to_le_bytes());
    data.extend(pixel);
    data.extend(explicit(0xFFFA_FFFA, b"SQ", &[]));
    let file = parse(part10("1.2.840.10008.1.2.5", &data)).unwrap();
    let elements = root(&file);
    assert_eq!(elements.len(), 3, "the element after the pixel data is found");
    let Children::Fragments(range) = &elements[1].children else { panic!() };
    let fragments = &file.index.fragments[range.start as usize..range.end as usize];
    let contents: Vec<&[u8]> = fragments.iter().map(|&f| file.fragment_bytes(f)).collect();
    assert_eq!(contents, [&b""[..], b"abcd", b"ef"]);
}

#[test]
fn stop_before_pixels_and_stop_at() {
    let mut data = explicit(0x0010_0010, b"PN", b"Doe^John");
    data.extend(explicit(0x0028_0010, b"US", &1u16.to_le_bytes()));
    data.extend(explicit(0x7FE0_0010, b"OW", &[0; 8]));
    let bytes = part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &data);
    let options = ParseOptions { stop_before_pixels: true, ..ParseOptions::default() };
    let file = parse_with(bytes.clone(), &options).unwrap();
    assert!(file.stopped_early);
    assert_eq!(root(&file).last().unwrap().tag, Tag(0x0028_0010));
    let options = ParseOptions { stop_at: Some(Tag(0x0028_0000)), ..ParseOptions::default() };
    let file = parse_with(bytes, &options).unwrap();
    assert_eq!(root(&file).len(), 1);
}

#[test]
fn a_value_past_the_end_is_a_truncation_error_with_its_location() {
    let mut bytes = part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &explicit(0x0010_0010, b"PN", b"Doe^John"));
    bytes.truncate(bytes.len() - 3);
    let header = bytes.len() - 5 - 8;
    let err = parse(bytes).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Truncated);
    assert_eq!(err.tag, Some(Tag(0x0010_0010)));
    assert_eq!(err.offset, Some(header as u64));
    assert!(err.to_string().starts_with("(0010,0010) 'Patient's Name': value needs 8 bytes but only 5 remain"), "{err}");
}

#[test]
fn short_pixel_data_is_kept_with_a_warning() {
    let mut bytes = part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &explicit(0x7FE0_0010, b"OW", &[1; 16]));
    bytes.truncate(bytes.len() - 6);
    let file = parse(bytes).unwrap();
    assert_eq!(root(&file)[0].value_len, 10);
    assert!(file.warnings[0].message.contains("only 10 remain"));
}

#[test]
fn an_item_cannot_claim_more_than_its_sequence() {
    let item = implicit(0xFFFE_E000, 100, &explicit(0x0010_0020, b"LO", b"ID"));
    let bytes = part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &explicit(0x0008_1115, b"SQ", &item));
    assert_eq!(parse(bytes).unwrap_err().kind, ErrorKind::Truncated);
}

#[test]
fn nesting_is_limited() {
    let mut body = explicit(0x0010_0020, b"LO", b"ID");
    for _ in 0..100 {
        body = undefined_sequence(0x0008_1115, b"SQ", &[body]);
    }
    let bytes = part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &body);
    assert_eq!(parse(bytes.clone()).unwrap_err().kind, ErrorKind::Limit);
    let deep = ParseOptions { max_depth: 200, ..ParseOptions::default() };
    assert!(parse_with(bytes, &deep).is_ok());
}

#[test]
fn odd_lengths_trailing_bytes_and_missing_delimiters_are_warnings() {
    let mut data = explicit(0x0010_0020, b"LO", b"ABC");
    data.extend_from_slice(&[0, 0, 0]);
    let file = parse(part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &data)).unwrap();
    let messages: Vec<&str> = file.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(messages[0].contains("odd value length 3"), "{messages:?}");
    assert!(messages[1].contains("3 trailing zero bytes"), "{messages:?}");

    // A header cut short is not padding.
    let mut cut = part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &explicit(0x0010_0020, b"LO", b"AB"));
    cut.extend_from_slice(&[0x10, 0x00, 0x30]);
    assert_eq!(parse(cut).unwrap_err().kind, ErrorKind::Truncated);

    // An undefined-length item closed by the sequence delimiter alone.
    let mut seq = Vec::new();
    seq.extend_from_slice(&[0x08, 0x00, 0x15, 0x11]);
    seq.extend_from_slice(b"SQ\0\0");
    seq.extend_from_slice(&UNDEFINED.to_le_bytes());
    seq.extend(implicit(0xFFFE_E000, UNDEFINED, &explicit(0x0010_0020, b"LO", b"ID")));
    seq.extend(implicit(0xFFFE_E0DD, 0, &[]));
    let file = parse(part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &seq)).unwrap();
    assert_eq!(items(&file, &root(&file)[0]).len(), 1);
    assert!(file.warnings.iter().any(|w| w.message.contains("without an Item Delimitation Item")));
}

#[test]
fn unordered_and_repeated_tags_are_sorted_and_deduplicated() {
    let mut data = explicit(0x0010_0020, b"LO", b"B1");
    data.extend(explicit(0x0010_0010, b"PN", b"A^"));
    data.extend(explicit(0x0010_0020, b"LO", b"B2"));
    let file = parse(part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &data)).unwrap();
    let elements = root(&file);
    assert_eq!(elements.len(), 2);
    assert_eq!(file.value_bytes(&elements[1]), b"B2");
    assert_eq!(file.index.find(&file.index.root, Tag(0x0010_0020)), Some(file.index.root.start + 1));
}

#[test]
fn declared_explicit_but_written_implicit() {
    let data = implicit(0x0010_0010, 8, b"Doe^John");
    let file = parse(part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &data)).unwrap();
    assert!(!file.encoding.explicit_vr);
    assert_eq!(root(&file)[0].vr, Vr::PN);
    assert!(file.warnings[0].message.contains("implicit"));
}

#[test]
fn deflated_data_sets_inflate_behind_the_meta() {
    use std::io::Write;
    let data = explicit(0x0010_0010, b"PN", b"Doe^John");
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&data).unwrap();
    let file = parse(part10(syntax::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, &encoder.finish().unwrap())).unwrap();
    assert!(file.deflated);
    assert_eq!(file.value_bytes(&root(&file)[0]), b"Doe^John");

    let mut bomb = part10(syntax::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, &[]);
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; 1 << 20]).unwrap();
    bomb.extend(encoder.finish().unwrap());
    let small = ParseOptions { max_inflated_bytes: 1 << 16, ..ParseOptions::default() };
    assert_eq!(parse_with(bomb, &small).unwrap_err().kind, ErrorKind::Limit);
}

#[test]
fn bare_data_sets_need_force_and_are_guessed() {
    let data = explicit_be(0x0008_0060, b"CS", b"CT");
    assert_eq!(parse(data.clone()).unwrap_err().kind, ErrorKind::Invalid);
    let file = parse_with(data, &ParseOptions { force: true, ..ParseOptions::default() }).unwrap();
    assert_eq!(file.transfer_syntax, syntax::EXPLICIT_VR_BIG_ENDIAN);
    assert_eq!(file.value_bytes(&root(&file)[0]), b"CT");
}

#[test]
fn arbitrary_bytes_never_panic() {
    use proptest::prelude::*;
    let seed = part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &explicit(0x0010_0010, b"PN", b"Doe^John"));
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    runner
        .run(&(proptest::collection::vec(any::<u8>(), 0..400), 0..seed.len(), any::<u8>()), |(noise, at, byte)| {
            let options = ParseOptions { force: true, ..ParseOptions::default() };
            let _ = parse_with(noise, &options);
            let mut mutated = seed.clone();
            mutated[at] = byte;
            if let Ok(file) = parse_with(mutated, &options) {
                for element in &file.index.elements {
                    prop_assert!(element.value_range().end <= file.bytes().len());
                }
            }
            Ok(())
        })
        .unwrap();
}

/// A file on disk for the tests that open paths; removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> Self {
        let path = std::env::temp_dir().join(format!("dicodec-{}-{name}.dcm", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Patient Name and a sequence, then pixel data, then a sequence and padding after it.
fn file_with_elements_after_the_pixels() -> Vec<u8> {
    let header = [
        explicit(0x0010_0010, b"PN", b"Doe^J "),
        undefined_sequence(0x0040_0275, b"SQ", &[explicit(0x0040_0009, b"SH", b"ST")]),
    ]
    .concat();
    let pixels = explicit(0x7FE0_0010, b"OW", &[1, 2, 3, 4]);
    let trailer = [
        undefined_sequence(0xFFFA_FFFA, b"SQ", &[explicit(0x0400_0015, b"CS", b"MD")]),
        explicit(0xFFFC_FFFC, b"OB", &[0, 0]),
    ]
    .concat();
    part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &[header, pixels, trailer].concat())
}

fn tags_of(file: &DicomFile, range: &Range<u32>) -> Vec<u32> {
    file.index.dataset(range).iter().map(|e| e.tag.0).collect()
}

#[test]
fn header_first_files_read_the_rest_on_demand_and_keep_positions() {
    let temp = TempFile::new("lazy", &file_with_elements_after_the_pixels());
    let lazy = LazyFile::open(&temp.0, &ParseOptions::default(), true).unwrap();
    let header = lazy.current();
    assert!(!header.buffer().is_mapped(), "the header is read, not mapped");
    let header_root = header.index.root.clone();
    let header_elements = header.index.elements.clone();
    assert_eq!(tags_of(header, &header_root), [0x0010_0010, 0x0040_0275]);

    // A tag before the pixel data: the header answers, nothing more is read.
    let (file, range) = lazy.resolve(header_root.clone(), Some(Tag::new(0x0010, 0x0010))).unwrap();
    assert!(file.index.find(&range, Tag::new(0x0010, 0x0010)).is_some());
    assert!(!lazy.current().buffer().is_mapped());

    // The pixel data, or the list of every tag: the whole file, mapped.
    let (whole, range) = lazy.resolve(header_root.clone(), Some(Tag::PIXEL_DATA)).unwrap();
    assert!(whole.buffer().is_mapped());
    assert!(whole.index.find(&range, Tag::PIXEL_DATA).is_some());
    let (whole, range) = lazy.resolve(header_root.clone(), None).unwrap();
    assert_eq!(tags_of(whole, &range), [0x0010_0010, 0x0040_0275, 0x7FE0_0010, 0xFFFA_FFFA, 0xFFFC_FFFC]);
    // Positions handed out for the header name the same elements in the whole file.
    assert_eq!(whole.index.elements[..header_elements.len()], header_elements[..]);
    assert_eq!(tags_of(whole, &header_root), [0x0010_0010, 0x0040_0275]);

    // The same data set a plain open finds.
    let plain = DicomFile::open(&temp.0, &ParseOptions::default()).unwrap();
    assert_eq!(tags_of(&plain, &plain.index.root), tags_of(whole, &range));
    assert_eq!(nested_tags(&plain, &plain.index.root), nested_tags(whole, &range));
}

#[test]
fn header_first_reads_stay_whole_where_they_must() {
    let temp = TempFile::new("eager", &file_with_elements_after_the_pixels());
    // Without a map the file is read at once (immune to later changes); with a stop option
    // the header is all there is.
    let read = LazyFile::open(&temp.0, &ParseOptions::default(), false).unwrap();
    assert_eq!(tags_of(read.current(), &read.current().index.root).len(), 5);
    let stop = ParseOptions { stop_before_pixels: true, ..ParseOptions::default() };
    let header = LazyFile::open(&temp.0, &stop, true).unwrap();
    let (file, range) = header.resolve(header.current().index.root.clone(), None).unwrap();
    assert_eq!(tags_of(file, &range), [0x0010_0010, 0x0040_0275]);
}

/// Top-level sequences of defined length around an undefined one, each nesting a sequence of
/// defined length; Pixel Data follows.
fn file_with_defined_sequences() -> Vec<u8> {
    let inner = explicit(0x0010_0020, b"LO", b"ID");
    let nested = explicit(0x0008_1140, b"SQ", &implicit(0xFFFE_E000, inner.len() as u32, &inner));
    let item = [nested.clone(), explicit(0x0028_0103, b"US", &1u16.to_le_bytes())].concat();
    let dataset = [
        explicit(0x0008_1115, b"SQ", &implicit(0xFFFE_E000, item.len() as u32, &item)),
        undefined_sequence(0x0008_1120, b"SQ", &[nested]),
        explicit(0x0010_0010, b"PN", b"Doe^J "),
        explicit(0x0040_0275, b"SQ", &[implicit(0xFFFE_E000, inner.len() as u32, &inner), implicit(0xFFFE_E000, 0, &[])].concat()),
        explicit(0x7FE0_0010, b"OW", &[1, 2, 3, 4]),
    ];
    part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &dataset.concat())
}

/// The tags of every item of every sequence in the data set `range`, depth first.
fn nested_tags(file: &DicomFile, range: &Range<u32>) -> Vec<Vec<u32>> {
    let mut found = Vec::new();
    for element in file.index.dataset(range).iter().filter(|e| e.vr == Vr::SQ) {
        for item in items(file, element) {
            found.push(tags_of(file, &item.elements));
            found.extend(nested_tags(file, &item.elements));
        }
    }
    found
}

#[test]
fn header_reads_step_over_sequences_and_read_them_when_asked() {
    let temp = TempFile::new("sequences", &file_with_defined_sequences());
    let stop = ParseOptions { stop_before_pixels: true, ..ParseOptions::default() };
    let eager = DicomFile::read_header(&temp.0, &stop).unwrap();
    let lazy = LazyFile::open(&temp.0, &stop, true).unwrap();
    let header = lazy.current();
    let header_root = header.index.root.clone();
    let header_elements = header.index.elements.clone();
    let children: Vec<Children> = header.index.dataset(&header_root).iter().map(|e| e.children.clone()).collect();
    // Defined lengths are stepped over; only walking an undefined one finds its end, and
    // what it holds is read with it, nested sequences of defined length too.
    assert_eq!(children[0], Children::Unread);
    assert_eq!(children[3], Children::Unread);
    let undefined = &header.index.dataset(&header_root)[1];
    let nested = header.index.dataset(&items(header, undefined)[0].elements);
    assert_eq!(nested[0].tag, Tag(0x0008_1140));
    assert_eq!(items(header, &nested[0]).len(), 1);

    // Questions about the top-level data set need no items.
    let (file, range) = lazy.resolve(header_root.clone(), None).unwrap();
    assert_eq!(tags_of(file, &range), tags_of(&eager, &eager.index.root));
    assert_eq!(lazy.current().index.elements.len(), header_elements.len(), "nothing more was read");

    // A stepped-over sequence, asked for by its header position: its items, read now.
    let (file, element) = lazy.element(header_root.start).unwrap().unwrap();
    assert_eq!(element.tag, Tag(0x0008_1115));
    assert_eq!(items(file, element).len(), 1);
    // Positions handed out before name the same elements; the data set resolves to its
    // complete version, which holds what an eager scan finds, nested sequences included.
    let whole = lazy.current();
    assert_eq!(whole.index.elements[..header_elements.len()], header_elements[..]);
    let (file, range) = lazy.resolve(header_root.clone(), None).unwrap();
    assert_eq!(tags_of(file, &range), tags_of(&eager, &eager.index.root));
    assert_eq!(nested_tags(file, &range), nested_tags(&eager, &eager.index.root));
    assert_eq!(nested_tags(file, &range)[..2], [vec![0x0008_1140, 0x0028_0103], vec![0x0010_0020]]);
    assert_eq!(nested_tags(file, &range).len(), 6);

    // A read past the pixel data reads the items at once: reading them later would copy the
    // pixel data with the rest of what was read.
    let past_pixels = ParseOptions { stop_at: Some(Tag::new(0x7FE0, 0x0011)), ..ParseOptions::default() };
    let past = LazyFile::open(&temp.0, &past_pixels, true).unwrap();
    let file = past.current();
    assert!(file.index.find(&file.index.root, Tag::PIXEL_DATA).is_some());
    assert!(file.index.dataset(&file.index.root).iter().all(|e| e.children != Children::Unread));
    assert_eq!(nested_tags(file, &file.index.root), nested_tags(&eager, &eager.index.root));
}

#[test]
fn a_broken_sequence_in_a_header_read_fails_when_asked_for_and_nothing_else_does() {
    let inner = explicit(0x0010_0020, b"LO", b"ID");
    let garbage_item = implicit(0xFFFE_E000, 8, b"\x01\x02XXjunk");
    let dataset = [
        explicit(0x0008_1115, b"SQ", &garbage_item),
        explicit(0x0008_1140, b"SQ", &implicit(0xFFFE_E000, inner.len() as u32, &inner)),
        explicit(0x0010_0010, b"PN", b"Doe^J "),
    ];
    let bytes = part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &dataset.concat());
    let temp = TempFile::new("broken-sequence", &bytes);
    let stop = ParseOptions { stop_before_pixels: true, ..ParseOptions::default() };
    assert_eq!(DicomFile::read_header(&temp.0, &stop).err().map(|e| e.kind), Some(ErrorKind::Invalid));

    let lazy = LazyFile::open(&temp.0, &stop, true).unwrap();
    let root = lazy.current().index.root.clone();
    let error = lazy.element(root.start).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Invalid);
    // The VR of the item's first "element", past the sequence's and the item's headers.
    let vr_offset = bytes.len() - dataset.concat().len() + 12 + 8 + 4;
    assert_eq!((error.tag, error.offset), (Some(Tag::new(0x0201, 0x5858)), Some(vr_offset as u64)), "{error}");
    // Asked again, the same error; the sound sequence reads, and the top-level data set
    // still answers, with a warning that names the damaged sequence.
    assert_eq!(lazy.element(root.start).unwrap_err().offset, Some(vr_offset as u64));
    let (file, sound) = lazy.element(root.start + 1).unwrap().unwrap();
    assert_eq!(tags_of(file, &items(file, sound)[0].elements), [0x0010_0020]);
    let (file, range) = lazy.resolve(root.clone(), Some(Tag::new(0x0010, 0x0010))).unwrap();
    assert_eq!(file.value_bytes(&file.index.elements[file.index.find(&range, Tag::new(0x0010, 0x0010)).unwrap() as usize]), b"Doe^J ");
    assert_eq!(tags_of(lazy.current(), &root), [0x0008_1115, 0x0008_1140, 0x0010_0010]);
    let warnings = &lazy.whole().unwrap().warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!((warnings[0].tag, warnings[0].offset), (Some(Tag(0x0008_1115)), bytes.len() - dataset.concat().len()));
    assert!(warnings[0].message.contains("cannot be read"), "{warnings:?}");
}

#[test]
fn warnings_are_in_stream_order_however_the_items_were_read() {
    // Odd lengths before, inside and after a sequence: a header read meets the one inside
    // last, and lists it where a whole read does.
    let inner = explicit(0x0010_0020, b"LO", b"ODD");
    let dataset = [
        explicit(0x0008_0070, b"LO", b"ODD"),
        explicit(0x0008_1140, b"SQ", &implicit(0xFFFE_E000, inner.len() as u32, &inner)),
        explicit(0x0010_0010, b"PN", b"ODD"),
    ];
    let temp = TempFile::new("warnings-order", &part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &dataset.concat()));
    let whole = DicomFile::open(&temp.0, &ParseOptions::default()).unwrap();
    let offsets = |warnings: &[Warning]| warnings.iter().map(|w| w.offset).collect::<Vec<_>>();
    // Four: the sequence's own length is odd too.
    assert_eq!(whole.warnings.len(), 4, "{:?}", whole.warnings);
    assert!(offsets(&whole.warnings).is_sorted());
    let lazy = LazyFile::open(&temp.0, &ParseOptions { stop_before_pixels: true, ..ParseOptions::default() }, true).unwrap();
    assert_eq!(lazy.current().warnings.len(), 3, "the item is not read yet");
    assert_eq!(offsets(&lazy.whole().unwrap().warnings), offsets(&whole.warnings));
}

#[test]
fn a_file_changed_after_its_header_was_read_is_an_error() {
    let bytes = file_with_elements_after_the_pixels();
    let temp = TempFile::new("changed", &bytes);
    let lazy = LazyFile::open(&temp.0, &ParseOptions::default(), true).unwrap();
    let at = bytes.windows(6).position(|w| w == b"Doe^J ").unwrap();
    let mut changed = bytes.clone();
    changed[at] = b'R';
    std::fs::write(&temp.0, changed).unwrap();
    let error = lazy.whole().unwrap_err();
    assert_eq!(error.kind, ErrorKind::Invalid);
    assert!(error.to_string().contains("changed"), "{error}");
}

/// An RLE Lossless data set (one row of 8-bit samples a frame) whose frames are these
/// fragments, with a Basic Offset Table holding `basic` (none when empty) and an Extended
/// Offset Table holding `extended` (none when empty), then an element after the pixel data.
fn encapsulated_frames(frames: &[&[&[u8]]], basic: &[u32], extended: &[u64]) -> Vec<u8> {
    let mut data = explicit(0x0028_0002, b"US", &1u16.to_le_bytes());
    data.extend(explicit(0x0028_0004, b"CS", b"MONOCHROME2 "));
    data.extend(explicit(0x0028_0008, b"IS", format!("{:<2}", frames.len()).as_bytes()));
    data.extend(explicit(0x0028_0010, b"US", &1u16.to_le_bytes()));
    data.extend(explicit(0x0028_0011, b"US", &2u16.to_le_bytes()));
    data.extend(explicit(0x0028_0100, b"US", &8u16.to_le_bytes()));
    data.extend(explicit(0x0028_0103, b"US", &0u16.to_le_bytes()));
    if !extended.is_empty() {
        data.extend(explicit(0x7FE0_0001, b"OV", &extended.iter().flat_map(|o| o.to_le_bytes()).collect::<Vec<_>>()));
        data.extend(explicit(0x7FE0_0002, b"OV", &vec![0; 8 * extended.len()]));
    }
    data.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00]);
    data.extend_from_slice(b"OB\0\0");
    data.extend_from_slice(&UNDEFINED.to_le_bytes());
    data.extend(implicit(0xFFFE_E000, 4 * basic.len() as u32, &basic.iter().flat_map(|o| o.to_le_bytes()).collect::<Vec<_>>()));
    for fragment in frames.iter().flat_map(|f| f.iter()) {
        data.extend(implicit(0xFFFE_E000, fragment.len() as u32, fragment));
    }
    data.extend(implicit(0xFFFE_E0DD, 0, &[]));
    data.extend(explicit(0xFFFA_FFFA, b"SQ", &[]));
    part10("1.2.840.10008.1.2.5", &data)
}

/// Where each frame of `frames` starts, counted from the first item after the table.
fn frame_offsets(frames: &[&[&[u8]]]) -> Vec<u32> {
    let sizes = frames.iter().map(|f| f.iter().map(|fragment| 8 + fragment.len() as u32).sum::<u32>());
    sizes.scan(0, |at, size| Some(std::mem::replace(at, *at + size))).collect()
}

fn pixel_element(file: &DicomFile) -> &Element {
    root(file).iter().find(|e| e.tag == Tag::PIXEL_DATA).unwrap()
}

fn indexed_items(file: &DicomFile) -> usize {
    let Children::Fragments(range) = &pixel_element(file).children else { panic!("not encapsulated") };
    range.len()
}

/// Each frame's fragments as read by the pixel module, or the error reading them gave.
fn frames_read(file: &DicomFile) -> Vec<Result<Vec<Vec<u8>>>> {
    let info = crate::pixel::PixelInfo::from_dataset(file, &file.index.root, usize::MAX).unwrap();
    let table = crate::pixel::FrameTable::new(file, pixel_element(file), &info).unwrap();
    (0..info.frames)
        .map(|frame| Ok(table.fragments(file, frame)?.iter().map(|&f| file.fragment_bytes(f).to_vec()).collect()))
        .collect()
}

const FRAMES: [&[&[u8]]; 4] = [&[b"ab", b"cd"], &[b"ef"], &[b"gh", b"ij", b"kl"], &[b"mn", b"op"]];

#[test]
fn offset_tables_let_the_scan_step_over_all_frames_but_the_last() {
    let offsets = frame_offsets(&FRAMES);
    let extended: Vec<u64> = offsets.iter().map(|&o| u64::from(o)).collect();
    for (basic, extended) in [(&offsets[..], &[][..]), (&[][..], &extended[..])] {
        let file = parse(encapsulated_frames(&FRAMES, basic, extended)).unwrap();
        assert_eq!(root(&file).last().unwrap().tag, Tag(0xFFFA_FFFA), "the element after the pixel data is found");
        assert_eq!(indexed_items(&file), 1 + 2, "the table and the last frame's two fragments");
        let read: Vec<Vec<Vec<u8>>> = frames_read(&file).into_iter().map(Result::unwrap).collect();
        let expected: Vec<Vec<Vec<u8>>> = FRAMES.iter().map(|f| f.iter().map(|s| s.to_vec()).collect()).collect();
        assert_eq!(read, expected);
        let items = crate::pixel::encapsulated_items(&file, pixel_element(&file)).unwrap();
        assert_eq!(items.len(), 1 + 8, "every item is listed when asked for");
    }
    // Without a table every item is indexed as the scan goes.
    let file = parse(encapsulated_frames(&[&[b"ab"], &[b"cd"]], &[], &[])).unwrap();
    assert_eq!(indexed_items(&file), 3);
}

#[test]
fn a_wrong_offset_table_entry_fails_only_the_frames_it_bounds() {
    let mut offsets = frame_offsets(&FRAMES);
    // Frame 1 said to start inside the header of frame 0's second item.
    offsets[1] = 12;
    let file = parse(encapsulated_frames(&FRAMES, &offsets, &[])).unwrap();
    let read = frames_read(&file);
    let error = read[0].as_ref().unwrap_err();
    assert!(error.to_string().contains("offset table entry of frame 1 does not point at an item"), "{error}");
    assert!(read[1].as_ref().unwrap_err().to_string().contains("expected an Item tag"));
    assert!(read[2].is_ok() && read[3].is_ok());
}

#[test]
fn an_offset_table_pointing_at_bytes_like_an_item_is_not_followed() {
    // Frame 2's data looks like an item that runs past the end of the file; the table says
    // the last frame starts there.
    let fake: &[u8] = &[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0x7F];
    let frames: [&[&[u8]]; 4] = [&[b"ab"], &[b"cd"], &[fake], &[b"ef"]];
    let mut offsets = frame_offsets(&frames);
    offsets[3] = offsets[2] + 8;
    let file = parse(encapsulated_frames(&frames, &offsets, &[])).unwrap();
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
    assert_eq!(indexed_items(&file), 1 + 4, "every item walked instead");
    assert_eq!(root(&file).last().unwrap().tag, Tag(0xFFFA_FFFA));
    let read = frames_read(&file);
    assert_eq!(read[0].as_ref().unwrap(), &[b"ab".to_vec()]);
    assert!(read[2].is_err() && read[3].is_err());
}

#[test]
fn header_reads_of_any_size_find_what_a_whole_scan_finds() {
    let stop = ParseOptions { stop_before_pixels: true, ..ParseOptions::default() };
    // A tiny file (shorter than any first read) and headers far longer than one: a private
    // value of `filler` bytes before the pixel data, so that the read must start over, larger.
    for filler in [0usize, 3 * HEADER_READ_STEP, MAX_HEADER_READ_HINT + 10] {
        let dataset = [
            explicit(0x0010_0010, b"PN", b"Doe^J "),
            explicit(0x0029_0010, b"LO", b"FILLER"),
            explicit(0x0029_1000, b"OB", &vec![7; filler]),
            explicit(0x0040_0009, b"SH", b"ST"),
            explicit(0x7FE0_0010, b"OW", &[1, 2, 3, 4]),
        ]
        .concat();
        let bytes = part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &dataset);
        let temp = TempFile::new(&format!("header-{filler}"), &bytes);
        let header = DicomFile::read_header(&temp.0, &stop).unwrap();
        let whole = parse_with(bytes.clone(), &stop).unwrap();
        assert!(header.stopped_early, "{filler}");
        assert_eq!(tags_of(&header, &header.index.root), [0x0010_0010, 0x0029_0010, 0x0029_1000, 0x0040_0009]);
        assert_eq!(header.index.elements, whole.index.elements, "{filler}");
        assert_eq!(header.bytes(), &bytes[..header.scanned_len], "the header's bytes, and no more");
    }
    // A file that ends before any pixel data: read to its end, in one read or several.
    let bytes = part10(syntax::EXPLICIT_VR_LITTLE_ENDIAN, &explicit(0x0029_1000, b"OB", &vec![1; 5 * HEADER_READ_STEP]));
    let temp = TempFile::new("header-no-pixels", &bytes);
    let header = DicomFile::read_header(&temp.0, &stop).unwrap();
    assert!(!header.stopped_early);
    assert_eq!(header.bytes(), &bytes[..]);
}

#[test]
fn a_mapped_file_indexes_its_items_as_bytes_in_memory_do() {
    // Item headers of a mapped file are read with positioned reads, not through the map.
    let many: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 2 + 2 * usize::from(i)]).collect();
    let frames: Vec<Vec<&[u8]>> = many.iter().map(|fragment| vec![fragment.as_slice()]).collect();
    let frames: Vec<&[&[u8]]> = frames.iter().map(Vec::as_slice).collect();
    let whole = encapsulated_frames(&frames, &[], &[]);
    // Cut inside the last items: the item header cut short, and a fragment cut short.
    let pixels_end = whole.len() - 8 - 12;
    for bytes in [whole.clone(), whole[..pixels_end - 40].to_vec(), whole[..pixels_end - 5].to_vec()] {
        let temp = TempFile::new(&format!("items-{}", bytes.len()), &bytes);
        let mapped = DicomFile::open(&temp.0, &ParseOptions::default());
        let in_memory = parse(bytes);
        match (mapped, in_memory) {
            (Ok(mapped), Ok(in_memory)) => {
                assert!(mapped.buffer().is_mapped());
                assert_eq!(mapped.index.elements, in_memory.index.elements);
                assert_eq!(mapped.index.fragments, in_memory.index.fragments);
                assert_eq!(mapped.warnings, in_memory.warnings);
            }
            (Err(mapped), Err(in_memory)) => assert_eq!(mapped.to_string(), in_memory.to_string()),
            (mapped, in_memory) => panic!("mapped {:?}, in memory {:?}", mapped.err(), in_memory.err()),
        }
    }
}
