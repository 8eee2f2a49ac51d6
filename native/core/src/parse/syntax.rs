//! Transfer syntaxes: how the data set after the file meta is encoded.

/// How elements of a data set are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    /// VR written in each element header (otherwise taken from the dictionary).
    pub explicit_vr: bool,
    /// Numbers and tags are big endian.
    pub big_endian: bool,
}

impl Encoding {
    /// Implicit VR Little Endian, the DICOM default.
    pub const IMPLICIT_LE: Encoding = Encoding { explicit_vr: false, big_endian: false };
    /// Explicit VR Little Endian, also used by the file meta and all compressed syntaxes.
    pub const EXPLICIT_LE: Encoding = Encoding { explicit_vr: true, big_endian: false };
    /// Explicit VR Big Endian (retired, still met).
    pub const EXPLICIT_BE: Encoding = Encoding { explicit_vr: true, big_endian: true };
}

/// Implicit VR Little Endian.
pub const IMPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2";
/// Explicit VR Little Endian.
pub const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";
/// Deflated Explicit VR Little Endian.
pub const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1.99";
/// Explicit VR Big Endian.
pub const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";

/// The encoding of the data set under `uid`, and whether it is deflated. Every syntax that is
/// not one of the four native ones encapsulates its pixel data inside an Explicit VR LE data set.
#[must_use]
pub fn encoding_of(uid: &str) -> (Encoding, bool) {
    match uid {
        IMPLICIT_VR_LITTLE_ENDIAN => (Encoding::IMPLICIT_LE, false),
        EXPLICIT_VR_BIG_ENDIAN => (Encoding::EXPLICIT_BE, false),
        DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN => (Encoding::EXPLICIT_LE, true),
        _ => (Encoding::EXPLICIT_LE, false),
    }
}

/// The standard's name for a transfer syntax UID, where we know it.
#[must_use]
pub fn name_of(uid: &str) -> Option<&'static str> {
    Some(match uid {
        IMPLICIT_VR_LITTLE_ENDIAN => "Implicit VR Little Endian",
        EXPLICIT_VR_LITTLE_ENDIAN => "Explicit VR Little Endian",
        DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN => "Deflated Explicit VR Little Endian",
        EXPLICIT_VR_BIG_ENDIAN => "Explicit VR Big Endian",
        "1.2.840.10008.1.2.4.50" => "JPEG Baseline (Process 1)",
        "1.2.840.10008.1.2.4.51" => "JPEG Extended (Process 2 & 4)",
        "1.2.840.10008.1.2.4.57" => "JPEG Lossless, Non-Hierarchical (Process 14)",
        "1.2.840.10008.1.2.4.70" => "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
        "1.2.840.10008.1.2.4.80" => "JPEG-LS Lossless Image Compression",
        "1.2.840.10008.1.2.4.81" => "JPEG-LS Lossy (Near-Lossless) Image Compression",
        "1.2.840.10008.1.2.4.90" => "JPEG 2000 Image Compression (Lossless Only)",
        "1.2.840.10008.1.2.4.91" => "JPEG 2000 Image Compression",
        "1.2.840.10008.1.2.4.201" => "High-Throughput JPEG 2000 Image Compression (Lossless Only)",
        "1.2.840.10008.1.2.4.202" => "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)",
        "1.2.840.10008.1.2.4.203" => "High-Throughput JPEG 2000 Image Compression",
        "1.2.840.10008.1.2.5" => "RLE Lossless",
        "1.2.840.10008.1.2.8.1" => "Deflated Image Frame Compression",
        _ => return None,
    })
}
