//! Bit-exactness against libjpeg-turbo 3 on generated images: every predictor, precision 2 to
//! 16, one and three components, sizes down to 1x1, and restart intervals of any number of
//! lines, which the Python-side tests cannot make (imagecodecs writes no restart markers).
//! libjpeg-turbo encodes each image; the decode must equal both the image and libjpeg-turbo's
//! own decode of the same codestream.

use std::ffi::{c_int, CStr};

use dicodec_core::codec::jpeg_lossless;
use proptest::prelude::*;
use turbojpeg_sys as tj;

/// A TurboJPEG instance, destroyed on drop.
struct Instance(tj::tjhandle);

impl Instance {
    fn new(kind: tj::TJINIT) -> Instance {
        // SAFETY: tj3Init has no preconditions; a null handle is checked below.
        let handle = unsafe { tj::tj3Init(kind as c_int) };
        assert!(!handle.is_null(), "tj3Init failed");
        Instance(handle)
    }

    fn set(&self, param: tj::TJPARAM, value: c_int) {
        // SAFETY: the handle is live; tj3Set validates the parameter and value.
        let status = unsafe { tj::tj3Set(self.0, param as c_int, value) };
        assert_eq!(status, 0, "tj3Set({param}, {value}): {}", self.error());
    }

    fn error(&self) -> String {
        // SAFETY: tj3GetErrorStr returns a NUL-terminated string owned by the instance.
        unsafe { CStr::from_ptr(tj::tj3GetErrorStr(self.0)) }.to_string_lossy().into_owned()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: the handle came from tj3Init and is destroyed once.
        unsafe { tj::tj3Destroy(self.0) };
    }
}

/// An image to encode: `width * height * components` samples below `2^precision`.
#[derive(Debug, Clone)]
struct Image {
    width: usize,
    height: usize,
    components: usize,
    precision: u8,
    samples: Vec<u16>,
}

impl Image {
    fn pixel_format(&self) -> c_int {
        (if self.components == 1 { tj::TJPF_TJPF_GRAY } else { tj::TJPF_TJPF_RGB }) as c_int
    }

    /// The samples as our decoder writes them: bytes for precision up to 8, else u16 LE.
    fn as_output(&self) -> Vec<u8> {
        if self.precision <= 8 {
            self.samples.iter().map(|&s| s as u8).collect()
        } else {
            self.samples.iter().flat_map(|s| s.to_le_bytes()).collect()
        }
    }
}

/// The image as a lossless JPEG with `predictor` and a restart marker every `restart_rows` lines.
fn encode(image: &Image, predictor: u8, restart_rows: usize) -> Vec<u8> {
    let encoder = Instance::new(tj::TJINIT_TJINIT_COMPRESS);
    encoder.set(tj::TJPARAM_TJPARAM_LOSSLESS, 1);
    encoder.set(tj::TJPARAM_TJPARAM_LOSSLESSPSV, c_int::from(predictor));
    encoder.set(tj::TJPARAM_TJPARAM_LOSSLESSPT, 0);
    encoder.set(tj::TJPARAM_TJPARAM_PRECISION, c_int::from(image.precision));
    let subsampling = if image.components == 1 { tj::TJSAMP_TJSAMP_GRAY } else { tj::TJSAMP_TJSAMP_444 };
    encoder.set(tj::TJPARAM_TJPARAM_SUBSAMP, subsampling as c_int);
    encoder.set(tj::TJPARAM_TJPARAM_RESTARTROWS, restart_rows as c_int);
    let (width, height) = (image.width as c_int, image.height as c_int);
    let mut buffer: *mut u8 = std::ptr::null_mut();
    let mut size: tj::size_t = 0;
    // SAFETY: each source buffer holds width * height * components samples of the type the
    // function takes (pitch 0: rows are packed); libjpeg-turbo allocates the output buffer.
    let status = unsafe {
        match image.precision {
            ..=8 => {
                let source: Vec<u8> = image.samples.iter().map(|&s| s as u8).collect();
                tj::tj3Compress8(encoder.0, source.as_ptr(), width, 0, height, image.pixel_format(), &mut buffer, &mut size)
            }
            9..=12 => {
                let source: Vec<i16> = image.samples.iter().map(|&s| s as i16).collect();
                tj::tj3Compress12(encoder.0, source.as_ptr(), width, 0, height, image.pixel_format(), &mut buffer, &mut size)
            }
            _ => tj::tj3Compress16(encoder.0, image.samples.as_ptr(), width, 0, height, image.pixel_format(), &mut buffer, &mut size),
        }
    };
    assert_eq!(status, 0, "tj3Compress: {}", encoder.error());
    // SAFETY: on success `buffer` holds `size` bytes, freed once with tj3Free.
    let stream = unsafe { std::slice::from_raw_parts(buffer, size as usize) }.to_vec();
    unsafe { tj::tj3Free(buffer.cast()) };
    stream
}

/// libjpeg-turbo's decode of `stream`, laid out as ours.
fn turbo_decode(stream: &[u8], image: &Image) -> Vec<u8> {
    let decoder = Instance::new(tj::TJINIT_TJINIT_DECOMPRESS);
    let samples = image.samples.len();
    // SAFETY: each destination holds width * height * components samples (pitch 0: packed).
    let (status, decoded) = unsafe {
        match image.precision {
            ..=8 => {
                let mut out = vec![0u8; samples];
                let status = tj::tj3Decompress8(decoder.0, stream.as_ptr(), stream.len() as tj::size_t, out.as_mut_ptr(), 0, image.pixel_format());
                (status, out)
            }
            9..=12 => {
                let mut out = vec![0i16; samples];
                let status = tj::tj3Decompress12(decoder.0, stream.as_ptr(), stream.len() as tj::size_t, out.as_mut_ptr(), 0, image.pixel_format());
                (status, out.iter().flat_map(|s| (*s as u16).to_le_bytes()).collect())
            }
            _ => {
                let mut out = vec![0u16; samples];
                let status = tj::tj3Decompress16(decoder.0, stream.as_ptr(), stream.len() as tj::size_t, out.as_mut_ptr(), 0, image.pixel_format());
                (status, out.iter().flat_map(|s| s.to_le_bytes()).collect())
            }
        }
    };
    assert_eq!(status, 0, "tj3Decompress: {}", decoder.error());
    decoded
}

/// Images of every shape and precision: noise over the whole range, or a smooth ramp with
/// a little noise, as medical images have.
fn images() -> impl Strategy<Value = Image> {
    (1usize..=40, 1usize..=40, prop_oneof![Just(1usize), Just(3)], 2u8..=16, any::<bool>(), any::<u64>()).prop_map(
        |(width, height, components, precision, smooth, seed)| {
            let top = (1u32 << precision) - 1;
            let mut state = seed | 1;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            let samples = (0..width * height * components)
                .map(|i| {
                    let value = if smooth {
                        let (x, y) = ((i / components) % width, (i / components) / width);
                        (x * 7 + y * 3 + i % components * 11) as u32 + (next() % 5) as u32
                    } else {
                        next() as u32
                    };
                    (value & top) as u16
                })
                .collect();
            Image { width, height, components, precision, samples }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn decodes_libjpeg_turbo_streams_exactly(image in images(), predictor in 1u8..=7, restart in 0usize..=41) {
        let restart_rows = restart.min(image.height);
        let stream = encode(&image, predictor, restart_rows);
        let params = jpeg_lossless::parameters(&stream).expect("parameters");
        prop_assert_eq!(usize::from(params.predictor), usize::from(predictor));
        prop_assert_eq!(usize::from(params.restart_interval), restart_rows * image.width);
        let mut out = vec![0u8; params.output_len().expect("fits")];
        jpeg_lossless::decode(&stream, &mut out).expect("decodes");
        prop_assert_eq!(&out, &image.as_output(), "differs from the image");
        prop_assert_eq!(&out, &turbo_decode(&stream, &image), "differs from libjpeg-turbo's decode");
    }
}

/// The generated streams do carry restart markers, so the property above exercises them.
#[test]
fn restart_rows_write_restart_markers() {
    let image = Image { width: 9, height: 12, components: 1, precision: 12, samples: (0..108).map(|i| i * 37 % 4096).collect() };
    let stream = encode(&image, 1, 2);
    let markers = stream.windows(2).filter(|w| w[0] == 0xFF && (0xD0..=0xD7).contains(&w[1])).count();
    assert_eq!(markers, 5, "one marker between each of the six 2-line intervals");
}
