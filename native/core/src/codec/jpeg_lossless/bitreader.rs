//! Reading the entropy-coded segments of a scan bit by bit (T.81 F.2.2.5, B.1.1.5).
//!
//! The reader keeps up to 64 bits in a register, most significant bit first. Bytes come from the
//! codestream with the byte stuffing of B.1.1.5 removed (`FF 00` is a data byte `FF`). A marker
//! (`FF` followed by anything but `00`) or the end of the buffer ends the segment: the reader then
//! stops taking bytes and supplies zero bits instead, counting them, so that decoding never stalls
//! and the caller can tell afterwards how far past the real data it had to read.

// The per-sample helpers are forced inline: inlined into the sample loops they keep the reader
// in registers; as calls they put it in memory on every sample (measured, about a third slower).
#![allow(clippy::inline_always)]

use crate::error::{Error, Result};
use crate::tag::Tag;

/// Whether any byte of `word` is `0xFF`.
#[inline(always)]
fn has_ff_byte(word: u64) -> bool {
    // The classic "has a zero byte" test applied to the complement.
    let x = !word;
    (x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080) != 0
}

/// A bit reader over one scan's entropy-coded data.
///
/// It is `Copy` on purpose: the sample loops work on a local copy, so that the buffer and the
/// bit count stay in registers (a reader behind a reference was reloaded and stored on every
/// sample, which cost a third of the decoding time), and write it back at the end of a line.
#[derive(Clone, Copy)]
pub(super) struct BitReader<'a> {
    /// The whole codestream; `pos` moves through it.
    data: &'a [u8],
    /// Offset in `data` of the next byte to load.
    pos: usize,
    /// The buffered bits, the next one in bit 63. Bits below the `bits` valid ones are either
    /// zero or copies of the next byte's leading bits (so OR-ing that byte in again is harmless).
    buf: u64,
    /// Number of valid bits in `buf`, padding included; below 64 until the segment has ended
    /// (then 64).
    bits: u32,
    /// Zero bits appended after the segment ended; always at the tail of the valid bits.
    padding: u64,
    /// The segment has ended (a marker or the end of `data` was reached).
    ended: bool,
}

impl<'a> BitReader<'a> {
    /// A reader whose first byte is `data[pos]`.
    pub(super) fn new(data: &'a [u8], pos: usize) -> Self {
        BitReader { data, pos, buf: 0, bits: 0, padding: 0, ended: false }
    }

    /// Offset of the next byte not yet loaded: once the segment has ended, the marker's `FF`
    /// (or the end of the data).
    pub(super) fn position(&self) -> usize {
        self.pos
    }

    /// How many bits past the end of the segment have been consumed (the padding zeros used).
    #[inline(always)]
    pub(super) fn overrun_bits(&self) -> u64 {
        self.padding.saturating_sub(u64::from(self.bits))
    }

    /// Make sure at least `n` (at most 56) bits are buffered. 32 is enough for any difference:
    /// a code of at most 16 bits and at most 15 extra bits (Table H.2).
    #[inline(always)]
    pub(super) fn ensure(&mut self, n: u32) {
        debug_assert!(n <= 56);
        if self.bits < n {
            self.refill();
        }
    }

    /// The next `n` bits (1..=32), without consuming them. Bits beyond the buffered ones read
    /// as unknown (callers make sure `n <= bits` where it matters).
    #[inline(always)]
    pub(super) fn peek(&self, n: u32) -> u32 {
        debug_assert!((1..=32).contains(&n));
        (self.buf >> (64 - n)) as u32
    }

    /// Drop `n` bits (0..=32). Needs `n <= bits`, which [`BitReader::ensure`] provides for one difference.
    #[inline(always)]
    pub(super) fn consume(&mut self, n: u32) {
        debug_assert!(n <= self.bits && n <= 32);
        self.buf <<= n;
        self.bits -= n;
    }

    /// Drop `n` bits, where `n` is the low 6 bits of `shift` (whose higher bits are ignored).
    /// Lets a caller shift by a table entry directly, keeping a mask off the critical path.
    #[inline(always)]
    pub(super) fn consume_masked(&mut self, shift: u32, n: u32) {
        debug_assert!(n == shift & 63 && n <= self.bits && n <= 32);
        self.buf = self.buf.wrapping_shl(shift);
        self.bits -= n;
    }

    /// Read `n` bits (0..=16) as an unsigned number.
    #[inline(always)]
    pub(super) fn take(&mut self, n: u32) -> u32 {
        debug_assert!(n <= 16 && n <= self.bits);
        // Shifting by 64 - 0 would overflow, so `n == 0` goes through a mask instead.
        let value = ((self.buf >> 32) as u32 >> (32 - n.max(1))) & ((1u32 << n) - 1);
        self.consume(n);
        value
    }

    /// Load bytes until at least 56 bits are buffered, however many are now: no test of the
    /// count. A loop that consumes at most 56 bits between two calls saves the `ensure` test,
    /// whose outcome follows the data and so is a branch the processor often mispredicts.
    #[inline(always)]
    pub(super) fn refill(&mut self) {
        // Fast path: the next 8 bytes hold no 0xFF, so they are plain data (no stuffing, no
        // marker) and whole bytes can be appended at once. `bits < 64` here (the slow path
        // stops below 64 unless the segment has ended), so the shift is in range; the tail of
        // the last partial byte also lands in `buf`, below the valid bits, where the next load
        // writes the same bits again. Once the segment has ended `pos` is at a marker's FF (or
        // the end of the data), so this path is not taken.
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let word = u64::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
            if !has_ff_byte(word) {
                debug_assert!(self.bits < 64);
                self.buf |= word >> self.bits;
                // Whole bytes taken: bits + 8 * ((63 - bits) / 8), which is bits | 56 for bits < 64.
                self.pos += ((63 - self.bits) >> 3) as usize;
                self.bits |= 0b11_1000;
                return;
            }
        }
        *self = self.refill_slow();
    }

    /// Byte by byte: undo stuffing, stop at a marker, pad with zeros at the end. Takes and
    /// returns the reader by value so that callers' copies never have their address taken.
    #[inline(never)]
    fn refill_slow(mut self) -> Self {
        while self.bits < 56 && !self.ended {
            let byte = match self.data.get(self.pos) {
                Some(&0xFF) => {
                    if self.data.get(self.pos + 1) == Some(&0x00) {
                        self.pos += 2;
                        0xFF
                    } else {
                        // A marker (possibly after fill bytes) or a lone FF at the very end.
                        self.ended = true;
                        break;
                    }
                }
                Some(&byte) => {
                    self.pos += 1;
                    byte
                }
                None => {
                    self.ended = true;
                    break;
                }
            };
            self.buf |= u64::from(byte) << (56 - self.bits);
            self.bits += 8;
        }
        if self.ended && self.bits < 64 {
            // Past the end every bit is a zero (as libjpeg does); the bits below the valid ones
            // are already zero because only bytes that were then loaded ever left bits there.
            self.padding += u64::from(64 - self.bits);
            self.bits = 64;
        }
        self
    }

    /// Start a new restart interval (T.81 E.2.4): drop what is buffered, find the next marker,
    /// which must be `RSTn` with `n == expected`, and continue after it.
    pub(super) fn restart(&mut self, expected: u8) -> Result<()> {
        let marker = next_marker(self.data, self.pos, true);
        let Some((at, code)) = marker else {
            return Err(Error::truncated("restart marker", Some(Tag::PIXEL_DATA), self.data.len(), 2, 0));
        };
        if code != 0xD0 + expected {
            return Err(Error::invalid(
                format!("expected restart marker RST{expected}, found marker FF{code:02X}"),
                Some(Tag::PIXEL_DATA),
                at,
            ));
        }
        *self = BitReader::new(self.data, at + 2);
        Ok(())
    }
}

/// The next marker at or after `from`: the offset of its `FF` and its code. Fill bytes (`FF FF`)
/// and stuffed bytes (`FF 00`) are passed over, as are any other bytes (left-over entropy data).
/// With `stop_at_rst` false, restart markers are skipped too.
pub(super) fn next_marker(data: &[u8], from: usize, stop_at_rst: bool) -> Option<(usize, u8)> {
    let mut at = from;
    loop {
        let found = at + memchr::memchr(0xFF, data.get(at..)?)?;
        let mut code_at = found + 1;
        // Fill bytes: a run of FF before the marker code.
        while data.get(code_at) == Some(&0xFF) {
            code_at += 1;
        }
        let code = *data.get(code_at)?;
        if code == 0x00 || (!stop_at_rst && (0xD0..=0xD7).contains(&code)) {
            at = code_at + 1;
            continue;
        }
        return Some((code_at - 1, code));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ff_byte_test_matches_a_plain_scan() {
        for word in [0u64, u64::MAX, 0x00FF_0000_0000_0000, 0xFE00_0000_0000_00FE, 0x7F80_8080_8080_80FF, 0x0102_0304_0506_0708] {
            assert_eq!(has_ff_byte(word), word.to_be_bytes().contains(&0xFF), "{word:016x}");
        }
    }

    #[test]
    fn unstuffs_and_stops_at_a_marker() {
        let data = [0xAB, 0xFF, 0x00, 0x12, 0xFF, 0xFF, 0xD9, 0x55];
        let mut reader = BitReader::new(&data, 0);
        reader.ensure(32);
        assert_eq!(reader.take(8), 0xAB);
        assert_eq!(reader.take(8), 0xFF);
        assert_eq!(reader.take(8), 0x12);
        assert_eq!(reader.overrun_bits(), 0);
        assert_eq!(reader.position(), 4);
        assert_eq!(reader.take(4), 0);
        assert_eq!(reader.overrun_bits(), 4);
        assert_eq!(next_marker(&data, reader.position(), true), Some((5, 0xD9)));
    }

    #[test]
    fn fast_and_slow_refills_agree() {
        let data: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
        let mut reader = BitReader::new(&data, 0);
        let mut seen = Vec::new();
        for _ in 0..data.len() {
            reader.ensure(32);
            seen.push(reader.take(8) as u8);
        }
        assert_eq!(seen, data);
    }
}
