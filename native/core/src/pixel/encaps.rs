//! Encapsulated pixel data (PS3.5 A.4): which fragments make up each frame, from the Extended
//! Offset Table, the Basic Offset Table, or — when both are absent — the fragments themselves.

use super::{Encoding, PixelInfo};
use crate::codec::jpeg_lossless;
use crate::error::{Error, Result};
use crate::parse::{item_header, Children, DicomFile, Element, Fragment};
use crate::tag::Tag;
use crate::value::binary_values;

/// Where each frame of encapsulated pixel data starts, from the Extended Offset Table, the
/// Basic Offset Table, or — when both are absent — the fragments themselves. A frame's items
/// are read when the frame is asked for: with an offset table the scanner leaves the items
/// of all frames but the last unread, and only the asked-for frames' pages are touched.
pub struct FrameTable {
    /// The offset of each frame's first item tag.
    starts: Vec<usize>,
    /// Where the items end: the Sequence Delimitation Item, or the end of the data.
    end: usize,
    big_endian: bool,
}

impl FrameTable {
    /// The frames of the encapsulated `element`, `info.frames` of them.
    ///
    /// # Errors
    /// When the pixel data is not encapsulated, an offset table disagrees with the frame count
    /// or points outside the pixel data, or the frames cannot be told apart.
    pub fn new(file: &DicomFile, element: &Element, info: &PixelInfo) -> Result<Self> {
        let Children::Fragments(range) = &element.children else {
            return Err(Error::invalid("pixel data is not encapsulated", Some(element.tag), element.header_offset));
        };
        let all = &file.index.fragments[range.start as usize..range.end as usize];
        let Some((table, walked)) = all.split_first() else {
            return Err(Error::invalid("encapsulated pixel data has no Basic Offset Table item", Some(element.tag), element.header_offset));
        };
        let frames = info.frames;
        let bad = |what: String| Error::invalid(what, Some(element.tag), element.header_offset);
        let end = element.value_offset + element.value_len;
        let big_endian = element.encoding.big_endian;
        // Offsets in both tables count from the first byte of the first fragment's item tag.
        let base = table.offset + table.length;

        let offsets = if let Some(offsets) = extended_offsets(file, element)? {
            Some(("Extended Offset Table", offsets))
        } else {
            let table_bytes = file.fragment_bytes(*table);
            if !table_bytes.len().is_multiple_of(4) {
                return Err(bad(format!("the Basic Offset Table is {} bytes long, not a multiple of 4", table_bytes.len())));
            }
            let offsets = binary_values::<u32>(table_bytes, big_endian);
            (!offsets.is_empty()).then(|| ("Basic Offset Table", offsets.into_iter().map(u64::from).collect()))
        };
        if let Some((name, offsets)) = offsets {
            if offsets.len() != frames {
                return Err(bad(format!("the {name} has {} entries for {frames} frames", offsets.len())));
            }
            let starts = offsets
                .iter()
                .map(|&offset| {
                    let start = usize::try_from(offset).ok().and_then(|o| o.checked_add(base)).filter(|&s| s < end);
                    start.ok_or_else(|| bad(format!("{name} entry {offset} points past the pixel data")))
                })
                .collect::<Result<Vec<_>>>()?;
            if starts.windows(2).any(|w| w[0] >= w[1]) {
                return Err(bad(format!("{name} entries are not increasing")));
            }
            return Ok(FrameTable { starts, end, big_endian });
        }

        // No table, so the scanner indexed every item.
        let item_of = |f: &Fragment| f.offset - 8;
        let starts: Vec<usize> = if frames == 1 {
            walked.first().map(item_of).into_iter().collect()
        } else if walked.len() == frames {
            walked.iter().map(item_of).collect()
        } else {
            // More fragments than frames and no table: find where each frame starts from the data.
            let found: Vec<usize> =
                walked.iter().filter(|&&f| starts_a_frame(file.fragment_bytes(f), info.encoding)).map(item_of).collect();
            if walked.first().map(item_of) != found.first().copied() || found.len() < frames {
                return Err(bad(format!(
                    "cannot tell where {frames} frames start in {} fragments without an offset table",
                    walked.len()
                )));
            }
            found[..frames].to_vec()
        };
        if starts.is_empty() {
            return Err(bad("no fragments".into()));
        }
        Ok(FrameTable { starts, end, big_endian })
    }

    /// The fragments of `frame`, read from its items.
    ///
    /// # Errors
    /// When its items are damaged, or the next frame's offset table entry does not point at
    /// the item that follows them.
    ///
    /// # Panics
    /// When `frame` is not below the frame count (callers check it first).
    pub fn fragments(&self, file: &DicomFile, frame: usize) -> Result<Vec<Fragment>> {
        let stop = self.starts.get(frame + 1).copied().unwrap_or(self.end);
        let (fragments, reached) = walk_items(file.bytes(), self.starts[frame], stop, self.end, self.big_endian)?;
        // Without a table the starts are item boundaries the scanner found, so only a table
        // entry can miss.
        if reached != stop {
            return Err(Error::invalid(format!("the offset table entry of frame {} does not point at an item", frame + 1), Some(Tag::PIXEL_DATA), stop));
        }
        Ok(fragments)
    }
}

/// Every item of the encapsulated `element`: the Basic Offset Table first, then the fragments.
///
/// # Errors
/// When an item is damaged (the scanner may have left it unread: see [`FrameTable`]).
pub fn encapsulated_items(file: &DicomFile, element: &Element) -> Result<Vec<Fragment>> {
    let Children::Fragments(_) = &element.children else {
        return Err(Error::invalid("pixel data is not encapsulated", Some(element.tag), element.header_offset));
    };
    let end = element.value_offset + element.value_len;
    Ok(walk_items(file.bytes(), element.value_offset, end, end, element.encoding.big_endian)?.0)
}

/// The items from `start` until one reaches `stop` or beyond, and where the last ends. Items
/// may not pass `end`, except the last when the data itself ends there (cut short: kept as
/// the scanner keeps it).
fn walk_items(data: &[u8], start: usize, stop: usize, end: usize, big_endian: bool) -> Result<(Vec<Fragment>, usize)> {
    let mut fragments = Vec::new();
    let mut pos = start;
    while pos < stop {
        let header = data.get(pos..).filter(|_| pos + 8 <= end).and_then(<[u8]>::first_chunk::<8>).map(|&bytes| item_header(bytes, big_endian));
        let Some((tag, length)) = header else {
            return Err(Error::truncated("pixel data item header", Some(Tag::PIXEL_DATA), pos, 8, end.saturating_sub(pos)));
        };
        if tag != Tag::ITEM {
            return Err(Error::invalid(format!("expected an Item tag in encapsulated pixel data, found {tag}"), Some(Tag::PIXEL_DATA), pos));
        }
        let length = length as usize;
        let value = pos + 8;
        match value.checked_add(length).filter(|&e| e <= end) {
            Some(item_end) => {
                fragments.push(Fragment { offset: value, length });
                pos = item_end;
            }
            None if end == data.len() => {
                fragments.push(Fragment { offset: value, length: end - value });
                pos = end;
            }
            None => return Err(Error::truncated("pixel data fragment", Some(Tag::PIXEL_DATA), pos, length as u64, end - value)),
        }
    }
    Ok((fragments, pos))
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
    let (Some(table), Some(lengths)) = (file.index.find(root, Tag::EXTENDED_OFFSET_TABLE), file.index.find(root, Tag::EXTENDED_OFFSET_TABLE_LENGTHS)) else {
        return Ok(None);
    };
    let table = &file.index.elements[table as usize];
    let lengths = &file.index.elements[lengths as usize];
    let offsets = binary_values::<u64>(file.value_bytes(table), table.encoding.big_endian);
    let count = file.value_bytes(lengths).len() / 8;
    if offsets.len() != count {
        return Err(Error::invalid(
            format!("the Extended Offset Table has {} entries but its lengths table {count}", offsets.len()),
            Some(Tag::EXTENDED_OFFSET_TABLE),
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
