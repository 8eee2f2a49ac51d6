//! Marker segments of the interchange format (T.81 Annex B): the frame header (B.2.2), the
//! scan header (B.2.3), Huffman tables (B.2.4.2), the restart interval (B.2.4.4) and the number
//! of lines (B.2.5). Everything else is skipped by its length.

use super::bitreader::next_marker;
use super::huffman::{TableSpec, MAX_CATEGORY};
use crate::error::{Error, Result};
use crate::tag::Tag;

const TAG: Option<Tag> = Some(Tag::PIXEL_DATA);

/// The most components a frame may have here (the standard allows 255 for lossless).
pub(super) const MAX_COMPONENTS: usize = 4;

/// One image component of the frame header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Component {
    /// Component identifier Ci, as referenced by scan headers.
    pub(super) id: u8,
}

/// The frame header (B.2.2) of a SOF3 frame.
#[derive(Clone, Debug)]
pub(super) struct Frame {
    /// Sample precision P in bits (2..=16).
    pub(super) precision: u8,
    /// Number of lines Y; 0 when a DNL segment gives it after the first scan.
    pub(super) height: u16,
    /// Samples per line X (at least 1).
    pub(super) width: u16,
    /// The components in frame order (1..=4 of them).
    pub(super) components: Vec<Component>,
}

/// A scan header (B.2.3).
#[derive(Clone, Debug)]
pub(super) struct Scan {
    /// For each scan component in scan order: its index in the frame and its Huffman table Td.
    pub(super) components: Vec<(usize, u8)>,
    /// Predictor selection value Ss (1..=7, Table H.1).
    pub(super) predictor: u8,
    /// Point transform Pt (the Al field), less than the precision.
    pub(super) point_transform: u8,
    /// Offset of the SOS marker, for errors.
    pub(super) offset: usize,
    /// Offset of the first byte of entropy-coded data.
    pub(super) data_start: usize,
}

/// Walks the marker segments of one codestream and keeps the state they define.
pub(super) struct Headers<'a> {
    data: &'a [u8],
    /// Offset of the next marker to read.
    pub(super) pos: usize,
    pub(super) frame: Option<Frame>,
    /// Lossless (class 0) Huffman tables by destination 0..=3, with the offset of their DHT.
    pub(super) tables: [Option<(TableSpec, usize)>; 4],
    /// Restart interval Ri in MCUs (0: no restart markers).
    pub(super) restart_interval: u16,
}

impl<'a> Headers<'a> {
    /// Check the SOI marker that must open the codestream (B.2.1).
    pub(super) fn new(data: &'a [u8]) -> Result<Self> {
        match data {
            [0xFF, 0xD8, ..] => {}
            [] | [0xFF] => return Err(Error::truncated("JPEG start of image marker", TAG, 0, 2, data.len())),
            _ => return Err(Error::invalid("not a JPEG codestream: no start of image marker (FFD8)", TAG, 0)),
        }
        Ok(Headers { data, pos: 2, frame: None, tables: [None, None, None, None], restart_interval: 0 })
    }

    /// The frame header, once read.
    pub(super) fn frame(&self) -> Result<&Frame> {
        self.frame.as_ref().ok_or_else(|| Error::invalid("scan before any frame header", TAG, self.pos))
    }

    /// Read marker segments up to and including the next scan header. `Ok(None)` at EOI.
    pub(super) fn next_scan(&mut self) -> Result<Option<Scan>> {
        loop {
            let (at, code) = self.read_marker()?;
            match code {
                0xD9 => return Ok(None),
                0xDA => return self.read_scan(at).map(Some),
                0xC3 => self.read_frame(at)?,
                0xC4 => self.read_tables(at)?,
                0xDD => {
                    let body = self.segment(at, "DRI")?;
                    let [a, b] = *body else {
                        return Err(Error::invalid(format!("DRI segment has {} bytes of parameters, not 2", body.len()), TAG, at));
                    };
                    self.restart_interval = u16::from_be_bytes([a, b]);
                }
                // DNL after the first scan: its value was already found by `lines_from_dnl`.
                0xDC => {
                    self.segment(at, "DNL")?;
                }
                0xD8 => return Err(Error::invalid("start of image marker inside the codestream", TAG, at)),
                0xC0..=0xCF | 0xDE | 0xDF | 0xF7 if code != 0xC8 && code != 0xCC => {
                    return Err(Error::unsupported(
                        format!("{} (marker FF{code:02X}) is not JPEG Lossless process 14", process_name(code)),
                        TAG,
                        at,
                    ));
                }
                // Standalone markers: TEM and stray restart markers carry no length.
                0x01 | 0xD0..=0xD7 => {}
                // DQT, DAC, APPn, COM, JPGn, reserved: skipped by their length.
                _ => {
                    self.segment(at, "marker")?;
                }
            }
        }
    }

    /// The next marker at `pos`: its offset and code. Fill bytes (FF) before it are allowed.
    fn read_marker(&mut self) -> Result<(usize, u8)> {
        let at = self.pos;
        match self.data.get(at) {
            Some(0xFF) => {}
            Some(byte) => return Err(Error::invalid(format!("expected a JPEG marker, found byte {byte:02X}"), TAG, at)),
            None => return Err(Error::truncated("JPEG codestream (no end of image marker)", TAG, at, 2, 0)),
        }
        let mut code_at = at + 1;
        while self.data.get(code_at) == Some(&0xFF) {
            code_at += 1;
        }
        match self.data.get(code_at) {
            Some(0x00) => Err(Error::invalid("FF00 where a JPEG marker was expected", TAG, at)),
            Some(&code) => {
                self.pos = code_at + 1;
                Ok((code_at - 1, code))
            }
            None => Err(Error::truncated("JPEG marker", TAG, at, 2, self.data.len() - at)),
        }
    }

    /// The parameters of the segment whose marker is at `at` (its length field is at `pos`);
    /// `pos` moves past it.
    fn segment(&mut self, at: usize, what: &str) -> Result<&'a [u8]> {
        let Some(&[hi, lo]) = self.data.get(self.pos..).and_then(<[u8]>::first_chunk::<2>) else {
            return Err(Error::truncated(&format!("{what} segment length"), TAG, self.pos, 2, self.data.len() - self.pos));
        };
        let length = usize::from(u16::from_be_bytes([hi, lo]));
        if length < 2 {
            return Err(Error::invalid(format!("{what} segment length {length} is less than 2"), TAG, at));
        }
        let start = self.pos + 2;
        let end = self.pos + length;
        let Some(body) = self.data.get(start..end) else {
            return Err(Error::truncated(&format!("{what} segment"), TAG, at, length as u64, self.data.len() - self.pos));
        };
        self.pos = end;
        Ok(body)
    }

    /// SOF3 (B.2.2, Table B.2).
    fn read_frame(&mut self, at: usize) -> Result<()> {
        if self.frame.is_some() {
            return Err(Error::invalid("second frame header in one codestream", TAG, at));
        }
        let body = self.segment(at, "SOF3")?;
        let Some((&[precision, h0, h1, w0, w1, count], specs)) = body.split_first_chunk::<6>() else {
            return Err(Error::invalid(format!("frame header has {} bytes of parameters, fewer than 6", body.len()), TAG, at));
        };
        if !(2..=16).contains(&precision) {
            return Err(Error::invalid(format!("sample precision {precision} (lossless JPEG allows 2 to 16)"), TAG, at));
        }
        let count = usize::from(count);
        if count == 0 {
            return Err(Error::invalid("frame header declares 0 components", TAG, at));
        }
        if specs.len() != 3 * count {
            return Err(Error::invalid(
                format!("frame header for {count} components has {} bytes of component specifications, not {}", specs.len(), 3 * count),
                TAG,
                at,
            ));
        }
        if count > MAX_COMPONENTS {
            return Err(Error::unsupported(format!("{count} components in a frame (at most {MAX_COMPONENTS} supported)"), TAG, at));
        }
        let width = u16::from_be_bytes([w0, w1]);
        if width == 0 {
            return Err(Error::invalid("frame width (samples per line) is 0", TAG, at));
        }
        let mut components = Vec::with_capacity(count);
        for spec in specs.chunks_exact(3) {
            let (id, h, v) = (spec[0], spec[1] >> 4, spec[1] & 0x0F);
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
                return Err(Error::invalid(format!("component {id} has sampling factors {h}x{v} (allowed: 1 to 4)"), TAG, at));
            }
            if components.iter().any(|c: &Component| c.id == id) {
                return Err(Error::invalid(format!("component identifier {id} appears twice in the frame header"), TAG, at));
            }
            // One component: its scan is non-interleaved and the factors do not matter (A.2.2).
            // Several: only full resolution (1x1) is handled; a DICOM pixel has every sample.
            if count > 1 && (h, v) != (1, 1) {
                return Err(Error::unsupported(format!("component {id} has sampling factors {h}x{v} (subsampled lossless JPEG)"), TAG, at));
            }
            components.push(Component { id });
        }
        self.frame = Some(Frame { precision, height: u16::from_be_bytes([h0, h1]), width, components });
        Ok(())
    }

    /// DHT (B.2.4.2): one or more tables. Class 1 (AC) tables have no use in lossless scans and
    /// are skipped.
    fn read_tables(&mut self, at: usize) -> Result<()> {
        let mut body = self.segment(at, "DHT")?;
        while let Some((&[class_and_id], rest)) = body.split_first_chunk::<1>() {
            let (class, id) = (class_and_id >> 4, class_and_id & 0x0F);
            if class > 1 || id > 3 {
                return Err(Error::invalid(
                    format!("Huffman table class {class} destination {id} (allowed: class 0-1, destination 0-3)"),
                    TAG,
                    at,
                ));
            }
            let Some((counts, rest)) = rest.split_first_chunk::<16>() else {
                return Err(Error::invalid("DHT segment ends inside a table's code counts", TAG, at));
            };
            let total: usize = counts.iter().map(|&n| usize::from(n)).sum();
            if total > 256 {
                return Err(Error::invalid(format!("Huffman table {id} declares {total} codes (at most 256)"), TAG, at));
            }
            let Some((values, rest)) = rest.split_at_checked(total) else {
                return Err(Error::invalid(format!("DHT segment ends inside table {id}: {total} symbols declared"), TAG, at));
            };
            if class == 0 {
                if let Some(&bad) = values.iter().find(|&&v| v > MAX_CATEGORY) {
                    return Err(Error::invalid(format!("Huffman table {id} holds difference category {bad} (at most 16)"), TAG, at));
                }
                self.tables[usize::from(id)] = Some((TableSpec { counts: *counts, values: values.to_vec() }, at));
            }
            body = rest;
        }
        Ok(())
    }

    /// SOS (B.2.3) for a lossless frame.
    fn read_scan(&mut self, at: usize) -> Result<Scan> {
        let body = self.segment(at, "SOS")?;
        let frame = self.frame.as_ref().ok_or_else(|| Error::invalid("scan header before the frame header", TAG, at))?;
        let Some((&[count], rest)) = body.split_first_chunk::<1>() else {
            return Err(Error::invalid("empty scan header", TAG, at));
        };
        let count = usize::from(count);
        if !(1..=4).contains(&count) {
            return Err(Error::invalid(format!("scan header declares {count} components (allowed: 1 to 4)"), TAG, at));
        }
        if rest.len() != 2 * count + 3 {
            return Err(Error::invalid(
                format!("scan header for {count} components has {} bytes of parameters, not {}", body.len(), 2 * count + 4),
                TAG,
                at,
            ));
        }
        let (specs, tail) = rest.split_at(2 * count);
        let mut components: Vec<(usize, u8)> = Vec::with_capacity(count);
        for spec in specs.chunks_exact(2) {
            let (id, table) = (spec[0], spec[1] >> 4);
            let Some(index) = frame.components.iter().position(|c| c.id == id) else {
                return Err(Error::invalid(format!("scan refers to component {id}, which the frame does not have"), TAG, at));
            };
            if components.iter().any(|&(i, _)| i == index) {
                return Err(Error::invalid(format!("component {id} appears twice in one scan"), TAG, at));
            }
            if table > 3 {
                return Err(Error::invalid(format!("scan uses Huffman table {table} (allowed: 0 to 3)"), TAG, at));
            }
            components.push((index, table));
        }
        // Ss is the predictor; Se and Ah have no meaning in lossless scans and are not checked.
        let &[predictor, _, approximation] = tail else {
            return Err(Error::invalid("scan header too short", TAG, at));
        };
        if !(1..=7).contains(&predictor) {
            return Err(Error::invalid(
                format!("predictor selection value {predictor} (allowed: 1 to 7; 0 only in hierarchical mode)"),
                TAG,
                at,
            ));
        }
        let point_transform = approximation & 0x0F;
        if point_transform >= frame.precision {
            return Err(Error::invalid(
                format!("point transform {point_transform} is not less than the precision {}", frame.precision),
                TAG,
                at,
            ));
        }
        Ok(Scan { components, predictor, point_transform, offset: at, data_start: self.pos })
    }
}

/// The number of lines in a DNL segment after the first scan, whose data starts at `from`
/// (B.2.5; needed when the frame header says 0 lines). Markers in the entropy-coded data are
/// found without decoding it: stuffing makes every `FF` followed by a non-zero byte a marker.
pub(super) fn lines_from_dnl(data: &[u8], from: usize) -> Result<u16> {
    let Some((at, code)) = next_marker(data, from, false) else {
        return Err(Error::truncated("first scan (looking for a DNL segment)", TAG, data.len(), 2, 0));
    };
    if code != 0xDC {
        return Err(Error::invalid("frame header has 0 lines and no DNL segment follows the first scan", TAG, at));
    }
    match data.get(at + 2..at + 6) {
        Some(&[0, 4, hi, lo]) if u16::from_be_bytes([hi, lo]) > 0 => Ok(u16::from_be_bytes([hi, lo])),
        Some(_) => Err(Error::invalid("DNL segment with a bad length or 0 lines", TAG, at)),
        None => Err(Error::truncated("DNL segment", TAG, at, 6, data.len() - at)),
    }
}

/// What a frame marker other than SOF3 is, for an error message.
fn process_name(code: u8) -> &'static str {
    match code {
        0xC0 => "baseline DCT JPEG",
        0xC1 => "extended sequential DCT JPEG",
        0xC2 => "progressive DCT JPEG",
        0xC5..=0xC7 => "hierarchical (differential) JPEG",
        0xC9 | 0xCA => "arithmetic-coded DCT JPEG",
        0xCB => "arithmetic-coded lossless JPEG",
        0xCD..=0xCF => "hierarchical arithmetic-coded JPEG",
        0xDE | 0xDF => "hierarchical JPEG (DHP/EXP)",
        0xF7 => "JPEG-LS",
        _ => "an unknown JPEG process",
    }
}
