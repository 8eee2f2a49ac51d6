//! Value Representations (PS3.5 Table 6.2-1) and the facts the scanner needs about each.

use std::fmt;

macro_rules! value_representations {
    ($($name:ident),+ $(,)?) => {
        /// A Value Representation, as two ASCII letters in the file.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(clippy::upper_case_acronyms)]
        pub enum Vr { $($name),+ }

        impl Vr {
            /// Every VR of PS3.5 Table 6.2-1.
            pub const ALL: &'static [Vr] = &[$(Vr::$name),+];

            /// The VR whose two letters are `code`, if it is one of the standard's.
            #[must_use]
            #[inline]
            pub fn from_bytes(code: [u8; 2]) -> Option<Vr> {
                // One table lookup: this runs for every element of an explicit VR data set.
                let [a, b] = code;
                if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
                    return None;
                }
                LETTER_PAIRS[usize::from(a - b'A') * 26 + usize::from(b - b'A')]
            }

            /// The two letters.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Vr::$name => stringify!($name)),+ }
            }
        }
    };
}

value_representations!(
    AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, LO, LT, OB, OD, OF, OL, OV, OW, PN, SH, SL, SQ, SS,
    ST, SV, TM, UC, UI, UL, UN, UR, US, UT, UV,
);

/// For each pair of capital letters, its VR if it is one: the VR itself rather than an index
/// into [`Vr::ALL`], so that the scanner's critical path (bytes, VR, header size, next element)
/// has one load in it, not two.
const LETTER_PAIRS: [Option<Vr>; 26 * 26] = {
    let mut table = [None; 26 * 26];
    let mut i = 0;
    while i < Vr::ALL.len() {
        let letters = Vr::ALL[i].as_str().as_bytes();
        table[(letters[0] - b'A') as usize * 26 + (letters[1] - b'A') as usize] = Some(Vr::ALL[i]);
        i += 1;
    }
    table
};

impl Vr {
    /// Explicit VR encodings give these VRs 2 reserved bytes and a 32-bit length (PS3.5 7.1.2);
    /// all others have a 16-bit length.
    #[must_use]
    pub const fn has_long_length(self) -> bool {
        matches!(
            self,
            Vr::OB | Vr::OD | Vr::OF | Vr::OL | Vr::OV | Vr::OW | Vr::SQ | Vr::SV | Vr::UC | Vr::UN
                | Vr::UR | Vr::UT | Vr::UV
        )
    }

    /// The VR's string form resolved from a dictionary entry such as "US or SS" or "OB or OW".
    /// Returns the first alternative; callers that know better (Pixel Representation) refine it.
    #[must_use]
    pub fn from_dictionary(vr: &str) -> Option<Vr> {
        let first = vr.split(" or ").next()?.as_bytes();
        let code: [u8; 2] = first.try_into().ok()?;
        Vr::from_bytes(code)
    }

    /// Character strings whose values are split at backslashes.
    #[must_use]
    pub const fn is_multi_valued_string(self) -> bool {
        matches!(
            self,
            Vr::AE | Vr::AS | Vr::CS | Vr::DA | Vr::DS | Vr::DT | Vr::IS | Vr::LO | Vr::PN | Vr::SH
                | Vr::TM | Vr::UC | Vr::UI
        )
    }

    /// Free text that is never split: LT, ST, UT, UR.
    #[must_use]
    pub const fn is_text(self) -> bool {
        matches!(self, Vr::LT | Vr::ST | Vr::UT | Vr::UR)
    }

    /// Text whose bytes follow the Specific Character Set (the others are the default repertoire).
    #[must_use]
    pub const fn uses_character_set(self) -> bool {
        matches!(self, Vr::LO | Vr::LT | Vr::PN | Vr::SH | Vr::ST | Vr::UC | Vr::UT)
    }

    /// Binary values of fixed size: the size of one value in bytes.
    #[must_use]
    pub const fn binary_width(self) -> Option<usize> {
        match self {
            Vr::SS | Vr::US => Some(2),
            Vr::AT | Vr::FL | Vr::SL | Vr::UL => Some(4),
            Vr::FD | Vr::SV | Vr::UV => Some(8),
            _ => None,
        }
    }

    /// "Other" byte, word, float... VRs: bulk values handed out as arrays, never parsed.
    #[must_use]
    pub const fn is_bulk(self) -> bool {
        matches!(self, Vr::OB | Vr::OD | Vr::OF | Vr::OL | Vr::OV | Vr::OW | Vr::UN)
    }
}

impl fmt::Display for Vr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vr_round_trips_through_its_letters() {
        assert_eq!(Vr::ALL.len(), 34);
        for &vr in Vr::ALL {
            let code: [u8; 2] = vr.as_str().as_bytes().try_into().unwrap();
            assert_eq!(Vr::from_bytes(code), Some(vr));
        }
        assert_eq!(Vr::from_bytes(*b"XX"), None);
        assert_eq!(Vr::from_bytes(*b"ob"), None);
    }

    #[test]
    fn long_length_vrs_follow_ps3_5_7_1_2() {
        let long: Vec<&str> = Vr::ALL.iter().filter(|v| v.has_long_length()).map(|v| v.as_str()).collect();
        assert_eq!(long, ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]);
    }

    #[test]
    fn dictionary_alternatives_take_the_first() {
        assert_eq!(Vr::from_dictionary("US or SS"), Some(Vr::US));
        assert_eq!(Vr::from_dictionary("OB or OW"), Some(Vr::OB));
        assert_eq!(Vr::from_dictionary(""), None);
    }
}
