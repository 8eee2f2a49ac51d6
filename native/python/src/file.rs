//! `NativeFile`: a scanned file held by Python. Accessors hand out index entries and decoded
//! values; the `dicodec.Dataset` Python class builds the friendly API on top.

use std::ops::Range;
use std::path::PathBuf;

use dicodec_core::charset::CharacterSet;
use dicodec_core::parse::{Buffer, Children, LazyFile, SkipSequences};
use dicodec_core::{pixel, value};
use dicodec_core::{dictionary, DicomFile, Element, Error, ParseOptions, Tag, Vr};
use numpy::ndarray::ArrayView1;
use numpy::PyArray1;
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::errors::to_py_err;

/// A scanned DICOM file: its bytes (read, mapped or lent) and the element index.
#[pyclass(frozen, module = "dicodec._native")]
pub struct NativeFile {
    file: LazyFile,
    path: Option<String>,
}

/// The bytes of a Python `bytes` object, borrowed for as long as the object is held.
struct PyBytesBuffer {
    _owner: Py<PyBytes>,
    ptr: *const u8,
    len: usize,
}

// SAFETY: `bytes` objects are immutable and `_owner` keeps this one alive, so the pointer stays
// valid and the memory unchanged from any thread, with or without the GIL.
unsafe impl Send for PyBytesBuffer {}
unsafe impl Sync for PyBytesBuffer {}

impl AsRef<[u8]> for PyBytesBuffer {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: see the Send/Sync note; ptr/len were taken from the live object.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

fn options(stop_before_pixels: bool, stop_at: Option<u32>, force: bool) -> ParseOptions {
    ParseOptions { stop_before_pixels, stop_at: stop_at.map(Tag), force, ..ParseOptions::default() }
}

/// Scan the file at `path` with the GIL released: its header now, the rest (memory-mapped
/// unless `mmap` is false) when first needed. `skip_sequences` steps over sequences of defined
/// length (see `ParseOptions::skip_sequences`): for the pixel paths, which never show the data set.
#[pyfunction]
#[pyo3(signature = (path, stop_before_pixels = false, stop_at = None, force = false, mmap = true, header_first = true, skip_sequences = false))]
// The flags are Python keyword arguments, each with its default.
#[allow(clippy::fn_params_excessive_bools, clippy::too_many_arguments)]
pub fn open(py: Python<'_>, path: PathBuf, stop_before_pixels: bool, stop_at: Option<u32>, force: bool, mmap: bool, header_first: bool, skip_sequences: bool) -> PyResult<NativeFile> {
    let skip_sequences = if skip_sequences { SkipSequences::All } else { SkipSequences::None };
    let options = ParseOptions { skip_sequences, ..options(stop_before_pixels, stop_at, force) };
    let scanned = py.detach(|| if header_first { LazyFile::open(&path, &options, mmap) } else { LazyFile::open_whole(&path, &options, mmap) });
    // The path's own bytes when they are UTF-8, as a str's are: no copy.
    let path = path.into_os_string().into_string().unwrap_or_else(|path| path.to_string_lossy().into_owned());
    match scanned {
        Ok(file) => Ok(NativeFile { file, path: Some(path) }),
        Err(err) => Err(to_py_err(py, &err, Some(&path))),
    }
}

/// Scan bytes in memory. A `bytes` object is borrowed without copying; other buffers are copied.
#[pyfunction]
#[pyo3(signature = (data, *, stop_before_pixels = false, stop_at = None, force = false, name = None))]
pub fn parse_bytes(py: Python<'_>, data: &Bound<'_, PyAny>, stop_before_pixels: bool, stop_at: Option<u32>, force: bool, name: Option<String>) -> PyResult<NativeFile> {
    let bytes = match data.cast::<PyBytes>() {
        Ok(bytes) => bytes.clone(),
        // bytearray, memoryview...: one copy into an immutable `bytes`.
        Err(_) => py.get_type::<PyBytes>().call1((data,))?.cast_into::<PyBytes>()?,
    };
    let slice = bytes.as_bytes();
    let buffer = Buffer::Lent(Box::new(PyBytesBuffer { ptr: slice.as_ptr(), len: slice.len(), _owner: bytes.clone().unbind() }));
    let options = options(stop_before_pixels, stop_at, force);
    match py.detach(|| LazyFile::parse(buffer, &options)) {
        Ok(file) => Ok(NativeFile { file, path: name }),
        Err(err) => Err(to_py_err(py, &err, name.as_deref())),
    }
}

impl NativeFile {
    /// The scanned file, as far as it has been read.
    fn file(&self) -> &DicomFile {
        self.file.current()
    }

    /// The file and element range that answer for the data set `start..end` (see
    /// [`LazyFile::resolve`]), reading the rest of the file if needed.
    pub(crate) fn resolve(&self, py: Python<'_>, start: u32, end: u32, tag: Option<u32>) -> PyResult<(&DicomFile, Range<u32>)> {
        let resolved = if tag.is_some() {
            // Lookups by tag read the rest of the file only for the pixel data itself.
            self.file.resolve(start..end, tag.map(Tag))
        } else {
            py.detach(|| self.file.resolve(start..end, None))
        };
        resolved.map_err(|e| to_py_err(py, e, self.path_str()))
    }

    /// The file that answers for `tag` in the data set `start..end`, and the tag's index there.
    fn located(&self, py: Python<'_>, start: u32, end: u32, tag: u32) -> PyResult<Option<(&DicomFile, u32)>> {
        let (file, range) = self.resolve(py, start, end, Some(tag))?;
        if range.start > range.end || range.end as usize > file.index.elements.len() {
            return Ok(None);
        }
        Ok(file.index.find(&range, Tag(tag)).map(|index| (file, index)))
    }

    /// The whole file, reading the rest of it if needed.
    fn whole(&self, py: Python<'_>) -> PyResult<&DicomFile> {
        py.detach(|| self.file.whole()).map_err(|e| to_py_err(py, e, self.path_str()))
    }

    /// The path, for error messages.
    pub(crate) fn path_str(&self) -> Option<&str> {
        self.path.as_deref()
    }

    fn element(&self, index: usize) -> PyResult<&Element> {
        self.file().index.elements.get(index).ok_or_else(|| PyIndexError::new_err(format!("no element {index}")))
    }
}

type ElementTuple = (u32, &'static str, usize, usize, u32, usize, bool);

/// (tag, VR, header offset, value offset, length as written, value bytes present, big endian).
fn info_tuple(e: &Element) -> ElementTuple {
    (e.tag.0, e.vr.as_str(), e.header_offset, e.value_offset, e.length, e.value_len, e.encoding.big_endian)
}

#[pymethods]
impl NativeFile {
    /// The path it was read from, or the name given to `parse_bytes`.
    #[getter]
    fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    #[getter]
    fn transfer_syntax(&self) -> &str {
        &self.file().transfer_syntax
    }

    /// (explicit VR, big endian) of the top-level data set.
    #[getter]
    fn encoding(&self) -> (bool, bool) {
        let encoding = self.file().encoding;
        (encoding.explicit_vr, encoding.big_endian)
    }

    /// Whether values beyond the header are viewed through a memory map.
    #[getter]
    fn is_mapped(&self) -> bool {
        self.file.is_mapped()
    }

    #[getter]
    fn has_preamble(&self) -> bool {
        self.file().has_preamble
    }

    #[getter]
    fn deflated(&self) -> bool {
        self.file().deflated
    }

    /// Whether `stop_before_pixels` or `stop_at` ended the scan before the end of the file.
    #[getter]
    fn stopped_early(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.whole(py)?.stopped_early)
    }

    /// Bytes in the indexed stream: the whole file's (read for the purpose).
    #[getter]
    fn size(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.whole(py)?.bytes().len())
    }

    /// What the scanner tolerated in the whole file: (message, tag or None, offset) each.
    fn warnings(&self, py: Python<'_>) -> PyResult<Vec<(String, Option<u32>, usize)>> {
        let file = self.whole(py)?;
        Ok(file.warnings.iter().map(|w| (w.message.clone(), w.tag.map(|t| t.0), w.offset)).collect())
    }

    /// The element range of the file meta group.
    fn meta(&self) -> (u32, u32) {
        let meta = &self.file().index.meta;
        (meta.start, meta.end)
    }

    /// The element range of the top-level data set.
    fn root(&self) -> (u32, u32) {
        let root = &self.file().index.root;
        (root.start, root.end)
    }

    /// The index of `tag` in the data set `start..end`, if present.
    fn find(&self, py: Python<'_>, start: u32, end: u32, tag: u32) -> PyResult<Option<u32>> {
        Ok(self.located(py, start, end, tag)?.map(|(_, index)| index))
    }

    /// `find` and `element_info` in one call: (index, *element info) of `tag`, if present.
    fn lookup(&self, py: Python<'_>, start: u32, end: u32, tag: u32) -> PyResult<Option<(usize, ElementTuple)>> {
        let found = self.located(py, start, end, tag)?;
        Ok(found.map(|(file, index)| (index as usize, info_tuple(&file.index.elements[index as usize]))))
    }

    /// The tags of the data set `start..end`, in order.
    fn tags(&self, py: Python<'_>, start: u32, end: u32) -> PyResult<Vec<u32>> {
        let (file, range) = self.resolve(py, start, end, None)?;
        let elements = file.index.elements.get(range.start as usize..range.end as usize).unwrap_or_default();
        Ok(elements.iter().map(|e| e.tag.0).collect())
    }

    /// (tag, VR, header offset, value offset, length as written, value bytes present, big endian).
    fn element_info(&self, index: usize) -> PyResult<ElementTuple> {
        Ok(info_tuple(self.element(index)?))
    }

    /// The items of a sequence: (element start, element end, item offset) each.
    fn items(&self, py: Python<'_>, index: usize) -> PyResult<Vec<(u32, u32, usize)>> {
        let index = u32::try_from(index).map_err(|_| PyIndexError::new_err(format!("no element {index}")))?;
        // A sequence a header read stepped over has its items read now.
        let found = py.detach(|| self.file.element(index)).map_err(|e| to_py_err(py, e, self.path_str()))?;
        let (file, element) = found.ok_or_else(|| PyIndexError::new_err(format!("no element {index}")))?;
        if element.children == Children::Unread {
            let error = Error::unsupported("the items of this sequence were not read: the file was opened for its pixel data only", Some(element.tag), element.header_offset);
            return Err(to_py_err(py, &error, self.path_str()));
        }
        let Children::Items(range) = &element.children else { return Ok(Vec::new()) };
        let items = &file.index.items[range.start as usize..range.end as usize];
        Ok(items.iter().map(|item| (item.elements.start, item.elements.end, item.offset)).collect())
    }

    /// The items of encapsulated pixel data, offset table first: (offset, length) each.
    fn fragments(&self, py: Python<'_>, index: usize) -> PyResult<Vec<(usize, usize)>> {
        let element = self.element(index)?;
        let Children::Fragments(_) = &element.children else { return Ok(Vec::new()) };
        let items = pixel::encapsulated_items(self.file(), element).map_err(|e| to_py_err(py, &e, self.path_str()))?;
        Ok(items.iter().map(|f| (f.offset, f.length)).collect())
    }

    /// A string value split into its values, decoded with the given Specific Character Set value.
    #[pyo3(signature = (index, charset = None))]
    fn strings<'py>(&self, py: Python<'py>, index: usize, charset: Option<&[u8]>) -> PyResult<Bound<'py, PyList>> {
        let e = self.element(index)?;
        let charset = CharacterSet::from_value(charset.unwrap_or_default());
        // Straight from the (usually borrowed) values to Python strings.
        let list = PyList::empty(py);
        let mut appended = Ok(());
        value::for_each_string(self.file().value_bytes(e), e.vr, &charset, |text| {
            if appended.is_ok() {
                appended = list.append(text);
            }
        });
        appended.map(|()| list)
    }

    /// DS or IS values as numbers; a value that does not parse is returned as its string.
    fn numeric_strings<'py>(&self, py: Python<'py>, index: usize) -> PyResult<Bound<'py, PyList>> {
        let e = self.element(index)?;
        let texts = value::strings(self.file().value_bytes(e), e.vr, &CharacterSet::from_value(b""));
        let list = PyList::empty(py);
        for text in texts {
            match value::parse_numeric_string(&text, e.vr) {
                Some(value::Number::Int(number)) => list.append(number)?,
                Some(value::Number::Float(number)) => list.append(number)?,
                None => list.append(text)?,
            }
        }
        Ok(list)
    }

    /// The values of a binary number VR (US, SS, UL, SL, UV, SV, FL, FD, AT as ints).
    fn numbers<'py>(&self, py: Python<'py>, index: usize) -> PyResult<Bound<'py, PyList>> {
        let e = self.element(index)?;
        let (bytes, be) = (self.file().value_bytes(e), e.encoding.big_endian);
        match e.vr {
            Vr::US => PyList::new(py, value::binary_values::<u16>(bytes, be)),
            Vr::SS => PyList::new(py, value::binary_values::<i16>(bytes, be)),
            Vr::UL => PyList::new(py, value::binary_values::<u32>(bytes, be)),
            Vr::SL => PyList::new(py, value::binary_values::<i32>(bytes, be)),
            Vr::UV => PyList::new(py, value::binary_values::<u64>(bytes, be)),
            Vr::SV => PyList::new(py, value::binary_values::<i64>(bytes, be)),
            Vr::FL => PyList::new(py, value::binary_values::<f32>(bytes, be)),
            Vr::FD => PyList::new(py, value::binary_values::<f64>(bytes, be)),
            Vr::AT => PyList::new(py, value::tags(bytes, be).into_iter().map(|t| t.0)),
            other => Err(pyo3::exceptions::PyTypeError::new_err(format!("{other} is not a binary number VR"))),
        }
    }

    /// The value's bytes as a read-only uint8 NumPy array over the file's memory (no copy).
    fn value_array<'py>(slf: &Bound<'py, Self>, index: usize) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let this = slf.get();
        let element = this.element(index)?;
        let bytes = this.file().value_bytes(element);
        borrowed_array(slf, bytes)
    }

    /// A fragment's bytes as a read-only uint8 NumPy array (no copy).
    fn fragment_array<'py>(slf: &Bound<'py, Self>, offset: usize, length: usize) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let bytes = slf.get().file().bytes().get(offset..offset.saturating_add(length));
        let bytes = bytes.ok_or_else(|| PyIndexError::new_err("fragment outside the file"))?;
        borrowed_array(slf, bytes)
    }

    /// The value's bytes, copied into a `bytes` object.
    fn value_bytes<'py>(&self, py: Python<'py>, index: usize) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, self.file().value_bytes(self.element(index)?)))
    }
}

/// A read-only array over `bytes`, which must lie inside the file held by `owner`.
fn borrowed_array<'py>(owner: &Bound<'py, NativeFile>, bytes: &[u8]) -> PyResult<Bound<'py, PyArray1<u8>>> {
    let view = ArrayView1::from(bytes);
    // SAFETY: `bytes` lives in a buffer of the `LazyFile` that `owner` holds, which never
    // mutates or drops one before itself; `owner` becomes the array's base and keeps it alive
    // as long as the array.
    let array = unsafe { PyArray1::borrow_from_array(&view, owner.clone().into_any()) };
    array.call_method1("setflags", (false,))?;
    Ok(array)
}

/// The tag of a dictionary keyword.
#[pyfunction]
pub fn tag_for_keyword(keyword: &str) -> Option<u32> {
    dictionary::by_keyword(keyword).map(|entry| entry.tag)
}

/// The keyword of a tag in the standard dictionary.
#[pyfunction]
pub fn keyword_for_tag(tag: u32) -> Option<&'static str> {
    dictionary::keyword_of(tag)
}

/// The dictionary VR of a tag ("US or SS" style alternatives included).
#[pyfunction]
pub fn vr_for_tag(tag: u32) -> Option<&'static str> {
    dictionary::vr_of(tag)
}

/// The standard's name of a tag.
#[pyfunction]
pub fn name_for_tag(tag: u32) -> Option<&'static str> {
    dictionary::name_of(tag)
}

/// The standard's name of a transfer syntax UID, where known.
#[pyfunction]
pub fn transfer_syntax_name(uid: &str) -> Option<&'static str> {
    dicodec_core::parse::syntax::name_of(uid)
}
