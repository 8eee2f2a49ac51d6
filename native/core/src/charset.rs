//! TEMPORARY STUB (to be replaced entirely by the real charset module).
pub struct CharacterSet;
impl CharacterSet {
    #[must_use]
    pub fn from_value(_raw: &[u8]) -> Self { CharacterSet }
    #[must_use]
    pub fn decode(&self, bytes: &[u8], _delimiters: &[u8]) -> String { bytes.iter().map(|&b| char::from(b)).collect() }
}
