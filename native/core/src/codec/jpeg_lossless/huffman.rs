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

/// Bits looked up at once: 12 bits (16 KiB per table, 32 KiB with the pair table) covers code
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

// Pair entry layout (u32), for scans of one component, where consecutive differences come
// from the same table:
//   bits 0..5    bits to consume for both differences (or the first alone); bit 5 clear
//   bit 6        PAIR: the entry holds two differences
//   bit 7        COMPLETE: at least the first difference is known
//   bits 8..20   the second difference, 12-bit two's complement (0 without PAIR)
//   bits 20..32  the first difference, 12-bit two's complement
// Twelve bits hold every difference a complete entry can have (at most 11 extra bits), except
// category 16's 32768, whose entries are left incomplete.
/// Pair entry flag: two differences.
const PAIR: u32 = 1 << 6;
/// Pair entry flag: the entry is decoded (otherwise use [`Lookup::decode_buffered`]).
const PAIR_COMPLETE: u32 = 1 << 7;

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
    /// Indexed like `fast`: up to two differences at once; see the pair entry layout above.
    pairs: [u32; LOOKUP_SIZE],
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
    /// length than the code space allows are rejected. The pair entries are filled only
    /// `with_pairs` (for scans of one component, the only ones that use them); without, every
    /// pair entry sends the decoder to [`Lookup::decode_buffered`].
    pub(super) fn build(spec: &TableSpec, offset: usize, with_pairs: bool) -> Result<Box<Lookup>> {
        let mut table = Box::new(Lookup {
            fast: [0; LOOKUP_SIZE],
            pairs: [0; LOOKUP_SIZE],
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
        if with_pairs {
            table.fill_pairs();
        }
        Ok(table)
    }

    /// Derive the pair entries from the single ones: a complete first difference, followed
    /// (in the bits it leaves) by a complete second one.
    // The casts between i16/i32 and u16/u32 reinterpret two's complement fields on purpose.
    #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
    fn fill_pairs(&mut self) {
        // A complete difference as a 12-bit field, if it fits one.
        let field = |entry: u32| {
            let difference = (entry >> 16) as u16 as i16;
            (entry & COMPLETE != 0 && (-2048..2048).contains(&difference)).then_some(difference as u32 & 0xFFF)
        };
        for (bits, pair) in (0u32..).zip(self.pairs.iter_mut()) {
            let first = self.fast[bits as usize];
            let Some(d1) = field(first) else {
                *pair = 0;
                continue;
            };
            let length = first & LENGTH;
            *pair = PAIR_COMPLETE | length | (d1 << 20);
            let rest = LOOKUP_BITS - length;
            if rest == 0 {
                continue;
            }
            // Only `rest` bits of the second lookup are known: its entry must need no more.
            let second = self.fast[((bits << length) & (LOOKUP_SIZE as u32 - 1)) as usize];
            if let Some(d2) = field(second).filter(|_| second & LENGTH <= rest) {
                *pair |= PAIR | (d2 << 8);
                *pair += second & LENGTH;
            }
        }
    }

    /// Decode one or two differences with at least [`LOOKUP_BITS`] bits buffered: the
    /// differences (modulo 2^16; the second 0 when there is one) and whether there are two.
    /// `None` when the next difference needs [`Lookup::decode_buffered`].
    #[inline(always)]
    #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
    pub(super) fn decode_pair(&self, reader: &mut BitReader<'_>) -> Option<(u32, u32, bool)> {
        let entry = self.pairs[reader.peek(LOOKUP_BITS) as usize];
        if entry & PAIR_COMPLETE == 0 {
            return None;
        }
        reader.consume_masked(entry, entry & LENGTH);
        let first = ((entry as i32) >> 20) as u32;
        let second = (((entry << 12) as i32) >> 20) as u32;
        Some((first, second, entry & PAIR != 0))
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
        assert!(Lookup::build(&spec, 0, true).is_err());
    }

    #[test]
    fn pairs_decode_as_two_single_differences() {
        // A complete code, lengths 2, 2, 2, 3, 4, ..., 10, 10 for categories 0..=11, so that
        // some pairs fit the lookup bits, some do not, and some differences take the long path.
        let mut counts = [0u8; 16];
        for length in [2, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10] {
            counts[length - 1] += 1;
        }
        let table = Lookup::build(&TableSpec { counts, values: (0..12).collect() }, 0, true).expect("valid table");
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
        let (mut paired, mut single) = (BitReader::new(&data, 0), BitReader::new(&data, 0));
        let (mut pairs, mut differences) = (0, 0);
        while differences < 8000 {
            paired.ensure(LOOKUP_BITS);
            let decoded = match table.decode_pair(&mut paired) {
                Some((first, second, true)) => {
                    pairs += 1;
                    vec![first & 0xFFFF, second & 0xFFFF]
                }
                Some((first, _, false)) => vec![first & 0xFFFF],
                None => vec![table.decode_buffered(&mut paired).expect("a code")],
            };
            for difference in decoded {
                assert_eq!(difference, table.decode(&mut single).expect("a code"), "difference {differences}");
                differences += 1;
            }
            // Both readers stand at the same bit.
            paired.ensure(32);
            single.ensure(32);
            assert_eq!(paired.peek(32), single.peek(32), "after difference {differences}");
        }
        assert!(pairs > 1000, "only {pairs} pairs");
    }

    #[test]
    fn decodes_short_long_and_missing_codes() {
        // Lengths: 1 code of length 2 (category 0), then one of length 16 (category 3):
        // codes 00 and 0100000000000000. Everything else has no symbol.
        let mut counts = [0u8; 16];
        counts[1] = 1;
        counts[15] = 1;
        let spec = TableSpec { counts, values: vec![0, 3] };
        let table = Lookup::build(&spec, 0, false).expect("valid table");
        // 00 | 0100000000000000 110 | 111 then the marker's zero padding.
        let data = [0b0001_0000, 0b0000_0000, 0b0011_0111, 0xFF, 0xD9];
        let mut reader = BitReader::new(&data, 0);
        assert_eq!(table.decode(&mut reader).expect("short code"), 0);
        assert_eq!(table.decode(&mut reader).expect("long code"), 6);
        assert!(table.decode(&mut reader).is_err());
    }
}
