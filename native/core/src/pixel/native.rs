//! Native (uncompressed) pixel data: length checks and the one-pass transform of a frame from
//! its stored layout (byte order, planar configuration, 4:2:2, packed bits) to the output.

use super::{convert_color, finish, DecodeOptions, Encoding, PixelInfo, PixelKind};
use crate::error::{Error, Result};
use crate::parse::{DicomFile, Element};

/// Stored bytes of one frame (for 1-bit data, see [`frame_bits`]).
fn stored_frame_bytes(info: &PixelInfo) -> usize {
    if info.photometric == "YBR_FULL_422" && info.samples_per_pixel == 3 {
        // Two samples per pixel: Y Y Cb Cr for every pair of pixels (PS3.3 C.7.6.3.1.2).
        info.rows * info.columns * 2 * info.bytes_per_sample()
    } else {
        info.frame_bytes()
    }
}

fn frame_bits(info: &PixelInfo) -> usize {
    info.rows * info.columns * info.samples_per_pixel
}

/// Check the stored length against what the frames need, as pydicom does: short data is an
/// error (an odd trailing byte aside); whole extra frames are returned; other excess is padding.
pub(super) fn check_length(info: &mut PixelInfo, pixel: &Element) -> Result<()> {
    let available = pixel.value_len;
    let expected = if info.bits_allocated == 1 {
        (frame_bits(info) * info.frames).div_ceil(8)
    } else {
        stored_frame_bytes(info) * info.frames
    };
    let padded = expected + expected % 2;
    if available < padded && available != expected {
        return Err(Error::truncated("pixel data", Some(pixel.tag), pixel.header_offset, expected as u64, available));
    }
    if available > padded {
        if info.photometric == "YBR_FULL_422" {
            let ybr_length = expected / 2 * 3;
            if available >= ybr_length + ybr_length % 2 {
                return Err(Error::invalid(
                    format!(
                        "pixel data is a third longer than expected ({available} vs {expected} bytes): \
                         Photometric Interpretation YBR_FULL_422 is probably wrong (RGB or YBR_FULL?)"
                    ),
                    Some(pixel.tag),
                    pixel.header_offset,
                ));
            }
        } else {
            let whole_frames = if info.bits_allocated == 1 {
                available * 8 / frame_bits(info)
            } else {
                available / stored_frame_bytes(info)
            };
            if whole_frames > info.frames {
                info.warnings.push(format!(
                    "the pixel data holds {whole_frames} frames but Number of Frames is {}; returning all {whole_frames}",
                    info.frames
                ));
                info.frames = whole_frames;
                return Ok(());
            }
        }
        info.warnings.push(format!("the pixel data is {available} bytes long: {} bytes of excess padding ignored", available - expected));
    }
    Ok(())
}

/// Produce output frame `frame` of native pixel data into `out`.
pub(super) fn decode_frame(file: &DicomFile, info: &PixelInfo, element: &Element, frame: usize, out: &mut [u8], options: DecodeOptions) -> Result<()> {
    let data = file.value_bytes(element);
    let Encoding::Native { big_endian, ow } = info.encoding else { unreachable!("native frames only") };
    if info.bits_allocated == 1 {
        let bits = frame_bits(info);
        unpack_bits(data, frame * bits, &mut out[..bits])
            .ok_or_else(|| Error::truncated("1-bit pixel data", Some(element.tag), element.header_offset, ((frame + 1) * bits).div_ceil(8) as u64, data.len()))?;
        return Ok(());
    }
    let stored = stored_frame_bytes(info);
    let start = frame * stored;
    let src = data
        .get(start..start + stored)
        .ok_or_else(|| Error::truncated("pixel data frame", Some(element.tag), element.header_offset, (start + stored) as u64, data.len()))?;
    let bps = info.bytes_per_sample();

    // 8-bit data written as OW in big endian is stored as byte-swapped 16-bit words.
    let swapped_words: Vec<u8>;
    let src = if big_endian && ow && bps == 1 {
        swapped_words = (start..start + stored).map(|i| data.get(i ^ 1).copied().unwrap_or(0)).collect();
        &swapped_words[..]
    } else {
        src
    };

    if info.photometric == "YBR_FULL_422" && info.samples_per_pixel == 3 {
        expand_422(src, out, bps);
    } else if info.samples_per_pixel > 1 && info.planar_configuration == 1 {
        interleave_planes(src, out, info.samples_per_pixel, bps);
    } else {
        store_samples(src, out, info, big_endian);
        convert_color(info, out, options);
        return Ok(());
    }
    if big_endian && bps > 1 {
        swap_samples(out, bps);
    }
    finish(info, out, options);
    Ok(())
}

/// Unpack `out.len()` bits starting at bit `first_bit` of `data` (least significant bit first,
/// PS3.5 D.1), one per output byte. `None` when `data` is too short.
fn unpack_bits(data: &[u8], first_bit: usize, out: &mut [u8]) -> Option<()> {
    let last_byte = (first_bit + out.len()).div_ceil(8);
    let data = data.get(..last_byte)?;
    if first_bit.is_multiple_of(8) {
        let bytes = &data[first_bit / 8..];
        for (chunk, &byte) in out.chunks_mut(8).zip(bytes) {
            for (bit, value) in chunk.iter_mut().enumerate() {
                *value = (byte >> bit) & 1;
            }
        }
    } else {
        for (i, value) in out.iter_mut().enumerate() {
            let bit = first_bit + i;
            *value = (data[bit / 8] >> (bit % 8)) & 1;
        }
    }
    Some(())
}

/// Y1 Y2 Cb Cr → Y1 Cb Cr Y2 Cb Cr, sample width `bps`.
fn expand_422(src: &[u8], out: &mut [u8], bps: usize) {
    for (pair, group) in out.chunks_exact_mut(6 * bps).zip(src.chunks_exact(4 * bps)) {
        let (y1, rest) = group.split_at(bps);
        let (y2, rest) = rest.split_at(bps);
        let (cb, cr) = rest.split_at(bps);
        for (slot, sample) in pair.chunks_exact_mut(bps).zip([y1, cb, cr, y2, cb, cr]) {
            slot.copy_from_slice(sample);
        }
    }
}

/// Planar configuration 1 (RRR…GGG…BBB…) → interleaved (RGBRGB…).
fn interleave_planes(src: &[u8], out: &mut [u8], samples: usize, bps: usize) {
    let plane = src.len() / samples;
    for (sample, plane_bytes) in src.chunks_exact(plane).enumerate() {
        for (pixel, value) in plane_bytes.chunks_exact(bps).enumerate() {
            let at = (pixel * samples + sample) * bps;
            out[at..at + bps].copy_from_slice(value);
        }
    }
}

/// Reverse the bytes of every `bps`-byte sample, in place.
fn swap_samples(out: &mut [u8], bps: usize) {
    match bps {
        2 => out.chunks_exact_mut(2).for_each(|c| c.swap(0, 1)),
        _ => out.chunks_exact_mut(bps).for_each(<[u8]>::reverse),
    }
}

/// A sample container: an unsigned integer of Bits Allocated bits.
trait Container: Copy {
    const WIDTH: usize;
    fn read<const BIG_ENDIAN: bool>(bytes: &[u8]) -> Self;
    fn write_le(self, to: &mut [u8]);
    /// Clear (unsigned) or sign-extend (signed) the `shift` bits above Bits Stored.
    fn fix<const SIGNED: bool>(self, shift: u32) -> Self;
}

macro_rules! container {
    ($unsigned:ty, $signed:ty) => {
        impl Container for $unsigned {
            const WIDTH: usize = std::mem::size_of::<$unsigned>();

            #[inline(always)]
            fn read<const BIG_ENDIAN: bool>(bytes: &[u8]) -> Self {
                let bytes = bytes.try_into().expect("exact chunk");
                if BIG_ENDIAN { <$unsigned>::from_be_bytes(bytes) } else { <$unsigned>::from_le_bytes(bytes) }
            }

            #[inline(always)]
            fn write_le(self, to: &mut [u8]) {
                to.copy_from_slice(&self.to_le_bytes());
            }

            #[inline(always)]
            #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
            fn fix<const SIGNED: bool>(self, shift: u32) -> Self {
                if SIGNED { (((self << shift) as $signed) >> shift) as $unsigned } else { (self << shift) >> shift }
            }
        }
    };
}

container!(u8, i8);
container!(u16, i16);
container!(u32, i32);
container!(u64, i64);

/// `out` = the samples of `src` in little endian with their unused bits fixed, in one pass.
fn convert<C: Container, const BIG_ENDIAN: bool, const SIGNED: bool>(src: &[u8], out: &mut [u8], shift: u32) {
    for (to, from) in out.chunks_exact_mut(C::WIDTH).zip(src.chunks_exact(C::WIDTH)) {
        C::read::<BIG_ENDIAN>(from).fix::<SIGNED>(shift).write_le(to);
    }
}

fn fix_in_place<C: Container, const SIGNED: bool>(frame: &mut [u8], shift: u32) {
    for chunk in frame.chunks_exact_mut(C::WIDTH) {
        C::read::<false>(chunk).fix::<SIGNED>(shift).write_le(chunk);
    }
}

/// The bits above Bits Stored to clear or sign-extend in each container, if any.
fn unused_bits(info: &PixelInfo) -> Option<u32> {
    let needed = info.kind == PixelKind::Integer && info.bits_stored < info.bits_allocated && info.bits_allocated >= 8;
    needed.then(|| (info.bits_allocated - info.bits_stored) as u32)
}

/// Clear (unsigned) or sign-extend (signed) the bits above Bits Stored in each container, as
/// pydicom does for every native, RLE and JPEG Lossless decode.
pub(super) fn fix_unused_bits(frame: &mut [u8], info: &PixelInfo) {
    let Some(shift) = unused_bits(info) else { return };
    match (info.bits_allocated, info.signed) {
        (8, false) => fix_in_place::<u8, false>(frame, shift),
        (8, true) => fix_in_place::<u8, true>(frame, shift),
        (16, false) => fix_in_place::<u16, false>(frame, shift),
        (16, true) => fix_in_place::<u16, true>(frame, shift),
        (32, false) => fix_in_place::<u32, false>(frame, shift),
        (32, true) => fix_in_place::<u32, true>(frame, shift),
        (64, false) => fix_in_place::<u64, false>(frame, shift),
        (64, true) => fix_in_place::<u64, true>(frame, shift),
        _ => {}
    }
}

/// Store the samples of `src` into `out` as the output wants them: little endian, unused bits
/// fixed. One pass over the data, where a copy, a swap and a fix would make three.
fn store_samples(src: &[u8], out: &mut [u8], info: &PixelInfo, big_endian: bool) {
    let swap = big_endian && info.bits_allocated > 8;
    let shift = unused_bits(info);
    if !swap && shift.is_none() {
        out.copy_from_slice(src);
        return;
    }
    let shift = shift.unwrap_or(0);
    macro_rules! by_order_and_sign {
        ($container:ty) => {
            match (swap, info.signed && shift > 0) {
                (false, false) => convert::<$container, false, false>(src, out, shift),
                (false, true) => convert::<$container, false, true>(src, out, shift),
                (true, false) => convert::<$container, true, false>(src, out, shift),
                (true, true) => convert::<$container, true, true>(src, out, shift),
            }
        };
    }
    match info.bits_allocated {
        8 => by_order_and_sign!(u8),
        16 => by_order_and_sign!(u16),
        32 => by_order_and_sign!(u32),
        _ => by_order_and_sign!(u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_bits_lsb_first_across_byte_boundaries() {
        let data = [0b1010_0101u8, 0b0000_0011];
        let mut out = [9u8; 10];
        unpack_bits(&data, 0, &mut out).unwrap();
        assert_eq!(out, [1, 0, 1, 0, 0, 1, 0, 1, 1, 1]);
        let mut out = [9u8; 5];
        unpack_bits(&data, 6, &mut out).unwrap();
        assert_eq!(out, [0, 1, 1, 1, 0]);
        assert!(unpack_bits(&data, 12, &mut [0u8; 8]).is_none());
    }

    #[test]
    fn expands_422_pairs() {
        let mut out = [0u8; 6];
        expand_422(&[10, 20, 1, 2], &mut out, 1);
        assert_eq!(out, [10, 1, 2, 20, 1, 2]);
    }

    #[test]
    fn interleaves_planes() {
        let mut out = [0u8; 6];
        interleave_planes(&[1, 2, 3, 4, 5, 6], &mut out, 3, 1);
        assert_eq!(out, [1, 3, 5, 2, 4, 6]);
    }

    #[test]
    fn unused_bits_are_cleared_or_sign_extended() {
        let mut frame = 0xF801u16.to_le_bytes().to_vec(); // 12 bits stored: 0x801
        fix_in_place::<u16, false>(&mut frame, 4);
        assert_eq!(u16::from_le_bytes([frame[0], frame[1]]), 0x0801);
        fix_in_place::<u16, true>(&mut frame, 4);
        assert_eq!(i16::from_le_bytes([frame[0], frame[1]]), -2047);
        let mut byte = [0b0001_1001u8];
        fix_in_place::<u8, true>(&mut byte, 3);
        assert_eq!(byte[0] as i8, -7);
    }

    #[test]
    fn one_pass_swaps_and_fixes_as_the_separate_steps_do() {
        let src: Vec<u8> = (0..64u8).map(|b| b.wrapping_mul(37).wrapping_add(11)).collect();
        for (width, shift) in [(2, 4), (4, 7), (8, 20)] {
            for signed in [false, true] {
                let mut steps = src.clone();
                swap_samples(&mut steps, width);
                match (width, signed) {
                    (2, false) => fix_in_place::<u16, false>(&mut steps, shift),
                    (2, true) => fix_in_place::<u16, true>(&mut steps, shift),
                    (4, false) => fix_in_place::<u32, false>(&mut steps, shift),
                    (4, true) => fix_in_place::<u32, true>(&mut steps, shift),
                    (_, false) => fix_in_place::<u64, false>(&mut steps, shift),
                    (_, true) => fix_in_place::<u64, true>(&mut steps, shift),
                }
                let mut one_pass = vec![0u8; src.len()];
                match (width, signed) {
                    (2, false) => convert::<u16, true, false>(&src, &mut one_pass, shift),
                    (2, true) => convert::<u16, true, true>(&src, &mut one_pass, shift),
                    (4, false) => convert::<u32, true, false>(&src, &mut one_pass, shift),
                    (4, true) => convert::<u32, true, true>(&src, &mut one_pass, shift),
                    (_, false) => convert::<u64, true, false>(&src, &mut one_pass, shift),
                    (_, true) => convert::<u64, true, true>(&src, &mut one_pass, shift),
                }
                assert_eq!(one_pass, steps, "{width}-byte samples, signed {signed}");
            }
        }
    }

    #[test]
    fn swaps_each_sample() {
        let mut data = [1, 2, 3, 4, 5, 6, 7, 8];
        swap_samples(&mut data, 4);
        assert_eq!(data, [4, 3, 2, 1, 8, 7, 6, 5]);
    }
}
