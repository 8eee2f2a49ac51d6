//! Decoding the samples of one scan: prediction (T.81 H.1.2.1, Table H.1), difference decoding
//! (H.1.2.2) and restart intervals (H.2.1, E.2.4).
//!
//! Rows are decoded straight into the output; the row above is the previous output row. The
//! sample size, the number of components in the scan and the predictor are compile-time
//! parameters of the row loops, chosen once per scan, so the per-sample work is a table lookup,
//! a few integer operations and a store, with no bounds checks (rows are cut into fixed-size
//! pixel chunks first).

// The per-sample helpers are forced inline: inlined into the line loops they keep the reader in
// registers; as calls they put it in memory on every sample (measured, about a third slower).
#![allow(clippy::inline_always)]

use super::bitreader::BitReader;
use super::huffman::{Lookup, RunFields, LOOKUP_BITS};
use crate::error::{Error, Result};
use crate::tag::Tag;

const TAG: Option<Tag> = Some(Tag::PIXEL_DATA);

/// How many bits past the end of a scan's data a decoder may read before the data counts as
/// truncated. A conforming encoder pads the last byte with 1-bits, so a valid scan never needs
/// any; libjpeg and GDCM go on with zero bits for as long as needed, which would turn a
/// truncated stream into an image. The reference data needs none; a little slack (one byte)
/// keeps encoders that drop their final partial byte decodable.
pub const MAX_OVERRUN_BITS: u64 = 8;

/// Everything the sample loops need to know about a scan.
pub(super) struct ScanJob<'t> {
    /// Samples per line.
    pub(super) width: usize,
    /// Lines.
    pub(super) height: usize,
    /// Components of the frame: samples per output pixel.
    pub(super) frame_components: usize,
    /// Frame index of each scan component, in scan order (`count` of them).
    pub(super) positions: [usize; 4],
    /// Components in the scan (1..=4).
    pub(super) count: usize,
    /// The Huffman table of each scan component.
    pub(super) tables: [&'t Lookup; 4],
    pub(super) predictor: u8,
    pub(super) precision: u8,
    pub(super) point_transform: u8,
    /// Restart interval in MCUs, 0 for none.
    pub(super) restart_interval: usize,
}

/// How samples are stored in the output.
trait Sample {
    /// Bytes per sample.
    const BYTES: usize;
    /// Mask applied to a reconstructed value.
    const MASK: u32;
    /// The run entries a table needs for this sample size, their field width and count.
    const RUN_FIELDS: RunFields;
    const FIELD_BITS: u32 = Self::RUN_FIELDS.layout().0;
    const FIELDS: usize = Self::RUN_FIELDS.layout().1 as usize;
    /// One sample as stored.
    type Unit: Copy;
    /// Bytes as samples (a partial sample at the end is left out).
    fn units(bytes: &[u8]) -> &[Self::Unit];
    fn units_mut(bytes: &mut [u8]) -> &mut [Self::Unit];
    /// The value of a stored sample.
    fn get(unit: Self::Unit) -> u32;
    /// A value (below 2^(8 * BYTES)) as stored.
    fn unit(value: u32) -> Self::Unit;

    /// Sample `j` of a pixel.
    #[inline(always)]
    fn load(pixel: &[u8], j: usize) -> u32 {
        Self::get(Self::units(pixel)[j])
    }
    /// Store sample `j` of a pixel.
    #[inline(always)]
    fn store(pixel: &mut [u8], j: usize, value: u32) {
        Self::units_mut(pixel)[j] = Self::unit(value);
    }
}

/// One byte per sample (precision up to 8).
struct Bits8;
/// Two bytes per sample, little endian (precision 9 to 16).
struct Bits16;

impl Sample for Bits8 {
    const BYTES: usize = 1;
    const MASK: u32 = 0xFF;
    const RUN_FIELDS: RunFields = RunFields::Three8;
    type Unit = u8;
    #[inline(always)]
    fn units(bytes: &[u8]) -> &[u8] {
        bytes
    }
    #[inline(always)]
    fn units_mut(bytes: &mut [u8]) -> &mut [u8] {
        bytes
    }
    #[inline(always)]
    fn get(unit: u8) -> u32 {
        u32::from(unit)
    }
    #[inline(always)]
    fn unit(value: u32) -> u8 {
        value as u8
    }
}

impl Sample for Bits16 {
    const BYTES: usize = 2;
    const MASK: u32 = 0xFFFF;
    const RUN_FIELDS: RunFields = RunFields::Two12;
    type Unit = [u8; 2];
    #[inline(always)]
    fn units(bytes: &[u8]) -> &[[u8; 2]] {
        bytemuck::cast_slice(&bytes[..bytes.len() & !1])
    }
    #[inline(always)]
    fn units_mut(bytes: &mut [u8]) -> &mut [[u8; 2]] {
        let even = bytes.len() & !1;
        bytemuck::cast_slice_mut(&mut bytes[..even])
    }
    #[inline(always)]
    fn get(unit: [u8; 2]) -> u32 {
        u32::from(u16::from_le_bytes(unit))
    }
    #[inline(always)]
    fn unit(value: u32) -> [u8; 2] {
        (value as u16).to_le_bytes()
    }
}

/// The prediction Px of Table H.1 from the reconstructed samples left (Ra), above (Rb) and
/// above-left (Rc), modulo 2^16 (only its low 16 bits are used). Rb and Rc are below 2^16; Ra
/// may carry higher bits (only its low `S::MASK` bits count), so that a caller can leave it
/// unmasked where the prediction is Ra plus something: the mask is then off the chain from one
/// sample to the next.
///
/// Predictions are exact, without clamping (A.5), and the halvings in 5 and 6 are arithmetic
/// right shifts of a possibly negative difference (H.1.2.1). Here they use unsigned
/// arithmetic: adding 2^17 before halving keeps the difference positive while changing the
/// result by 2^16 only.
#[inline(always)]
fn predict<S: Sample, const PREDICTOR: u8>(ra: u32, rb: u32, rc: u32) -> u32 {
    const BIAS: u32 = 1 << 17;
    match PREDICTOR {
        1 => ra,
        2 => rb,
        3 => rc,
        4 => ra.wrapping_add(rb.wrapping_sub(rc)),
        5 => ra.wrapping_add((rb + BIAS - rc) >> 1),
        6 => rb + (((ra & S::MASK) + BIAS - rc) >> 1),
        _ => ((ra & S::MASK) + rb) >> 1,
    }
}

/// Decode sample `j` of a pixel predicted by `predictor`, store it and return it.
#[inline(always)]
fn sample<S: Sample>(bits: &mut BitReader<'_>, table: &Lookup, pixel: &mut [u8], j: usize, predictor: u32) -> Result<u32> {
    let value = predictor.wrapping_add(table.decode_buffered(bits)?) & S::MASK;
    S::store(pixel, j, value);
    Ok(value)
}

/// Decode the `N` samples of a pixel, sample `j` predicted by `predictor(j)`. Written out per
/// component so that the reader and the per-component state stay in registers (a loop over
/// `0..N`, or a closure per component, was not unrolled or inlined for `N = 3`).
#[inline(always)]
fn pixel<S: Sample, const N: usize>(
    bits: &mut BitReader<'_>,
    tables: &[&Lookup; N],
    pixel: &mut [u8],
    predictors: [u32; N],
) -> Result<[u32; N]> {
    // One refill test for the pixel: each sample's lookup finds its bits buffered.
    bits.ensure(LOOKUP_BITS * N as u32);
    let mut values = [0u32; N];
    values[0] = sample::<S>(bits, tables[0], pixel, 0, predictors[0])?;
    if N > 1 {
        values[1] = sample::<S>(bits, tables[1], pixel, 1, predictors[1])?;
    }
    if N > 2 {
        values[2] = sample::<S>(bits, tables[2], pixel, 2, predictors[2])?;
    }
    if N > 3 {
        values[3] = sample::<S>(bits, tables[3], pixel, 3, predictors[3])?;
    }
    Ok(values)
}

/// The samples of the pixel above, as an array.
#[inline(always)]
fn load_pixel<S: Sample, const N: usize>(up: &[u8]) -> [u32; N] {
    std::array::from_fn(|j| S::load(up, j))
}

/// The first line of a scan or of a restart interval: the first pixel is predicted by
/// `initial` (2^(P-Pt-1)), every other sample by Ra (H.1.2.1).
fn first_line<S: Sample, const N: usize>(reader: &mut BitReader<'_>, tables: &[&Lookup; N], row: &mut [u8], initial: u32) -> Result<()> {
    // A local copy keeps the reader in registers (see `BitReader`).
    let mut bits = *reader;
    let mut ra = [initial; N];
    for px in row.chunks_exact_mut(N * S::BYTES) {
        ra = pixel::<S, N>(&mut bits, tables, px, ra)?;
    }
    *reader = bits;
    Ok(())
}

/// Any other line: the first pixel is predicted by Rb, the others by the scan's predictor.
/// `shared` says that every component of the scan has the same table (`tables[0]`).
fn next_line<S: Sample, const N: usize, const PREDICTOR: u8>(
    reader: &mut BitReader<'_>,
    tables: &[&Lookup; N],
    row: &mut [u8],
    above: &[u8],
    shared: bool,
) -> Result<()> {
    if N == 1 || shared {
        return next_line_one_table::<S, N, PREDICTOR>(reader, tables[0], row, above);
    }
    let step = N * S::BYTES;
    let mut pixels = row.chunks_exact_mut(step).zip(above.chunks_exact(step));
    let Some((px, up)) = pixels.next() else { return Ok(()) };
    let mut bits = *reader;
    let mut rc = load_pixel::<S, N>(up);
    let mut ra = pixel::<S, N>(&mut bits, tables, px, rc)?;
    for (px, up) in pixels {
        let rb = load_pixel::<S, N>(up);
        let predictions: [u32; N] = std::array::from_fn(|j| predict::<S, PREDICTOR>(ra[j], rb[j], rc[j]));
        ra = pixel::<S, N>(&mut bits, tables, px, predictions)?;
        rc = rb;
    }
    *reader = bits;
    Ok(())
}

/// [`next_line`] for scans whose differences all come from one table (one component, or
/// components sharing a table, as libjpeg's and GDCM's encoders write RGB): the line is one
/// run of samples, decoded up to `S::FIELDS` at a time where the table's run entries allow.
/// The chain from one lookup to the next (shift, load, shift) is the decoder's critical path,
/// and a run of two or three cuts the number of links. Sample `x` has its neighbours `N`
/// samples back (Ra, Rc) and above it (Rb, Rc).
fn next_line_one_table<S: Sample, const N: usize, const PREDICTOR: u8>(
    reader: &mut BitReader<'_>,
    table: &Lookup,
    row: &mut [u8],
    above: &[u8],
) -> Result<()> {
    debug_assert_eq!(row.len(), above.len(), "a line and the line above it");
    let row = S::units_mut(row);
    let width = row.len();
    // Slices of one length, indexed below `width`: the compiler drops the bounds checks.
    let Some(above) = S::units(above).get(..width) else { return Ok(()) };
    if width < N {
        return Ok(());
    }
    let mut bits = *reader;
    // The first pixel is predicted by Rb.
    let mut ra = 0;
    for x in 0..N {
        bits.ensure(LOOKUP_BITS);
        ra = S::get(above[x]).wrapping_add(table.decode_buffered(&mut bits)?);
        row[x] = S::unit(ra);
    }
    // A table built for another sample size has run entries of another layout: then every
    // sample takes the single path.
    let runs = table.run_fields() == S::RUN_FIELDS;
    let mut x = N;
    // Blocks of lookups on one refill: each uses at most `LOOKUP_BITS` (a long code refills
    // on its own, promising the bits of three more lookups), and no block can run past the line.
    while runs && x + RUN_BLOCK * S::FIELDS <= width {
        bits.refill();
        for _ in 0..RUN_BLOCK {
            x = run::<S, N, PREDICTOR>(&mut bits, table, row, above, x, &mut ra)?;
        }
    }
    while runs && x + S::FIELDS <= width {
        bits.ensure(LOOKUP_BITS);
        x = run::<S, N, PREDICTOR>(&mut bits, table, row, above, x, &mut ra)?;
    }
    while x < width {
        bits.ensure(LOOKUP_BITS);
        single::<S, N, PREDICTOR>(&mut bits, table, row, above, x, &mut ra)?;
        x += 1;
    }
    *reader = bits;
    Ok(())
}

/// Lookups per refill in [`next_line_one_table`]: four use at most 48 of the 56 bits a refill
/// guarantees.
const RUN_BLOCK: usize = 4;

/// The prediction of sample `x` (at least `N`) of a line decoded as one run of samples, from
/// Rb and Rc above it and Ra, `N` samples back. Ra is `last` for one component, where it is the
/// chain from one sample to the next and stays in a register, and is read back from the line
/// for several, where it was written `N` samples earlier. (Keeping the last `N` in registers for
/// several components costs more than it saves: after a run of variable length they must be
/// shifted by selects.)
#[inline(always)]
fn prediction<S: Sample, const N: usize, const PREDICTOR: u8>(row: &[S::Unit], above: &[S::Unit], x: usize, last: u32) -> u32 {
    let ra = if N == 1 { last } else { S::get(row[x - N]) };
    predict::<S, PREDICTOR>(ra, S::get(above[x]), S::get(above[x - N]))
}

/// Decode sample `x` (at least `N`) from one difference with [`Lookup::decode_buffered`]; `ra`
/// becomes its value.
#[inline(always)]
fn single<S: Sample, const N: usize, const PREDICTOR: u8>(
    bits: &mut BitReader<'_>,
    table: &Lookup,
    row: &mut [S::Unit],
    above: &[S::Unit],
    x: usize,
    ra: &mut u32,
) -> Result<()> {
    *ra = prediction::<S, N, PREDICTOR>(row, above, x, *ra).wrapping_add(table.decode_buffered(bits)?);
    row[x] = S::unit(*ra);
    Ok(())
}

/// Decode the differences of one run-table lookup (or one difference, when the entry holds
/// none), with `LOOKUP_BITS` buffered, into the samples from `x` on; `x + S::FIELDS` must not
/// pass the line. All `S::FIELDS` samples are written even when the entry holds fewer
/// differences: the next step overwrites the extra ones, which no sample of the run reads as a
/// neighbour but another extra one. Returns the next sample's index; `ra` is the last value.
#[inline(always)]
fn run<S: Sample, const N: usize, const PREDICTOR: u8>(
    bits: &mut BitReader<'_>,
    table: &Lookup,
    row: &mut [S::Unit],
    above: &[S::Unit],
    x: usize,
    ra: &mut u32,
) -> Result<usize> {
    let Some((d, count)) = table.decode_run(bits, S::FIELD_BITS) else {
        single::<S, N, PREDICTOR>(bits, table, row, above, x, ra)?;
        return Ok(x + 1);
    };
    // Left unmasked: `S::unit` keeps the low bits, `predict` masks Ra where it must.
    let first = prediction::<S, N, PREDICTOR>(row, above, x, *ra).wrapping_add(d[0]);
    row[x] = S::unit(first);
    let second = prediction::<S, N, PREDICTOR>(row, above, x + 1, first).wrapping_add(d[1]);
    row[x + 1] = S::unit(second);
    *ra = if count == 1 { first } else { second };
    if S::FIELDS > 2 {
        let third = prediction::<S, N, PREDICTOR>(row, above, x + 2, second).wrapping_add(d[2]);
        row[x + 2] = S::unit(third);
        if count == 3 {
            *ra = third;
        }
    }
    Ok(x + count)
}

/// Restart bookkeeping for one scan.
struct Restarts {
    /// Lines per restart interval, 0 when there are no restarts.
    lines: usize,
    /// The `n` of the next `RSTn` marker (they count modulo 8 from 0 in each scan).
    next: u8,
}

impl Restarts {
    fn new(job: &ScanJob<'_>, at: usize) -> Result<Self> {
        let interval = job.restart_interval;
        if interval == 0 || interval >= job.width * job.height {
            return Ok(Restarts { lines: 0, next: 0 });
        }
        if !interval.is_multiple_of(job.width) {
            // H.1.1 asks for whole lines; a restart mid-line has no defined first-line rule.
            return Err(Error::unsupported(
                format!("restart interval of {interval} samples is not a whole number of {}-sample lines", job.width),
                TAG,
                at,
            ));
        }
        Ok(Restarts { lines: interval / job.width, next: 0 })
    }

    /// Before line `y`: handle a restart marker if one is due. Whether `y` starts afresh
    /// (first line of the scan or of a restart interval).
    #[inline]
    fn before_line(&mut self, y: usize, reader: &mut BitReader<'_>) -> Result<bool> {
        if y == 0 {
            return Ok(true);
        }
        if self.lines == 0 || !y.is_multiple_of(self.lines) {
            return Ok(false);
        }
        reader.restart(self.next)?;
        self.next = (self.next + 1) & 7;
        Ok(true)
    }
}

/// Fail when the scan has read clearly past the end of its data.
#[inline]
fn check_overrun(reader: &BitReader<'_>) -> Result<()> {
    let overrun = reader.overrun_bits();
    if overrun > MAX_OVERRUN_BITS {
        return Err(Error::truncated("entropy-coded data of the scan", TAG, reader.position(), overrun.div_ceil(8), 0));
    }
    Ok(())
}

/// The run entries a table needs for samples of `precision`: those of the sample size
/// [`decode_scan`] decodes them as.
pub(super) fn run_fields(precision: u8) -> RunFields {
    if precision <= 8 {
        Bits8::RUN_FIELDS
    } else {
        Bits16::RUN_FIELDS
    }
}

/// Decode one scan into `out`, which holds the whole frame (`width * height` pixels of
/// `frame_components` samples).
pub(super) fn decode_scan(job: &ScanJob<'_>, reader: &mut BitReader<'_>, out: &mut [u8], at: usize) -> Result<()> {
    if job.precision <= 8 {
        by_count::<Bits8>(job, reader, out, at)?;
        shift::<Bits8>(job, out);
    } else {
        by_count::<Bits16>(job, reader, out, at)?;
        shift::<Bits16>(job, out);
    }
    Ok(())
}

fn by_count<S: Sample>(job: &ScanJob<'_>, reader: &mut BitReader<'_>, out: &mut [u8], at: usize) -> Result<()> {
    match job.count {
        1 => by_predictor::<S, 1>(job, reader, out, at),
        2 => by_predictor::<S, 2>(job, reader, out, at),
        3 => by_predictor::<S, 3>(job, reader, out, at),
        4 => by_predictor::<S, 4>(job, reader, out, at),
        n => Err(Error::invalid(format!("scan with {n} components"), TAG, at)),
    }
}

fn by_predictor<S: Sample, const N: usize>(job: &ScanJob<'_>, reader: &mut BitReader<'_>, out: &mut [u8], at: usize) -> Result<()> {
    match job.predictor {
        1 => lines::<S, N, 1>(job, reader, out, at),
        2 => lines::<S, N, 2>(job, reader, out, at),
        3 => lines::<S, N, 3>(job, reader, out, at),
        4 => lines::<S, N, 4>(job, reader, out, at),
        5 => lines::<S, N, 5>(job, reader, out, at),
        6 => lines::<S, N, 6>(job, reader, out, at),
        7 => lines::<S, N, 7>(job, reader, out, at),
        p => Err(Error::invalid(format!("predictor selection value {p}"), TAG, at)),
    }
}

/// The line loop for one kind of scan.
fn lines<S: Sample, const N: usize, const PREDICTOR: u8>(job: &ScanJob<'_>, reader: &mut BitReader<'_>, out: &mut [u8], at: usize) -> Result<()> {
    let tables: [&Lookup; N] = std::array::from_fn(|j| job.tables[j]);
    let shared = tables.iter().all(|&table| std::ptr::eq(table, tables[0]));
    let initial = 1u32 << (job.precision - job.point_transform - 1);
    let mut restarts = Restarts::new(job, at)?;
    let out_line = job.width * job.frame_components * S::BYTES;
    if out_line == 0 {
        return Ok(());
    }
    let in_frame_order = job.count == job.frame_components && job.positions[..N].iter().enumerate().all(|(j, &p)| p == j);
    if in_frame_order {
        // The scan has every component in frame order: decode into the output itself.
        let mut above: Option<&mut [u8]> = None;
        for (y, row) in out.chunks_exact_mut(out_line).enumerate() {
            let fresh = restarts.before_line(y, reader)?;
            match above.as_deref() {
                Some(up) if !fresh => next_line::<S, N, PREDICTOR>(reader, &tables, row, up, shared)?,
                _ => first_line::<S, N>(reader, &tables, row, initial)?,
            }
            check_overrun(reader)?;
            above = Some(row);
        }
    } else {
        // Some components of the frame only (or in another order): decode each line into a
        // line of this scan's samples, then spread them over the output pixels.
        let scan_line = job.width * N * S::BYTES;
        let mut row = vec![0u8; scan_line];
        let mut up = vec![0u8; scan_line];
        let positions: [usize; N] = std::array::from_fn(|j| job.positions[j]);
        for (y, out_row) in out.chunks_exact_mut(out_line).enumerate() {
            if restarts.before_line(y, reader)? {
                first_line::<S, N>(reader, &tables, &mut row, initial)?;
            } else {
                next_line::<S, N, PREDICTOR>(reader, &tables, &mut row, &up, shared)?;
            }
            check_overrun(reader)?;
            let out_pixels = out_row.chunks_exact_mut(job.frame_components * S::BYTES);
            for (out_pixel, pixel) in out_pixels.zip(row.chunks_exact(N * S::BYTES)) {
                for (j, &position) in positions.iter().enumerate() {
                    if let Some(target) = out_pixel.get_mut(position * S::BYTES..(position + 1) * S::BYTES) {
                        target.copy_from_slice(&pixel[j * S::BYTES..(j + 1) * S::BYTES]);
                    }
                }
            }
            std::mem::swap(&mut row, &mut up);
        }
    }
    Ok(())
}

/// Apply the point transform to the scan's components: the decoder output is multiplied by
/// `2^Pt` (H.2.2). Predictions work on the unshifted values, so this runs after the scan.
fn shift<S: Sample>(job: &ScanJob<'_>, out: &mut [u8]) {
    let pt = u32::from(job.point_transform);
    if pt == 0 {
        return;
    }
    let positions = &job.positions[..job.count];
    for pixel in out.chunks_exact_mut(job.frame_components * S::BYTES) {
        for &position in positions {
            if position < job.frame_components {
                let value = S::load(pixel, position);
                S::store(pixel, position, (value << pt) & S::MASK);
            }
        }
    }
}
