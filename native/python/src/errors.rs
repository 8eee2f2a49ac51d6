//! The one place where core errors become Python exceptions (classes from `dicodec.errors`).

use dicodec_core::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// Convert a core error into the matching `dicodec.errors` exception, naming the file.
pub fn to_py_err(py: Python<'_>, err: &Error, path: Option<&str>) -> PyErr {
    if let (ErrorKind::Io, Some(source)) = (err.kind, &err.source) {
        // Not a DICOM problem: the OSError subclass Python users expect (FileNotFoundError...).
        let io = std::io::Error::new(source.kind(), err.to_string());
        return PyErr::from(io);
    }
    let class_name = match err.kind {
        ErrorKind::Io => "DicomError",
        kind => dicodec_core::bulk::kind_name(kind),
    };
    let build = || -> PyResult<PyErr> {
        let module = ERRORS_MODULE.get_or_try_init(py, || py.import("dicodec.errors").map(Bound::unbind))?;
        let class = module.bind(py).getattr(class_name)?.cast_into::<PyType>()?;
        let tag = err.tag.map(|t| t.0);
        let instance = class.call1((err.to_string(), path, tag, err.offset))?;
        Ok(PyErr::from_value(instance))
    };
    build().unwrap_or_else(|e| e)
}
