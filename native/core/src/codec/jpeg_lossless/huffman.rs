//! Huffman decoding of lossless differences (T.81 Annex C, F.2.2.3, H.1.2.2).
//!
//! A DHT segment gives, per table, the number of codes of each length 1..=16 (BITS) and the
//! symbols in code order (HUFFVAL). In a lossless scan each symbol is a difference category
//! SSSS (0..=16, Table H.2), followed by SSSS extra bits, except that category 16 (the difference
//! 32768) has none.
//!
//! Decoding looks up the next [`LOOKUP_BITS`] bits in one table. When the code and its extra
//! bits both fit in those bits the entry holds the finished difference; when only the code fits
//! it holds the code length and the category; longer codes go to the canonical-code search of
//! Figure F.16.

// The decoding helpers are forced inline: inlined into the sample loops they keep the reader in
// registers; as calls they put it in memory on every sample (measured, about a third slower).
#![allow(clippy::inline_always)]

use super::bitreader::BitReader;
use crate::error::{Error, Result};
use crate::tag::Tag;

/// Bits looked up at once: 12 bits (16 KiB per table, 32 KiB with the run table) covers code
/// and extra bits of the common categories of CT and MR data.
pub(super) const LOOKUP_BITS: u32 = 12;
const LOOKUP_SIZE: usize = 1 << LOOKUP_BITS;

// Lookup entry layout (u32):
//   bits 0..5    bits to consume (at most 12; 0: not resolved here). Bit 5 stays clear so
//                that a 64-bit shift by the whole entry shifts by the length alone.
//   bit 8        COMPLETE: the difference is known, modulo 2^16, in bits 16..32
//   bits 16..21  without COMPLETE: the category, whose extra bits follow the code
/// Mask of the bit count of an entry.
const LENGTH: u32 = 0x1F;
/// Entry flag: the entry holds the whole difference (code and extra bits).
const COMPLETE: u32 = 1 << 8;

// Run entry layout (u32), for scans whose components share one table (one component, say),
// where consecutive differences come from the same table:
//   bits 0..5    bits to consume for the whole run; bit 5 clear
//   bits 6..8    how many differences the entry holds, 1..=3 (0: use `decode_buffered`)
//   bits 8..32   the differences as fields of `field_bits` each (see `RunFields`), the first
//                in the top bits, each in two's complement
/// Shift of the difference count in a run entry.
const RUN_COUNT_SHIFT: u32 = 6;

/// How a table's run entries store differences. Samples of up to 8 bits need only a
/// difference's low 8 bits (sample values are kept modulo 2^8), so three fit an entry; wider
/// samples need the whole difference, and two 12-bit fields hold every difference a complete
/// entry can have (at most 11 extra bits) except category 16's 32768.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RunFields {
    /// No run entries: every lookup goes through `decode_buffered`.
    None,
    /// Up to three differences modulo 2^8.
    Three8,
    /// Up to two differences of -2048..2048.
    Two12,
}

impl RunFields {
    /// Bits of one field and how many fields an entry has.
    pub(super) const fn layout(self) -> (u32, u32) {
        match self {
            RunFields::None => (0, 0),
            RunFields::Three8 => (8, 3),
            RunFields::Two12 => (12, 2),
        }
    }
}

/// The largest category a lossless table may hold (Table H.2).
pub(super) const MAX_CATEGORY: u8 = 16;

/// A table as defined in a DHT segment (B.2.4.2).
#[derive(Clone, Debug)]
pub(super) struct TableSpec {
    /// BITS: how many codes have each length 1..=16.
    pub(super) counts: [u8; 16],
    /// HUFFVAL: the symbols in order of increasing code length; `counts` sum to its length (<= 256).
    pub(super) values: Vec<u8>,
}

/// A table ready for decoding (about 32 KiB: keep it boxed).
pub(super) struct Lookup {
    /// Indexed by the next `LOOKUP_BITS` bits; see the entry layout above. Kept inline rather
    /// than behind its own pointer so that a lookup is one load from the table's address.
    fast: [u32; LOOKUP_SIZE],
    /// Indexed like `fast`: up to three differences at once; see the run entry layout above.
    runs: [u32; LOOKUP_SIZE],
    /// How `runs` stores differences.
    run_fields: RunFields,
    /// For each code length 1..=16 (index 0 unused): its first code (F.2.2.3 MINCODE), how
    /// many codes it has, and where its symbols start in `values` (VALPTR).
    first_code: [u32; 17],
    count: [u32; 17],
    first_value: [u32; 17],
    values: Vec<u8>,
}

/// The difference for category `ssss` (1..=15) and its extra bits (F.2.2.1, Table H.2), modulo 2^16.
#[inline(always)]
pub(super) fn extend(extra: u32, ssss: u32) -> u32 {
    // A leading 0 bit means a negative difference: extra - (2^ssss - 1).
    if extra < (1 << (ssss - 1)) {
        extra.wrapping_sub((1 << ssss) - 1) & 0xFFFF
    } else {
        extra
    }
}

impl Lookup {
    /// Build the decoding tables (Annex C, Figures C.1 and C.2; F.2.2.3).
    ///
    /// `offset` is where the table was defined, for errors. Counts with more codes of some
    /// length than the code space allows are rejected. The run entries are filled in the
    /// layout of `run_fields` (for scans whose components all share this table, the only ones
    /// that use them); with [`RunFields::None`] every run entry sends the decoder to
    /// [`Lookup::decode_buffered`].
    pub(super) fn build(spec: &TableSpec, offset: usize, run_fields: RunFields) -> Result<Box<Lookup>> {
        let mut table = Box::new(Lookup {
            fast: [0; LOOKUP_SIZE],
            runs: [0; LOOKUP_SIZE],
            run_fields,
            first_code: [0; 17],
            count: [0; 17],
            first_value: [0; 17],
            values: spec.values.clone(),
        });
        let mut code: u32 = 0;
        let mut k: u32 = 0;
        for length in 1..=16u32 {
            let count = u32::from(spec.counts[length as usize - 1]);
            table.first_code[length as usize] = code;
            table.count[length as usize] = count;
            table.first_value[length as usize] = k;
            if count > 0 {
                if code + count > (1 << length) {
                    return Err(Error::invalid(
                        format!("Huffman table has more codes of length {length} than fit"),
                        Some(Tag::PIXEL_DATA),
                        offset,
                    ));
                }
                for _ in 0..count {
                    let symbol = u32::from(*spec.values.get(k as usize).unwrap_or(&0));
                    if length <= LOOKUP_BITS {
                        fill(&mut table.fast, code, length, symbol);
                    }
                    code += 1;
                    k += 1;
                }
            }
            code <<= 1;
        }
        table.fill_runs();
        Ok(table)
    }

    /// Derive the run entries from the single ones: complete differences, each in the bits
    /// the ones before it leave, as many as fit the entry.
    // The casts between i16/i32 and u16/u32 reinterpret two's complement fields on purpose.
    #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
    fn fill_runs(&mut self) {
        let (field_bits, fields) = self.run_fields.layout();
        let field_mask = (1u32 << field_bits) - 1;
        let limit = 1i32 << (field_bits.max(1) - 1);
        for (bits, run) in (0u32..).zip(self.runs.iter_mut()) {
            let (mut used, mut count, mut entry) = (0, 0, 0);
            while count < fields && used < LOOKUP_BITS {
                // Only the bits after `used` are known: the entry there must need no more.
                let single = self.fast[((bits << used) & (LOOKUP_SIZE as u32 - 1)) as usize];
                let difference = i32::from((single >> 16) as u16 as i16);
                let fits = field_bits == 8 || (-limit..limit).contains(&difference);
                if single & COMPLETE == 0 || single & LENGTH > LOOKUP_BITS - used || !fits {
                    break;
                }
                used += single & LENGTH;
                count += 1;
                entry |= (difference as u32 & field_mask) << (32 - count * field_bits);
            }
            *run = entry | (count << RUN_COUNT_SHIFT) | used;
        }
    }

    /// The layout of this table's run entries.
    pub(super) fn run_fields(&self) -> RunFields {
        self.run_fields
    }

    /// Decode up to three differences with at least [`LOOKUP_BITS`] bits buffered, from a
    /// table whose run fields are `field_bits` wide (a constant where this is inlined): the
    /// differences (modulo 2^16, or 2^8 with 8-bit fields; those past the count are garbage)
    /// and how many there are. `None` when the next difference needs [`Lookup::decode_buffered`].
    #[inline(always)]
    #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
    pub(super) fn decode_run(&self, reader: &mut BitReader<'_>, field_bits: u32) -> Option<([u32; 3], usize)> {
        debug_assert_eq!(self.run_fields.layout().0, field_bits);
        let entry = self.runs[reader.peek(LOOKUP_BITS) as usize];
        let count = (entry >> RUN_COUNT_SHIFT) & 3;
        if count == 0 {
            return None;
        }
        // The shift ignores bits 6 and up of the entry (see the layout).
        reader.consume_masked(entry, entry & LENGTH);
        let field = |j: u32| (((entry << (j * field_bits)) as i32) >> (32 - field_bits)) as u32;
        Some(([field(0), field(1), field(2)], count as usize))
    }

    /// Decode one difference, modulo 2^16.
    #[cfg(test)]
    pub(super) fn decode(&self, reader: &mut BitReader<'_>) -> Result<u32> {
        reader.ensure(LOOKUP_BITS);
        self.decode_buffered(reader)
    }

    /// Decode one difference, modulo 2^16, with at least [`LOOKUP_BITS`] bits buffered.
    ///
    /// A complete entry needs no more than the looked-up bits, so the caller refills only when
    /// fewer remain (rather than keeping 32 for the worst case, which doubles the refills),
    /// and once for a whole pixel: `ensure(LOOKUP_BITS * samples)` serves up to four samples.
    /// A long code refills again to keep that promise for the samples after it.
    #[inline(always)]
    pub(super) fn decode_buffered(&self, reader: &mut BitReader<'_>) -> Result<u32> {
        let entry = self.fast[reader.peek(LOOKUP_BITS) as usize];
        if entry & COMPLETE != 0 {
            // The shift ignores bits 6 and up of the entry (see the layout).
            reader.consume_masked(entry, entry & LENGTH);
            Ok(entry >> 16)
        } else {
            self.decode_uncommon(entry, reader)
        }
    }

    /// Decode a difference whose extra bits go beyond the looked-up bits, whose code is longer
    /// than them, or that has no code at all.
    #[inline(always)]
    fn decode_uncommon(&self, entry: u32, reader: &mut BitReader<'_>) -> Result<u32> {
        // The entry came from valid bits; the rest of the difference may need up to 31.
        reader.ensure(32);
        let length = entry & LENGTH;
        let difference = if length != 0 {
            reader.consume(length);
            let ssss = entry >> 16;
            extend(reader.take(ssss), ssss)
        } else {
            let (length, difference) = self.decode_canonical(reader.peek(32), reader.position())?;
            reader.consume(length);
            difference
        };
        // Up to three more samples of the pixel count on the bits promised before it.
        reader.ensure(3 * LOOKUP_BITS);
        Ok(difference)
    }

    /// Decode by the canonical code (Figure F.16) from the next 32 bits: the bits used (code
    /// and extra bits, at most 31) and the difference. `position` is only for the error.
    #[cold]
    #[inline(never)]
    fn decode_canonical(&self, next: u32, position: usize) -> Result<(u32, u32)> {
        for length in 1..=16 {
            let code = next >> (32 - length);
            let offset = code.wrapping_sub(self.first_code[length as usize]);
            if offset < self.count[length as usize] {
                let index = self.first_value[length as usize] + offset;
                let Some(&ssss) = self.values.get(index as usize) else { break };
                let ssss = u32::from(ssss);
                return Ok(match ssss {
                    0 => (length, 0),
                    16 => (length, 0x8000),
                    _ => {
                        let extra = (next << length) >> (32 - ssss);
                        (length + ssss, extend(extra, ssss))
                    }
                });
            }
        }
        Err(Error::invalid("entropy-coded data holds a bit pattern that is no Huffman code", Some(Tag::PIXEL_DATA), position))
    }
}

/// Fill the lookup entries of every bit pattern that starts with `code` (of `length` bits).
fn fill(fast: &mut [u32], code: u32, length: u32, symbol: u32) {
    let free = LOOKUP_BITS - length;
    let first = (code << free) as usize;
    let Some(entries) = fast.get_mut(first..first + (1 << free)) else { return };
    for (low, entry) in (0u32..).zip(entries) {
        *entry = match symbol {
            0 => COMPLETE | length,
            16 => COMPLETE | length | (0x8000 << 16),
            ssss if ssss <= free => {
                let extra = low >> (free - ssss);
                COMPLETE | (length + ssss) | (extend(extra, ssss) << 16)
            }
            ssss => length | (ssss << 16),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_follows_table_h2() {
        assert_eq!(extend(0, 1), 0xFFFF); // -1
        assert_eq!(extend(1, 1), 1);
        assert_eq!(extend(0b01, 2), 0xFFFE); // -2
        assert_eq!(extend(0b10, 2), 2);
        assert_eq!(extend(0, 15), (0x1_0000 - 32767) & 0xFFFF);
        assert_eq!(extend(0x7FFF, 15), 32767);
    }

    #[test]
    fn rejects_oversubscribed_counts() {
        let mut counts = [0u8; 16];
        counts[0] = 3; // three codes of length 1
        let spec = TableSpec { counts, values: vec![0, 1, 2] };
        assert!(Lookup::build(&spec, 0, RunFields::Two12).is_err());
    }

    /// Decode the same bits run by run and difference by difference: both must give the
    /// same differences (modulo the field's range) and stop at the same bit.
    fn runs_decode_as_single_differences(run_fields: RunFields) {
        let (field_bits, fields) = run_fields.layout();
        // A complete code, lengths 2, 2, 2, 3, 4, ..., 10, 10 for categories 0..=11, so that
        // some runs fit the lookup bits, some do not, and some differences take the long path.
        let mut counts = [0u8; 16];
        for length in [2, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10] {
            counts[length - 1] += 1;
        }
        let table = Lookup::build(&TableSpec { counts, values: (0..12).collect() }, 0, run_fields).expect("valid table");
        // Pseudo-random bytes without FF, so that there is no marker.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let data: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 56) as u8 % 0xFF
            })
            .collect();
        let mask = if field_bits == 8 { 0xFF } else { 0xFFFF };
        let (mut by_runs, mut single) = (BitReader::new(&data, 0), BitReader::new(&data, 0));
        let mut runs = [0usize; 4];
        let mut differences = 0;
        while differences < 8000 {
            by_runs.ensure(LOOKUP_BITS);
            let decoded = match table.decode_run(&mut by_runs, field_bits) {
                Some((run, count)) => {
                    runs[count] += 1;
                    run[..count].to_vec()
                }
                None => vec![table.decode_buffered(&mut by_runs).expect("a code")],
            };
            for difference in decoded {
                assert_eq!(difference & mask, table.decode(&mut single).expect("a code") & mask, "difference {differences}");
                differences += 1;
            }
            // Both readers stand at the same bit.
            by_runs.ensure(32);
            single.ensure(32);
            assert_eq!(by_runs.peek(32), single.peek(32), "after difference {differences}");
        }
        for count in 1..=fields as usize {
            assert!(runs[count] > 100, "only {} runs of {count}", runs[count]);
        }
    }

    #[test]
    fn runs_of_three_8_bit_differences_decode_as_single_ones() {
        runs_decode_as_single_differences(RunFields::Three8);
    }

    #[test]
    fn runs_of_two_12_bit_differences_decode_as_single_ones() {
        runs_decode_as_single_differences(RunFields::Two12);
    }

    #[test]
    fn a_table_without_runs_sends_every_lookup_to_the_single_path() {
        let mut counts = [0u8; 16];
        counts[1] = 4;
        let table = Lookup::build(&TableSpec { counts, values: vec![0, 1, 2, 3] }, 0, RunFields::None).expect("valid table");
        let data = [0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0x01];
        let mut reader = BitReader::new(&data, 0);
        reader.ensure(LOOKUP_BITS);
        assert!(table.decode_run(&mut reader, 0).is_none());
    }

    #[test]
    fn decodes_short_long_and_missing_codes() {
        // Lengths: 1 code of length 2 (category 0), then one of length 16 (category 3):
        // codes 00 and 0100000000000000. Everything else has no symbol.
        let mut counts = [0u8; 16];
        counts[1] = 1;
        counts[15] = 1;
        let spec = TableSpec { counts, values: vec![0, 3] };
        let table = Lookup::build(&spec, 0, RunFields::None).expect("valid table");
        // 00 | 0100000000000000 110 | 111 then the marker's zero padding.
        let data = [0b0001_0000, 0b0000_0000, 0b0011_0111, 0xFF, 0xD9];
        let mut reader = BitReader::new(&data, 0);
        assert_eq!(table.decode(&mut reader).expect("short code"), 0);
        assert_eq!(table.decode(&mut reader).expect("long code"), 6);
        assert!(table.decode(&mut reader).is_err());
    }
}
