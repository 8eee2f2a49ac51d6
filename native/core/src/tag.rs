//! Tags: (group, element) pairs packed into one `u32` so they sort in standard order.

use std::fmt;

/// A data element tag, `group << 16 | element`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(pub u32);

impl Tag {
    /// (FFFE,E000) Item.
    pub const ITEM: Tag = Tag(0xFFFE_E000);
    /// (FFFE,E00D) Item Delimitation Item.
    pub const ITEM_DELIMITER: Tag = Tag(0xFFFE_E00D);
    /// (FFFE,E0DD) Sequence Delimitation Item.
    pub const SEQUENCE_DELIMITER: Tag = Tag(0xFFFE_E0DD);
    /// (0002,0010) Transfer Syntax UID.
    pub const TRANSFER_SYNTAX_UID: Tag = Tag(0x0002_0010);
    /// (0008,0005) Specific Character Set.
    pub const SPECIFIC_CHARACTER_SET: Tag = Tag(0x0008_0005);
    /// (0028,0103) Pixel Representation, which settles the "US or SS" VRs.
    pub const PIXEL_REPRESENTATION: Tag = Tag(0x0028_0103);
    /// (7FE0,0001) Extended Offset Table.
    pub const EXTENDED_OFFSET_TABLE: Tag = Tag(0x7FE0_0001);
    /// (7FE0,0002) Extended Offset Table Lengths.
    pub const EXTENDED_OFFSET_TABLE_LENGTHS: Tag = Tag(0x7FE0_0002);
    /// (7FE0,0008) Float Pixel Data.
    pub const FLOAT_PIXEL_DATA: Tag = Tag(0x7FE0_0008);
    /// (7FE0,0010) Pixel Data.
    pub const PIXEL_DATA: Tag = Tag(0x7FE0_0010);

    /// A tag from its group and element numbers.
    #[must_use]
    pub const fn new(group: u16, element: u16) -> Tag {
        Tag(((group as u32) << 16) | element as u32)
    }

    /// The group number.
    #[must_use]
    pub const fn group(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The element number.
    #[must_use]
    pub const fn element(self) -> u16 {
        self.0 as u16
    }

    /// Private tags live in odd groups (groups 1, 3, 5, 7 and FFFF are not private: PS3.5 7.8.1).
    #[must_use]
    pub const fn is_private(self) -> bool {
        let group = self.group();
        group % 2 == 1 && group > 0x0008 && group != 0xFFFF
    }

    /// A Private Creator element, (gggg,0010)–(gggg,00FF) in a private group.
    #[must_use]
    pub const fn is_private_creator(self) -> bool {
        self.is_private() && self.element() >= 0x0010 && self.element() <= 0x00FF
    }

    /// A group length element, (gggg,0000).
    #[must_use]
    pub const fn is_group_length(self) -> bool {
        self.element() == 0
    }

    /// For a private data element (gggg,xxyy), the tag of the private creator that reserved it, (gggg,00xx).
    #[must_use]
    pub const fn private_creator(self) -> Option<Tag> {
        if self.is_private() && self.element() >= 0x1000 {
            Some(Tag::new(self.group(), self.element() >> 8))
        } else {
            None
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:04X},{:04X})", self.group(), self.element())
    }
}

impl From<u32> for Tag {
    fn from(value: u32) -> Self {
        Tag(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_dicom_style() {
        assert_eq!(Tag::new(0x0028, 0x0100).to_string(), "(0028,0100)");
        assert_eq!(Tag::PIXEL_DATA.to_string(), "(7FE0,0010)");
    }

    #[test]
    fn private_rules() {
        assert!(Tag::new(0x0009, 0x0010).is_private_creator());
        assert!(!Tag::new(0x0009, 0x1010).is_private_creator());
        assert_eq!(Tag::new(0x0009, 0x1210).private_creator(), Some(Tag::new(0x0009, 0x0012)));
        assert!(!Tag::new(0x0003, 0x0010).is_private());
        assert!(!Tag::ITEM.is_private());
        assert!(Tag::new(0x0010, 0x0000).is_group_length());
    }

    #[test]
    fn order_is_group_then_element() {
        assert!(Tag::new(0x0008, 0xFFFF) < Tag::new(0x0010, 0x0000));
    }
}
