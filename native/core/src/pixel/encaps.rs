//! Encapsulated pixel data (PS3.5 A.4): which fragments make up each frame, from the Extended
//! Offset Table, the Basic Offset Table, or — when both are absent — the fragments themselves.

use super::{Encoding, PixelInfo};
use crate::codec::jpeg_lossless;
use crate::error::{Error, Result};
use crate::parse::{Children, DicomFile, Element, Fragment};
use crate::tag::Tag;
use crate::value::binary_values;

const EXTENDED_OFFSET_TABLE: Tag = Tag(0x7FE0_0001);
const EXTENDED_OFFSET_TABLE_LENGTHS: Tag = Tag(0x7FE0_0002);

/// The fragments of each frame, in order. The Basic Offset Table item is not among them.
pub fn frame_fragments(file: &DicomFile, element: &Element, info: &PixelInfo) -> Result<Vec<Vec<Fragment>>> {
    let Children::Fragments(range) = &element.children else {
        return Err(Error::invalid("pixel data is not encapsulated", Some(element.tag), element.header_offset));
    };
    let all = &file.index.fragments[range.start as usize..range.end as usize];
    let Some((table, fragments)) = all.split_first() else {
        return Err(Error::invalid("encapsulated pixel data has no Basic Offset Table item", Some(element.tag), element.header_offset));
    };
    let frames = info.frames;
    let at = element.header_offset;
    let bad = |what: String| Error::invalid(what, Some(element.tag), at);
    // Offsets in both tables count from the first byte of the first fragment's item tag.
    let base = fragments.first().map_or(0, |f| f.offset - 8);
    let start_of = |offset: u64| -> Result<usize> {
        let position = usize::try_from(offset).ok().and_then(|o| o.checked_add(base));
        position
            .and_then(|p| fragments.iter().position(|f| f.offset - 8 == p))
            .ok_or_else(|| bad(format!("offset table entry {offset} does not point at a fragment")))
    };

    if let Some(offsets) = extended_offsets(file, element)? {
        if offsets.len() != frames {
            return Err(bad(format!("the Extended Offset Table has {} entries for {frames} frames", offsets.len())));
        }
        let starts = offsets.iter().map(|&o| start_of(o)).collect::<Result<Vec<_>>>()?;
        return Ok(group(fragments, &starts));
    }

    let table_bytes = file.fragment_bytes(*table);
    if !table_bytes.is_empty() {
        let offsets = binary_values::<u32>(table_bytes, false);
        if offsets.len() != frames || table_bytes.len() % 4 != 0 {
            return Err(bad(format!("the Basic Offset Table has {} entries for {frames} frames", table_bytes.len() / 4)));
        }
        let starts = offsets.iter().map(|&o| start_of(u64::from(o))).collect::<Result<Vec<_>>>()?;
        if starts.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad("Basic Offset Table entries are not increasing".into()));
        }
        return Ok(group(fragments, &starts));
    }

    if frames == 1 {
        return if fragments.is_empty() { Err(bad("no fragments".into())) } else { Ok(vec![fragments.to_vec()]) };
    }
    if fragments.len() == frames {
        return Ok(fragments.iter().map(|&f| vec![f]).collect());
    }
    // More fragments than frames and no table: find where each frame starts from the data.
    let starts: Vec<usize> = fragments
        .iter()
        .enumerate()
        .filter(|(_, &f)| starts_a_frame(file.fragment_bytes(f), info.encoding))
        .map(|(i, _)| i)
        .collect();
    if starts.first() != Some(&0) || starts.len() < frames {
        return Err(bad(format!(
            "cannot tell where {frames} frames start in {} fragments without an offset table",
            fragments.len()
        )));
    }
    Ok(group(fragments, &starts[..frames]))
}

fn group(fragments: &[Fragment], starts: &[usize]) -> Vec<Vec<Fragment>> {
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = starts.get(i + 1).copied().unwrap_or(fragments.len());
            fragments[start..end].to_vec()
        })
        .collect()
}

/// A JPEG frame starts with SOI; an RLE frame with a 64-byte header holding 1–15 segments,
/// the first at offset 64.
fn starts_a_frame(bytes: &[u8], encoding: Encoding) -> bool {
    match encoding {
        Encoding::JpegLossless => bytes.starts_with(&[0xFF, 0xD8]),
        Encoding::Rle => {
            let word = |i: usize| bytes.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            matches!((word(0), word(4)), (Some(1..=15), Some(64)))
        }
        _ => false,
    }
}

fn extended_offsets(file: &DicomFile, pixel: &Element) -> Result<Option<Vec<u64>>> {
    let root = &file.index.root;
    let (Some(table), Some(lengths)) = (file.index.find(root, EXTENDED_OFFSET_TABLE), file.index.find(root, EXTENDED_OFFSET_TABLE_LENGTHS)) else {
        return Ok(None);
    };
    let table = &file.index.elements[table as usize];
    let lengths = &file.index.elements[lengths as usize];
    let offsets = binary_values::<u64>(file.value_bytes(table), table.encoding.big_endian);
    let count = file.value_bytes(lengths).len() / 8;
    if offsets.len() != count {
        return Err(Error::invalid(
            format!("the Extended Offset Table has {} entries but its lengths table {count}", offsets.len()),
            Some(EXTENDED_OFFSET_TABLE),
            pixel.header_offset,
        ));
    }
    Ok(Some(offsets))
}

/// Decode a JPEG Lossless frame into the output container of `info`, widening 8-bit samples
/// into 16-bit containers where Bits Allocated asks for them.
pub(super) fn decode_jpeg_lossless(data: &[u8], info: &PixelInfo, out: &mut [u8], warnings: &mut Vec<String>) -> Result<()> {
    let parameters = jpeg_lossless::parameters(data)?;
    let (width, height, components) = (parameters.width, parameters.height, usize::from(parameters.components));
    if (width, height, components) != (info.columns, info.rows, info.samples_per_pixel) {
        return Err(Error::invalid(
            format!(
                "the JPEG frame is {width} x {height} x {components} but the data set says {} x {} x {}",
                info.columns, info.rows, info.samples_per_pixel
            ),
            Some(Tag::PIXEL_DATA),
            0,
        ));
    }
    let precision = usize::from(parameters.precision);
    if precision != info.bits_stored {
        warnings.push(format!("JPEG sample precision {precision} differs from Bits Stored {}", info.bits_stored));
    }
    let codec_bytes = parameters.bytes_per_sample();
    let container = info.bytes_per_sample();
    if codec_bytes == container {
        jpeg_lossless::decode(data, out)?;
        return Ok(());
    }
    if codec_bytes > container {
        return Err(Error::invalid(
            format!("JPEG sample precision {precision} does not fit Bits Allocated {}", info.bits_allocated),
            Some(Tag::PIXEL_DATA),
            0,
        ));
    }
    let mut narrow = vec![0u8; out.len() / container * codec_bytes];
    jpeg_lossless::decode(data, &mut narrow)?;
    for (slot, sample) in out.chunks_exact_mut(container).zip(narrow.chunks_exact(codec_bytes)) {
        slot.fill(0);
        slot[..codec_bytes].copy_from_slice(sample);
    }
    Ok(())
}
