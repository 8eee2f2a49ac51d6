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

/// Scan the files under `roots`; returns `[(name, kind, rows, nulls, validity, arrays...)]`:
/// `validity` is Arrow's bitmap (bit i set when row i has a value; `None` without nulls) and
/// kind is one of "text" (offsets, data: 32-bit offsets unless the data needs 64),
/// "int"/"float" (values), `float_list` (offsets, values) or "date" (days). Arrow takes every
/// buffer as it is.
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
            let (kind, valid, arrays): (&str, Vec<bool>, Vec<Bound<'_, PyAny>>) = match buffers {
                Buffers::Text { offsets, data, valid } => {
                    let offsets = match narrow(&offsets) {
                        Some(narrow) => narrow.into_pyarray(py).into_any(),
                        None => offsets.into_pyarray(py).into_any(),
                    };
                    ("text", valid, vec![offsets, data.into_pyarray(py).into_any()])
                }
                Buffers::Int { values, valid } => ("int", valid, vec![values.into_pyarray(py).into_any()]),
                Buffers::Float { values, valid } => ("float", valid, vec![values.into_pyarray(py).into_any()]),
                Buffers::FloatList { offsets, values, valid } => {
                    ("float_list", valid, vec![offsets.into_pyarray(py).into_any(), values.into_pyarray(py).into_any()])
                }
                Buffers::Date { days, valid } => ("date", valid, vec![days.into_pyarray(py).into_any()]),
            };
            let nulls = valid.iter().filter(|&&v| !v).count();
            let validity = (nulls > 0).then(|| bitmap(&valid).into_pyarray(py).into_any());
            let mut all = vec![
                name.into_pyobject(py)?.into_any(),
                kind.into_pyobject(py)?.into_any(),
                valid.len().into_pyobject(py)?.into_any(),
                nulls.into_pyobject(py)?.into_any(),
                validity.unwrap_or_else(|| py.None().into_bound(py)),
            ];
            all.extend(arrays);
            PyTuple::new(py, all)
        })
        .collect()
}

/// Arrow's validity bitmap: bit `i % 8` of byte `i / 8` set when row `i` has a value.
fn bitmap(valid: &[bool]) -> Vec<u8> {
    valid.chunks(8).map(|byte| byte.iter().enumerate().fold(0u8, |bits, (i, &v)| bits | (u8::from(v) << i))).collect()
}

/// Text offsets as Arrow's plain string type has them (32 bits), when the data is small enough.
fn narrow(offsets: &[i64]) -> Option<Vec<i32>> {
    offsets.last().is_none_or(|&last| i32::try_from(last).is_ok()).then(|| offsets.iter().map(|&o| o as i32).collect())
}

/// The files `scan` reads for `roots`, in its order (GIL released while walking).
#[pyfunction]
#[pyo3(signature = (roots, *, recursive = true))]
pub fn list_files(py: Python<'_>, roots: Vec<PathBuf>, recursive: bool) -> Vec<String> {
    py.detach(|| bulk::collect_files(&roots, recursive).into_iter().map(|p| p.to_string_lossy().into_owned()).collect())
}
