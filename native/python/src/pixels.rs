//! Pixel decoding for Python: describe, decode into NumPy arrays (GIL released), batches of
//! files, and the codec-level functions. Arrays are allocated by the Python layer or the caller.

use std::path::PathBuf;

use dicodec_core::codec::{jpeg_lossless, rle};
use dicodec_core::pixel::{self, DecodeOptions, Encoding, PixelInfo, DEFAULT_MAX_PIXEL_BYTES};
use dicodec_core::Error;
use numpy::{PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::to_py_err;
use crate::file::NativeFile;

/// A writable, C-contiguous NumPy array seen as bytes.
struct OutBuffer {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the array is kept alive by the caller's reference for the whole call, and NumPy
// arrays cannot be resized while referenced; the pointer is only written inside that call.
unsafe impl Send for OutBuffer {}

impl OutBuffer {
    fn new(array: &Bound<'_, PyUntypedArray>) -> PyResult<Self> {
        const WRITEABLE: i32 = 0x0400;
        // SAFETY: reading the fields of a live array object.
        let (ptr, flags) = unsafe {
            let raw = array.as_array_ptr();
            ((*raw).fields.data.cast::<u8>(), (*raw).fields.flags)
        };
        if !array.is_c_contiguous() || flags & WRITEABLE == 0 {
            return Err(PyValueError::new_err("out must be a writeable, C-contiguous array"));
        }
        Ok(OutBuffer { ptr, len: array.len() * array.dtype().itemsize() })
    }

    /// The bytes of the array.
    ///
    /// # Safety
    /// Only while the array is alive and no one else writes to it.
    unsafe fn bytes(&mut self) -> &mut [u8] {
        std::slice::from_raw_parts_mut(self.ptr, self.len)
    }
}

fn info_dict<'py>(py: Python<'py>, info: &PixelInfo) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("rows", info.rows)?;
    dict.set_item("columns", info.columns)?;
    dict.set_item("frames", info.frames)?;
    dict.set_item("samples_per_pixel", info.samples_per_pixel)?;
    dict.set_item("bits_allocated", info.bits_allocated)?;
    dict.set_item("bits_stored", info.bits_stored)?;
    dict.set_item("signed", info.signed)?;
    dict.set_item("planar_configuration", info.planar_configuration)?;
    dict.set_item("photometric_interpretation", &info.photometric)?;
    dict.set_item("dtype", info.dtype())?;
    let encoding = match info.encoding {
        Encoding::Native { .. } => "native",
        Encoding::Rle => "rle",
        Encoding::JpegLossless => "jpeg_lossless",
        Encoding::Other => "other",
    };
    dict.set_item("encoding", encoding)?;
    dict.set_item("view", info.stored_is_output(DecodeOptions { as_rgb: true }))?;
    dict.set_item("view_raw", info.stored_is_output(DecodeOptions { as_rgb: false }))?;
    dict.set_item("element", info.element)?;
    dict.set_item("warnings", &info.warnings)?;
    Ok(dict)
}

#[pymethods]
impl NativeFile {
    /// What the data set `start..end` says about its pixels (validated).
    #[pyo3(signature = (start, end, max_bytes = None))]
    fn pixel_info<'py>(&self, py: Python<'py>, start: u32, end: u32, max_bytes: Option<usize>) -> PyResult<Bound<'py, PyDict>> {
        let (file, range) = self.resolve(py, start, end, None)?;
        let info = PixelInfo::from_dataset(file, &range, max_bytes.unwrap_or(DEFAULT_MAX_PIXEL_BYTES))
            .map_err(|e| to_py_err(py, &e, self.path_str()))?;
        info_dict(py, &info)
    }

    /// Decode `frames` of the data set `start..end` into `out` with the GIL released; returns warnings.
    #[pyo3(signature = (start, end, frames, out, *, as_rgb = true, threads = None, max_bytes = None))]
    #[allow(clippy::too_many_arguments)]
    fn decode_into(
        &self,
        py: Python<'_>,
        start: u32,
        end: u32,
        frames: Vec<usize>,
        out: &Bound<'_, PyUntypedArray>,
        as_rgb: bool,
        threads: Option<usize>,
        max_bytes: Option<usize>,
    ) -> PyResult<Vec<String>> {
        let mut buffer = OutBuffer::new(out)?;
        let (file, range) = self.resolve(py, start, end, None)?;
        let result = py.detach(move || -> Result<Vec<String>, Error> {
            let info = PixelInfo::from_dataset(file, &range, max_bytes.unwrap_or(DEFAULT_MAX_PIXEL_BYTES))?;
            let mut warnings = info.warnings.clone();
            // SAFETY: `out` outlives this call (borrowed above) and is written only here.
            let bytes = unsafe { buffer.bytes() };
            pixel::with_threads(threads, || pixel::decode_frames(file, &info, &frames, bytes, DecodeOptions { as_rgb }, &mut warnings))??;
            Ok(warnings)
        });
        result.map_err(|e| to_py_err(py, &e, self.path_str()))
    }
}

/// Open `paths` and describe their pixels (GIL released); all must share one frame geometry.
/// Returns (frames in total, first file's pixel info) and keeps the opened files for `decode`.
#[pyclass(frozen, module = "dicodec._native")]
pub struct FileBatch {
    described: Vec<(dicodec_core::DicomFile, PixelInfo)>,
    paths: Vec<String>,
}

fn batch_err(py: Python<'_>, paths: &[String], err: &pixel::BatchError) -> PyErr {
    to_py_err(py, &err.error, paths.get(err.file).map(String::as_str))
}

#[pymethods]
impl FileBatch {
    #[new]
    #[pyo3(signature = (paths, *, mmap = true, threads = None, max_bytes = None))]
    fn new(py: Python<'_>, paths: Vec<PathBuf>, mmap: bool, threads: Option<usize>, max_bytes: Option<usize>) -> PyResult<Self> {
        let names: Vec<String> = paths.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        let max = max_bytes.unwrap_or(DEFAULT_MAX_PIXEL_BYTES);
        let described = py
            .detach(|| pixel::with_threads(threads, || pixel::describe(&paths, mmap, max)))
            .map_err(|e| to_py_err(py, &e, None))?
            .map_err(|e| batch_err(py, &names, &e))?;
        Ok(FileBatch { described, paths: names })
    }

    /// The pixel info of the first file (all share rows, columns, samples and dtype).
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.described.first().map(|(_, info)| info_dict(py, info)).transpose()
    }

    /// Frames that `decode_into(frames)` produces.
    #[pyo3(signature = (frames = None))]
    fn frame_count(&self, frames: Option<Vec<usize>>) -> usize {
        pixel::frame_count(&self.described, frames.as_deref())
    }

    /// Decode into `out` with the GIL released: every frame of each file, or frame `frames[i]` of file i.
    #[pyo3(signature = (out, frames = None, *, as_rgb = true, threads = None))]
    fn decode_into(&self, py: Python<'_>, out: &Bound<'_, PyUntypedArray>, frames: Option<Vec<usize>>, as_rgb: bool, threads: Option<usize>) -> PyResult<Vec<(usize, String)>> {
        if frames.as_ref().is_some_and(|f| f.len() != self.described.len()) {
            return Err(PyValueError::new_err("frames must give one frame index per file"));
        }
        let mut buffer = OutBuffer::new(out)?;
        let described = &self.described;
        let result = py.detach(move || {
            // SAFETY: `out` outlives this call and is written only here.
            let bytes = unsafe { buffer.bytes() };
            pixel::with_threads(threads, || pixel::decode_files(described, frames.as_deref(), bytes, DecodeOptions { as_rgb }))
        });
        result.map_err(|e| to_py_err(py, &e, None))?.map_err(|e| batch_err(py, &self.paths, &e))
    }
}

/// Decode one RLE Lossless frame (PS3.5 Annex G) into `out` (little endian): samples
/// interleaved, or with `planar` one plane per sample.
#[pyfunction]
#[pyo3(signature = (data, rows, columns, samples_per_pixel, bits_allocated, out, planar = false))]
#[allow(clippy::too_many_arguments)]
pub fn decode_rle_into(py: Python<'_>, data: &[u8], rows: usize, columns: usize, samples_per_pixel: usize, bits_allocated: usize, out: &Bound<'_, PyUntypedArray>, planar: bool) -> PyResult<Vec<String>> {
    let mut buffer = OutBuffer::new(out)?;
    let info = rle::FrameInfo { rows, columns, samples_per_pixel, bits_allocated };
    let decode = if planar { rle::decode_frame_planes } else { rle::decode_frame };
    let result = py.detach(move || {
        let mut warnings = Vec::new();
        // SAFETY: `out` outlives this call and is written only here.
        decode(data, &info, unsafe { buffer.bytes() }, &mut warnings).map(|()| warnings)
    });
    result.map_err(|e| to_py_err(py, &e, None))
}

/// What a JPEG Lossless codestream's headers say, without decoding it.
#[pyfunction]
pub fn jpeg_parameters<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    let parameters = jpeg_lossless::parameters(data).map_err(|e| to_py_err(py, &e, None))?;
    let dict = PyDict::new(py);
    dict.set_item("rows", parameters.height)?;
    dict.set_item("columns", parameters.width)?;
    dict.set_item("components", parameters.components)?;
    dict.set_item("precision", parameters.precision)?;
    dict.set_item("predictor", parameters.predictor)?;
    dict.set_item("point_transform", parameters.point_transform)?;
    dict.set_item("restart_interval", parameters.restart_interval)?;
    dict.set_item("interleaved", parameters.interleaved)?;
    Ok(dict)
}

/// Decode a JPEG Lossless (process 14) codestream into `out` with the GIL released.
#[pyfunction]
pub fn decode_jpeg_lossless_into(py: Python<'_>, data: &[u8], out: &Bound<'_, PyUntypedArray>) -> PyResult<()> {
    let mut buffer = OutBuffer::new(out)?;
    // SAFETY: `out` outlives this call and is written only here.
    let result = py.detach(move || jpeg_lossless::decode(data, unsafe { buffer.bytes() }).map(|_| ()));
    result.map_err(|e| to_py_err(py, &e, None))
}
