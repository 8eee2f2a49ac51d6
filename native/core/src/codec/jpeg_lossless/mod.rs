//! JPEG Lossless decoder: ITU-T T.81 process 14 (Annex H, SOF3) with Huffman coding (Annex F).
//!
//! This is the codec of the DICOM transfer syntaxes JPEG Lossless (1.2.840.10008.1.2.4.57) and
//! JPEG Lossless SV1 (1.2.840.10008.1.2.4.70). It takes one frame's codestream and writes the
//! samples into a caller's buffer.
//!
//! Handled: sample precision 2 to 16; 1 to 4 components; predictors 1 to 7 (Table H.1); point
//! transforms; interleaved and non-interleaved scans, each with its own predictor and tables;
//! Huffman tables defined and redefined anywhere before a scan; restart intervals of whole
//! lines (DRI, `RSTn`); a frame height of 0 resolved by a DNL segment; `APPn`, COM and unknown
//! segments (skipped); fill bytes before markers. A missing EOI is accepted once every
//! component has been decoded.
//!
//! Rejected as unsupported ([`crate::ErrorKind::Unsupported`]): other JPEG processes (DCT,
//! arithmetic coding, hierarchical, JPEG-LS), more than 4 components, subsampled components,
//! and restart intervals that end mid-line. Everything else that breaks T.81 is
//! [`crate::ErrorKind::Invalid`], or [`crate::ErrorKind::Truncated`] when the data ends early:
//! a scan may read at most [`MAX_OVERRUN_BITS`] bits past the end of its entropy-coded data
//! (libjpeg and GDCM would fill any shortfall with zeros). Error offsets are positions in the
//! codestream given.
//!
//! Memory use besides the output: the Huffman lookup tables (32 KiB each, at most four per
//! scan), and for scans that do not hold every component in frame order two lines of samples.
//! Neither depends on anything but the frame width.

mod bitreader;
mod huffman;
mod markers;
mod scan;

use crate::error::{Error, Result};
use crate::tag::Tag;
use bitreader::{next_marker, BitReader};
use huffman::{Lookup, RunFields};
use markers::{Frame, Headers, Scan};
pub use scan::MAX_OVERRUN_BITS;

const TAG: Option<Tag> = Some(Tag::PIXEL_DATA);

/// What the headers of a codestream say, read without decoding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameters {
    /// Samples per line (X).
    pub width: usize,
    /// Lines (Y, or the DNL value when the frame header says 0).
    pub height: usize,
    /// Sample precision P in bits, 2 to 16.
    pub precision: u8,
    /// Components per pixel (Nf), 1 to 4.
    pub components: u8,
    /// Predictor selection value of the first scan, 1 to 7.
    pub predictor: u8,
    /// Point transform Pt of the first scan.
    pub point_transform: u8,
    /// Restart interval in effect for the first scan, in MCUs (pixels); 0 for none.
    pub restart_interval: u16,
    /// Whether the first scan holds every component (true for one component).
    pub interleaved: bool,
    /// Whether the height came from a DNL segment.
    pub height_from_dnl: bool,
}

impl Parameters {
    /// Bytes per output sample: 1 when the precision is at most 8, else 2.
    #[must_use]
    pub fn bytes_per_sample(&self) -> usize {
        bytes_per_sample(self.precision)
    }

    /// Bytes of output for the frame, or `None` when that does not fit in `usize`.
    #[must_use]
    pub fn output_len(&self) -> Option<usize> {
        [self.height, usize::from(self.components), self.bytes_per_sample()].into_iter().try_fold(self.width, usize::checked_mul)
    }
}

/// Bytes of output per sample: 1 when `precision <= 8`, else 2.
#[must_use]
pub fn bytes_per_sample(precision: u8) -> usize {
    if precision <= 8 {
        1
    } else {
        2
    }
}

/// Read the markers up to the first scan header, without decoding: dimensions, precision,
/// components, predictor, point transform and restart interval.
///
/// When the frame header gives 0 lines, the entropy-coded data of the first scan is searched
/// (not decoded) for the DNL segment that follows it.
pub fn parameters(src: &[u8]) -> Result<Parameters> {
    let mut headers = Headers::new(src)?;
    let scan = first_scan(&mut headers)?;
    let frame = headers.frame()?;
    describe(src, frame, &scan, headers.restart_interval)
}

/// Decode a whole process-14 codestream into `out` and return its parameters.
///
/// Samples are interleaved per pixel in the component order of the frame header: one byte per
/// sample when the precision is at most 8, else two, little endian. `out.len()` must be exactly
/// `width * height * components * bytes_per_sample`; this is checked before anything is decoded.
/// The samples are the decoder output: unsigned, `precision` bits (times 2^Pt); interpreting
/// them (signedness, Bits Stored) is up to the caller.
pub fn decode(src: &[u8], out: &mut [u8]) -> Result<Parameters> {
    let mut headers = Headers::new(src)?;
    let mut scan = first_scan(&mut headers)?;
    let frame = headers.frame()?.clone();
    let params = describe(src, &frame, &scan, headers.restart_interval)?;
    let Some(needed) = params.output_len() else {
        return Err(Error::limit("frame size does not fit in memory addresses", TAG, scan.offset));
    };
    if out.len() != needed {
        return Err(Error::invalid(
            format!(
                "output buffer is {} bytes but a {}x{} frame of {} components at {} bits needs {needed}",
                out.len(),
                params.width,
                params.height,
                params.components,
                params.precision
            ),
            TAG,
            0,
        ));
    }
    let mut decoded = [false; markers::MAX_COMPONENTS];
    loop {
        let end = decode_one_scan(src, &headers, &frame, &scan, &params, &mut decoded, out)?;
        if decoded[..frame.components.len()].iter().all(|&d| d) {
            // Every sample is known: whatever follows (normally just EOI) is not needed.
            return Ok(params);
        }
        let Some((marker, _)) = next_marker(src, end, false) else {
            return Err(Error::truncated("codestream (components without a scan)", TAG, src.len(), 2, 0));
        };
        headers.pos = marker;
        scan = match headers.next_scan()? {
            Some(next) => next,
            None => return Err(Error::invalid("end of image before every component was decoded", TAG, headers.pos - 2)),
        };
    }
}

/// Read up to the first scan header.
fn first_scan(headers: &mut Headers<'_>) -> Result<Scan> {
    match headers.next_scan()? {
        Some(scan) => Ok(scan),
        None => Err(Error::invalid("end of image before any scan", TAG, headers.pos.saturating_sub(2))),
    }
}

/// The parameters from the frame header and the first scan header.
fn describe(src: &[u8], frame: &Frame, scan: &Scan, restart_interval: u16) -> Result<Parameters> {
    let (height, height_from_dnl) = match frame.height {
        0 => (markers::lines_from_dnl(src, scan.data_start)?, true),
        lines => (lines, false),
    };
    Ok(Parameters {
        width: usize::from(frame.width),
        height: usize::from(height),
        precision: frame.precision,
        components: frame.components.len() as u8,
        predictor: scan.predictor,
        point_transform: scan.point_transform,
        restart_interval,
        interleaved: scan.components.len() == frame.components.len(),
        height_from_dnl,
    })
}

/// Decode the samples of one scan; returns the offset where its entropy-coded data stopped.
fn decode_one_scan(
    src: &[u8],
    headers: &Headers<'_>,
    frame: &Frame,
    scan: &Scan,
    params: &Parameters,
    decoded: &mut [bool; markers::MAX_COMPONENTS],
    out: &mut [u8],
) -> Result<usize> {
    // Each component is coded in exactly one scan (B.2.3).
    for &(index, _) in &scan.components {
        if std::mem::replace(&mut decoded[index], true) {
            let id = frame.components[index].id;
            return Err(Error::invalid(format!("component {id} appears in a second scan"), TAG, scan.offset));
        }
    }
    let mut lookups: [Option<Box<Lookup>>; 4] = [None, None, None, None];
    // Run entries serve scans whose components all share one table (see `scan`), in the
    // layout of the scan's sample size.
    let one_table = scan.components.iter().all(|&(_, table)| table == scan.components[0].1);
    let run_fields = if one_table { scan::run_fields(frame.precision) } else { RunFields::None };
    for &(_, table) in &scan.components {
        let slot = usize::from(table);
        if lookups[slot].is_none() {
            let Some((spec, defined_at)) = &headers.tables[slot] else {
                return Err(Error::invalid(format!("scan uses Huffman table {table}, which is not defined"), TAG, scan.offset));
            };
            lookups[slot] = Some(Lookup::build(spec, *defined_at, run_fields)?);
        }
    }
    let mut positions = [0usize; 4];
    let mut tables: [Option<&Lookup>; 4] = [None; 4];
    for (j, &(index, table)) in scan.components.iter().enumerate() {
        positions[j] = index;
        tables[j] = lookups[usize::from(table)].as_deref();
    }
    let Some(first) = tables[0] else {
        return Err(Error::invalid("scan without components", TAG, scan.offset));
    };
    let job = scan::ScanJob {
        width: params.width,
        height: params.height,
        frame_components: frame.components.len(),
        positions,
        count: scan.components.len(),
        tables: tables.map(|t| t.unwrap_or(first)),
        predictor: scan.predictor,
        precision: frame.precision,
        point_transform: scan.point_transform,
        restart_interval: usize::from(headers.restart_interval),
    };
    let mut reader = BitReader::new(src, scan.data_start);
    scan::decode_scan(&job, &mut reader, out, scan.offset)?;
    Ok(reader.position())
}
