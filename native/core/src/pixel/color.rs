//! `YBR_FULL` → RGB (PS3.3 C.7.6.3.1.2), computed exactly as pydicom 3 computes it: in 32-bit
//! floats, with its coefficients and rounding, so the results are bit-identical.

/// The `YBR_FULL` → RGB matrix as pydicom builds it in float32: row k is input component k
/// (Y, Cb, Cr), column j output component j (R, G, B).
#[allow(clippy::excessive_precision)]
const MATRIX: [[f32; 3]; 3] = [
    [1.000, 1.000, 1.000],
    [0.000, (-0.114 * 1.772 / 0.587) as f32, 1.772],
    [1.402, (-0.299 * 1.402 / 0.587) as f32, 0.000],
];

/// Convert an interleaved `YBR_FULL` frame to RGB in place. Samples are `bps` bytes (1 or 2,
/// little endian); as in pydicom, chroma is centred on 128 and results are clipped to 0..=255.
// The values are clamped to 0..=255 before the casts.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(super) fn ybr_full_to_rgb(frame: &mut [u8], bps: usize) {
    match bps {
        1 => {
            for pixel in frame.chunks_exact_mut(3) {
                let rgb = convert([pixel[0], pixel[1], pixel[2]].map(f32::from));
                pixel.copy_from_slice(&rgb.map(|v| v as u8));
            }
        }
        2 => {
            for pixel in frame.chunks_exact_mut(6) {
                let ybr = [0, 2, 4].map(|i| f32::from(u16::from_le_bytes([pixel[i], pixel[i + 1]])));
                let rgb = convert(ybr);
                for (slot, value) in pixel.chunks_exact_mut(2).zip(rgb) {
                    slot.copy_from_slice(&(value as u16).to_le_bytes());
                }
            }
        }
        _ => {}
    }
}

#[inline]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn convert(ybr: [f32; 3]) -> [f32; 3] {
    let centred = [ybr[0], ybr[1] - 128.0, ybr[2] - 128.0];
    let mut rgb = [0f32; 3];
    for (j, out) in rgb.iter_mut().enumerate() {
        let sum = centred[0] * MATRIX[0][j] + centred[1] * MATRIX[1][j] + centred[2] * MATRIX[2][j];
        *out = (sum + 0.5).floor().clamp(0.0, 255.0);
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_stays_grey_and_extremes_clip() {
        let mut frame = [100u8, 128, 128, 255, 255, 255, 0, 0, 0];
        ybr_full_to_rgb(&mut frame, 1);
        assert_eq!(&frame[..3], &[100, 100, 100]);
        assert_eq!(frame[3], 255); // R = 255 + 1.402 * 127 clips
        assert_eq!(frame[6], 0);
    }
}
