//! `dicodec._native`: the bindings. They convert types and release the GIL; the logic is in
//! `dicodec-core`, the friendly objects in the `dicodec` Python package.

// PyO3 hands arguments over as owned values; taking them by reference is not an option.
#![allow(clippy::needless_pass_by_value)]

mod bulk;
mod errors;
mod file;
mod pixels;

use pyo3::prelude::*;

// Headers are read, kept and dropped by the thousand. glibc's malloc hands freed memory back
// to the kernel and faults it in again for the next batch; mimalloc keeps and reuses it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule(gil_used = false)]
mod _native {
    #[pymodule_export]
    use crate::bulk::{list_files, scan};
    #[pymodule_export]
    use crate::pixels::{decode_jpeg_lossless_into, decode_rle_into, jpeg_parameters, FileBatch};
    #[pymodule_export]
    use crate::file::{keyword_for_tag, name_for_tag, open, parse_bytes, tag_for_keyword, transfer_syntax_name, vr_for_tag, NativeFile};

    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use pyo3::types::PyModuleMethods;
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
