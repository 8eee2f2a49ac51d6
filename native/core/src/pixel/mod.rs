//! Pixel data: what the data set says about it ([`PixelInfo`]), where each frame is, and
//! decoding frames into a caller's buffer with pydicom 3's `pixel_array` conventions:
//! samples interleaved, one container per sample (1-bit data unpacked to one byte), little
//! endian, unused high bits cleared or sign-extended, `YBR_FULL`(_422) converted to RGB on request.

mod batch;
mod color;
mod encaps;
mod native;

use std::ops::Range;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::parse::{syntax, Children, DicomFile, Element, Fragment};
use crate::tag::Tag;
use crate::value;
use crate::vr::Vr;

pub use batch::{decode_files, describe, frame_count, with_threads, BatchError};
pub use encaps::{encapsulated_items, FrameTable};

/// The largest decoded size we allocate for on the strength of a header alone. The header's
/// numbers are hostile: a 100-byte file may claim 65535×65535×10⁶ pixels.
pub const DEFAULT_MAX_PIXEL_BYTES: usize = 64 << 30;

/// The pixel data element's flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelKind {
    /// (7FE0,0010) Pixel Data: integers.
    Integer,
    /// (7FE0,0008) Float Pixel Data: 32-bit IEEE floats.
    Float,
    /// (7FE0,0009) Double Float Pixel Data: 64-bit IEEE floats.
    Double,
}

/// How the pixel data of a data set is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Uncompressed, in the data set's byte order.
    Native { big_endian: bool, ow: bool },
    /// RLE Lossless fragments.
    Rle,
    /// JPEG Lossless (process 14) fragments.
    JpegLossless,
    /// Another compressed syntax: its fragments can be listed but not decoded here.
    Other,
}

/// Everything the data set says about its pixels, checked for consistency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PixelInfo {
    pub rows: usize,
    pub columns: usize,
    /// Frames to return: Number of Frames, or 1 when absent; more when native pixel data
    /// holds whole extra frames (pydicom returns them too, with a warning).
    pub frames: usize,
    pub samples_per_pixel: usize,
    pub bits_allocated: usize,
    pub bits_stored: usize,
    pub signed: bool,
    pub planar_configuration: u16,
    pub photometric: String,
    pub kind: PixelKind,
    pub encoding: Encoding,
    /// Index of the pixel data element in [`crate::Index::elements`].
    pub element: u32,
    /// What was tolerated while describing the pixels.
    pub warnings: Vec<String>,
}

/// Options of a decode.
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// Convert `YBR_FULL` and `YBR_FULL_422` to RGB, as pydicom's default does.
    pub as_rgb: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions { as_rgb: true }
    }
}

impl PixelInfo {
    /// Bytes of one sample in the output: 1 for Bits Allocated 1, else Bits Allocated / 8.
    #[must_use]
    pub fn bytes_per_sample(&self) -> usize {
        (self.bits_allocated / 8).max(1)
    }

    /// Bytes of one decoded frame in the output.
    #[must_use]
    pub fn frame_bytes(&self) -> usize {
        self.rows * self.columns * self.samples_per_pixel * self.bytes_per_sample()
    }

    /// `NumPy`'s type string of the output: `u1`, `i2`, `f4`...
    #[must_use]
    pub fn dtype(&self) -> String {
        let width = self.bytes_per_sample();
        match self.kind {
            PixelKind::Float => "<f4".into(),
            PixelKind::Double => "<f8".into(),
            PixelKind::Integer => format!("<{}{width}", if self.signed && self.bits_allocated > 1 { 'i' } else { 'u' }),
        }
    }

    /// Whether the stored bytes of all frames already are the output, so that a view of the
    /// file can be returned instead of a decoded copy.
    #[must_use]
    pub fn stored_is_output(&self, options: DecodeOptions) -> bool {
        let needs_color = options.as_rgb && self.is_ybr() || self.photometric == "YBR_FULL_422";
        matches!(self.encoding, Encoding::Native { big_endian: false, .. })
            && self.bits_allocated >= 8
            && (self.bits_stored == self.bits_allocated || self.kind != PixelKind::Integer)
            && (self.samples_per_pixel == 1 || self.planar_configuration == 0)
            && !needs_color
    }

    fn is_ybr(&self) -> bool {
        matches!(self.photometric.as_str(), "YBR_FULL" | "YBR_FULL_422")
    }

    /// Describe the pixels of the data set `dataset` (a range of the index) in `file`.
    #[allow(clippy::too_many_lines)] // one check after another, in the order pydicom makes them
    pub fn from_dataset(file: &DicomFile, dataset: &Range<u32>, max_bytes: usize) -> Result<PixelInfo> {
        let reader = Reader { file, dataset };
        let (element, kind) = [
            (Tag::PIXEL_DATA, PixelKind::Integer),
            (Tag::FLOAT_PIXEL_DATA, PixelKind::Float),
            (Tag(0x7FE0_0009), PixelKind::Double),
        ]
        .into_iter()
        .find_map(|(tag, kind)| file.index.find(dataset, tag).map(|i| (i, kind)))
        .ok_or_else(|| Error::invalid("the data set has no pixel data", Some(Tag::PIXEL_DATA), 0))?;
        let pixel = &file.index.elements[element as usize];
        let at = pixel.header_offset;

        let rows = usize::from(reader.required_us(Tag(0x0028_0010), at)?);
        let columns = usize::from(reader.required_us(Tag(0x0028_0011), at)?);
        let samples_per_pixel = usize::from(reader.required_us(Tag(0x0028_0002), at)?);
        let photometric = reader.string(Tag(0x0028_0004)).ok_or_else(|| missing(Tag(0x0028_0004), at))?;
        let (bits_allocated, bits_stored, signed) = match kind {
            PixelKind::Float => (32, 32, true),
            PixelKind::Double => (64, 64, true),
            PixelKind::Integer => {
                let allocated = usize::from(reader.required_us(Tag(0x0028_0100), at)?);
                let stored = reader.us(Tag(0x0028_0101))?.map_or(allocated, usize::from);
                let representation = reader.required_us(Tag(0x0028_0103), at)?;
                if representation > 1 {
                    return Err(invalid_value(&reader, Tag(0x0028_0103), "must be 0 or 1"));
                }
                (allocated, stored, representation == 1)
            }
        };
        let planar_configuration = if samples_per_pixel > 1 { reader.us(Tag(0x0028_0006))?.unwrap_or(0) } else { 0 };
        let mut warnings = Vec::new();
        let frames = match reader.string(Tag(0x0028_0008)) {
            None => 1,
            Some(text) => {
                let Some(frames) = value::parse_is(&text) else {
                    return Err(invalid_value(&reader, Tag(0x0028_0008), &format!("'{text}' is not an integer")));
                };
                if frames < 1 {
                    warnings.push(format!("Number of Frames is {frames}; reading one frame"));
                    1
                } else {
                    usize::try_from(frames).map_err(|_| invalid_value(&reader, Tag(0x0028_0008), "is too large"))?
                }
            }
        };

        if rows == 0 || columns == 0 {
            return Err(Error::invalid(format!("the image is {rows} x {columns}"), Some(Tag(0x0028_0010)), at));
        }
        if !matches!(samples_per_pixel, 1 | 3) {
            return Err(invalid_value(&reader, Tag(0x0028_0002), &format!("is {samples_per_pixel}; only 1 and 3 are supported")));
        }
        if !matches!(bits_allocated, 1 | 8 | 16 | 32 | 64) {
            return Err(invalid_value(&reader, Tag(0x0028_0100), &format!("is {bits_allocated}; it must be 1, 8, 16, 32 or 64")));
        }
        if bits_stored == 0 || bits_stored > bits_allocated {
            return Err(invalid_value(&reader, Tag(0x0028_0101), &format!("is {bits_stored} with Bits Allocated {bits_allocated}")));
        }

        let syntax = file.transfer_syntax.as_str();
        let native = matches!(
            syntax,
            syntax::IMPLICIT_VR_LITTLE_ENDIAN | syntax::EXPLICIT_VR_LITTLE_ENDIAN | syntax::EXPLICIT_VR_BIG_ENDIAN | syntax::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
        );
        let encapsulated = matches!(pixel.children, Children::Fragments(_));
        let encoding = match (native, encapsulated, syntax) {
            (true, false, _) => Encoding::Native { big_endian: pixel.encoding.big_endian, ow: pixel.vr == Vr::OW },
            (true, true, _) => return Err(Error::invalid(format!("encapsulated pixel data in the native transfer syntax {syntax}"), Some(pixel.tag), at)),
            (false, true, "1.2.840.10008.1.2.5") => Encoding::Rle,
            (false, true, "1.2.840.10008.1.2.4.57" | "1.2.840.10008.1.2.4.70") => Encoding::JpegLossless,
            (false, _, _) if syntax::name_of(syntax).is_none() => {
                return Err(Error::unsupported(format!("unknown transfer syntax {syntax}"), Some(pixel.tag), at))
            }
            (false, true, _) => Encoding::Other,
            (false, false, _) => {
                return Err(Error::invalid(format!("pixel data of the compressed transfer syntax {syntax} is not encapsulated"), Some(pixel.tag), at))
            }
        };

        let mut info = PixelInfo {
            rows,
            columns,
            frames,
            samples_per_pixel,
            bits_allocated,
            bits_stored,
            signed,
            planar_configuration,
            photometric,
            kind,
            encoding,
            element,
            warnings,
        };
        info
            .checked_frame_bytes()
            .and_then(|bytes| bytes.checked_mul(info.frames))
            .filter(|&total| total <= max_bytes)
            .ok_or_else(|| {
                Error::limit(
                    format!("{frames} frames of {rows} x {columns} x {samples_per_pixel} at {bits_allocated} bits exceed the limit of {max_bytes} bytes"),
                    Some(pixel.tag),
                    at,
                )
            })?;
        if let Encoding::Native { .. } = info.encoding {
            native::check_length(&mut info, pixel)?;
        }
        Ok(info)
    }

    fn checked_frame_bytes(&self) -> Option<usize> {
        self.rows.checked_mul(self.columns)?.checked_mul(self.samples_per_pixel)?.checked_mul(self.bytes_per_sample())
    }
}

fn missing(tag: Tag, offset: usize) -> Error {
    Error::invalid("is required to decode the pixel data but missing", Some(tag), offset)
}

fn invalid_value(reader: &Reader<'_>, tag: Tag, what: &str) -> Error {
    let offset = reader.file.index.find(reader.dataset, tag).map_or(0, |i| reader.file.index.elements[i as usize].header_offset);
    Error::invalid(format!("value {what}"), Some(tag), offset)
}

/// Reads the few values the pixel description needs.
struct Reader<'a> {
    file: &'a DicomFile,
    dataset: &'a Range<u32>,
}

impl Reader<'_> {
    fn element(&self, tag: Tag) -> Option<&Element> {
        self.file.index.find(self.dataset, tag).map(|i| &self.file.index.elements[i as usize])
    }

    fn us(&self, tag: Tag) -> Result<Option<u16>> {
        let Some(element) = self.element(tag) else { return Ok(None) };
        let bytes = self.file.value_bytes(element);
        match bytes.get(..2) {
            Some(&[a, b]) => Ok(Some(if element.encoding.big_endian { u16::from_be_bytes([a, b]) } else { u16::from_le_bytes([a, b]) })),
            _ if bytes.is_empty() => Ok(None),
            _ => Err(Error::invalid("value is not a 16-bit number", Some(tag), element.header_offset)),
        }
    }

    fn required_us(&self, tag: Tag, offset: usize) -> Result<u16> {
        self.us(tag)?.ok_or_else(|| missing(tag, offset))
    }

    fn string(&self, tag: Tag) -> Option<String> {
        let element = self.element(tag)?;
        let values = value::strings(self.file.value_bytes(element), element.vr, &crate::charset::CharacterSet::from_value(b""));
        values.into_iter().next().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
    }
}

/// Decode `frames` (indices into the pixel data) into `out`, frame after frame, using up to
/// `threads` threads (`None`: the global pool). `out` must hold `frames.len()` frames.
pub fn decode_frames(
    file: &DicomFile,
    info: &PixelInfo,
    frames: &[usize],
    out: &mut [u8],
    options: DecodeOptions,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let frame_bytes = info.frame_bytes();
    if out.len() != frame_bytes * frames.len() {
        return Err(Error::invalid(
            format!("the output holds {} bytes but {} frames need {}", out.len(), frames.len(), frame_bytes * frames.len()),
            None,
            0,
        ));
    }
    if let Some(&bad) = frames.iter().find(|&&f| f >= info.frames) {
        return Err(Error::invalid(format!("frame {bad} does not exist: there are {} frames", info.frames), Some(Tag::PIXEL_DATA), 0));
    }
    let element = &file.index.elements[info.element as usize];
    let sources = match info.encoding {
        Encoding::Native { .. } => None,
        Encoding::Other => {
            return Err(Error::unsupported(
                format!("decoding pixel data in transfer syntax {} is not supported", file.transfer_syntax),
                Some(Tag::PIXEL_DATA),
                element.header_offset,
            ))
        }
        Encoding::Rle | Encoding::JpegLossless => Some(FrameTable::new(file, element, info)?),
    };
    let results: Vec<Vec<String>> = out
        .par_chunks_mut(frame_bytes.max(1))
        .zip(frames.par_iter())
        .map(|(slot, &frame)| {
            let mut frame_warnings = Vec::new();
            match &sources {
                None => native::decode_frame(file, info, element, frame, slot, options)?,
                Some(table) => {
                    decode_encapsulated(file, info, &table.fragments(file, frame)?, slot, &mut frame_warnings)?;
                    finish(info, slot, options);
                }
            }
            Ok(frame_warnings)
        })
        .collect::<Result<_>>()?;
    warnings.extend(results.into_iter().flatten());
    Ok(())
}

/// Decode one compressed frame from its fragments into `out` (interleaved, little endian).
fn decode_encapsulated(file: &DicomFile, info: &PixelInfo, fragments: &[Fragment], out: &mut [u8], warnings: &mut Vec<String>) -> Result<()> {
    let first = fragments.first().copied().ok_or_else(|| Error::invalid("frame has no fragments", Some(Tag::PIXEL_DATA), 0))?;
    // One fragment is decoded in place; a frame split over several is joined first.
    let joined: Vec<u8>;
    let data = if fragments.len() == 1 {
        file.fragment_bytes(first)
    } else {
        joined = fragments.iter().flat_map(|&f| file.fragment_bytes(f).iter().copied()).collect();
        &joined
    };
    let rebase = |mut err: Error| {
        err.offset = err.offset.map(|o| o + first.offset as u64);
        err.tag = err.tag.or(Some(Tag::PIXEL_DATA));
        err
    };
    match info.encoding {
        Encoding::Rle => {
            let frame = crate::codec::rle::FrameInfo {
                rows: info.rows,
                columns: info.columns,
                samples_per_pixel: info.samples_per_pixel,
                bits_allocated: info.bits_allocated,
            };
            crate::codec::rle::decode_frame(data, &frame, out, warnings).map_err(rebase)
        }
        Encoding::JpegLossless => encaps::decode_jpeg_lossless(data, info, out, warnings).map_err(rebase),
        Encoding::Native { .. } | Encoding::Other => unreachable!("native and unsupported syntaxes are handled by the caller"),
    }
}

/// The steps every decoded frame goes through: clearing or sign-extending unused bits, and colour.
fn finish(info: &PixelInfo, frame: &mut [u8], options: DecodeOptions) {
    native::fix_unused_bits(frame, info);
    convert_color(info, frame, options);
}

/// `YBR_FULL` and `YBR_FULL_422` to RGB, when asked for.
fn convert_color(info: &PixelInfo, frame: &mut [u8], options: DecodeOptions) {
    if options.as_rgb && info.is_ybr() && info.samples_per_pixel == 3 {
        color::ybr_full_to_rgb(frame, info.bytes_per_sample());
    }
}

