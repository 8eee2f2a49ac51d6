//! `scan` for Python: walk, read headers on rayon's threads with the GIL released, and hand the
//! columns over as NumPy arrays (moved, not copied) for the Python layer to wrap in Arrow.

use std::path::PathBuf;

use dicodec_core::bulk::{self, Buffers};
use dicodec_core::pixel::with_threads;
use dicodec_core::Tag;
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::to_py_err;

/// Scan the files under `roots`; returns `[(name, kind, arrays...)]`, kind being one of
/// "text" (offsets, data, valid), "int"/"float" (values, valid), `float_list` (offsets,
/// values, valid) or "date" (days, valid).
#[pyfunction]
#[pyo3(signature = (roots, tags, *, recursive = true, force = false, threads = None))]
pub fn scan(py: Python<'_>, roots: Vec<PathBuf>, tags: Vec<u32>, recursive: bool, force: bool, threads: Option<usize>) -> PyResult<Vec<Bound<'_, PyTuple>>> {
    let columns = py
        .detach(|| {
            with_threads(threads, || {
                let files = bulk::collect_files(&roots, recursive);
                let mut columns = bulk::default_columns();
                for tag in tags {
                    if !columns.iter().any(|c| c.tag.0 == tag) {
                        columns.push(bulk::column_for(Tag(tag)));
                    }
                }
                bulk::scan_files(&files, &columns, force)
            })
        })
        .map_err(|e| to_py_err(py, &e, None))?;
    columns
        .into_iter()
        .map(|(name, buffers)| {
            let items: Vec<Bound<'_, PyAny>> = match buffers {
                Buffers::Text { offsets, data, valid } => {
                    vec!["text".into_pyobject(py)?.into_any(), offsets.into_pyarray(py).into_any(), data.into_pyarray(py).into_any(), valid.into_pyarray(py).into_any()]
                }
                Buffers::Int { values, valid } => vec!["int".into_pyobject(py)?.into_any(), values.into_pyarray(py).into_any(), valid.into_pyarray(py).into_any()],
                Buffers::Float { values, valid } => vec!["float".into_pyobject(py)?.into_any(), values.into_pyarray(py).into_any(), valid.into_pyarray(py).into_any()],
                Buffers::FloatList { offsets, values, valid } => vec![
                    "float_list".into_pyobject(py)?.into_any(),
                    offsets.into_pyarray(py).into_any(),
                    values.into_pyarray(py).into_any(),
                    valid.into_pyarray(py).into_any(),
                ],
                Buffers::Date { days, valid } => vec!["date".into_pyobject(py)?.into_any(), days.into_pyarray(py).into_any(), valid.into_pyarray(py).into_any()],
            };
            let mut all = vec![name.into_pyobject(py)?.into_any()];
            all.extend(items);
            PyTuple::new(py, all)
        })
        .collect()
}

/// The files `scan` reads for `roots`, in its order (GIL released while walking).
#[pyfunction]
#[pyo3(signature = (roots, *, recursive = true))]
pub fn list_files(py: Python<'_>, roots: Vec<PathBuf>, recursive: bool) -> Vec<String> {
    py.detach(|| bulk::collect_files(&roots, recursive).into_iter().map(|p| p.to_string_lossy().into_owned()).collect())
}
