//! Many files at once: open, describe and decode them on rayon's threads into one buffer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;

use super::{decode_frames, DecodeOptions, PixelInfo};
use crate::error::{Error, Result};
use crate::parse::{DicomFile, ParseOptions, SkipSequences};

/// The pool for calls that name no thread count: rayon's global pool in the process that
/// started it; in a forked child, whose copy of that pool has no threads (anything sent to it
/// would wait forever), a pool of the child's own, made once.
fn default_pool() -> Result<Option<Arc<rayon::ThreadPool>>> {
    static STARTED_IN: OnceLock<u32> = OnceLock::new();
    static CHILD_POOL: Mutex<Option<(u32, Arc<rayon::ThreadPool>)>> = Mutex::new(None);
    let pid = std::process::id();
    if *STARTED_IN.get_or_init(|| pid) == pid {
        return Ok(None);
    }
    let mut child = CHILD_POOL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, pool)) = child.as_ref().filter(|(owner, _)| *owner == pid) {
        return Ok(Some(Arc::clone(pool)));
    }
    let pool = Arc::new(build_pool(None)?);
    *child = Some((pid, Arc::clone(&pool)));
    Ok(Some(pool))
}

/// The pool for calls that name a thread count: made when a count is first asked for and kept
/// (for the last count asked for), so that calls in a loop, such as a batch per training step,
/// neither start threads nor begin with cold allocator heaps every time (`decode_files` of 8 CT
/// slices on two threads took about a quarter longer on a fresh pool than on a kept one). A pool
/// inherited from another process has no threads here: it is left alone, never used.
fn sized_pool(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    static SIZED_POOL: Mutex<Option<(u32, usize, Arc<rayon::ThreadPool>)>> = Mutex::new(None);
    let pid = std::process::id();
    let lock = || SIZED_POOL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, _, pool)) = lock().as_ref().filter(|(owner, size, _)| *owner == pid && *size == threads) {
        return Ok(Arc::clone(pool));
    }
    // Built unlocked: the lock is held for moments only, so a fork rarely finds it taken.
    let pool = Arc::new(build_pool(Some(threads))?);
    if let Some((owner, _, inherited)) = lock().replace((pid, threads, Arc::clone(&pool))) {
        if owner != pid {
            // Dropping it would signal threads that exist only in the parent.
            std::mem::forget(inherited);
        }
    }
    Ok(pool)
}

fn build_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        builder = builder.num_threads(n.max(1));
    }
    builder.build().map_err(|e| Error::limit(format!("cannot start a thread pool: {e}"), None, 0))
}

/// Run `work` on a pool of `threads` threads, or on the default pool when `None`
/// (safe in processes forked after the default pool started). Pools are kept between calls.
pub fn with_threads<R: Send>(threads: Option<usize>, work: impl FnOnce() -> R + Send) -> Result<R> {
    match threads {
        None => match default_pool()? {
            None => Ok(work()),
            Some(pool) => Ok(pool.install(work)),
        },
        Some(n) => Ok(sized_pool(n.max(1))?.install(work)),
    }
}

/// An error in one of the files of a batch, with the index of that file.
pub struct BatchError {
    pub file: usize,
    pub error: Error,
}

fn open(path: &Path, mmap: bool) -> Result<DicomFile> {
    // The pixels need only the top-level data set.
    let options = ParseOptions { skip_sequences: SkipSequences::All, ..ParseOptions::default() };
    if mmap {
        DicomFile::open(path, &options)
    } else {
        DicomFile::read(path, &options)
    }
}

/// Describe the pixels of every file (in parallel), checking they can share one array.
pub fn describe(paths: &[PathBuf], mmap: bool, max_bytes: usize) -> Result<Vec<(DicomFile, PixelInfo)>, BatchError> {
    let described: Vec<(DicomFile, PixelInfo)> = paths
        .par_iter()
        .enumerate()
        .map(|(i, path)| {
            let file = open(path, mmap).map_err(|error| BatchError { file: i, error })?;
            let info = PixelInfo::from_dataset(&file, &file.index.root.clone(), max_bytes).map_err(|error| BatchError { file: i, error })?;
            Ok((file, info))
        })
        .collect::<Result<_, BatchError>>()?;
    if let Some((_, first)) = described.first() {
        let shape = |i: &PixelInfo| (i.rows, i.columns, i.samples_per_pixel, i.dtype());
        if let Some(position) = described.iter().position(|(_, info)| shape(info) != shape(first)) {
            let (r, c, s, d) = shape(&described[position].1);
            let (r0, c0, s0, d0) = shape(first);
            return Err(BatchError {
                file: position,
                error: Error::invalid(format!("frames are {r} x {c} x {s} {d} but the first file's are {r0} x {c0} x {s0} {d0}"), None, 0),
            });
        }
    }
    Ok(described)
}

/// Decode the frames of `described` files into `out`: every frame of each file when `frames`
/// is `None`, else frame `frames[i]` of file `i`. `out` must hold exactly that many frames.
pub fn decode_files(described: &[(DicomFile, PixelInfo)], frames: Option<&[usize]>, out: &mut [u8], options: DecodeOptions) -> Result<Vec<(usize, String)>, BatchError> {
    let Some((_, first)) = described.first() else { return Ok(Vec::new()) };
    let frame_bytes = first.frame_bytes();
    let wanted: Vec<Vec<usize>> = match frames {
        Some(frames) => frames.iter().map(|&f| vec![f]).collect(),
        None => described.iter().map(|(_, info)| (0..info.frames).collect()).collect(),
    };
    let total: usize = wanted.iter().map(Vec::len).sum();
    if out.len() != total * frame_bytes {
        return Err(BatchError {
            file: 0,
            error: Error::invalid(format!("the output holds {} bytes but {total} frames need {}", out.len(), total * frame_bytes), None, 0),
        });
    }
    let mut slots = Vec::with_capacity(described.len());
    let mut rest = out;
    for frames in &wanted {
        let (slot, tail) = rest.split_at_mut(frames.len() * frame_bytes);
        slots.push(slot);
        rest = tail;
    }
    let warnings: Vec<Vec<(usize, String)>> = described
        .par_iter()
        .zip(wanted.par_iter())
        .zip(slots.into_par_iter())
        .enumerate()
        .map(|(i, (((file, info), frames), slot))| {
            let mut warnings = info.warnings.clone();
            decode_frames(file, info, frames, slot, options, &mut warnings).map_err(|error| BatchError { file: i, error })?;
            Ok(warnings.into_iter().map(|w| (i, w)).collect())
        })
        .collect::<Result<_, BatchError>>()?;
    Ok(warnings.into_iter().flatten().collect())
}

/// Total frames [`decode_files`] will produce.
#[must_use]
pub fn frame_count(described: &[(DicomFile, PixelInfo)], frames: Option<&[usize]>) -> usize {
    frames.map_or_else(|| described.iter().map(|(_, info)| info.frames).sum(), <[usize]>::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_count_asked_for_again_gets_the_same_pool() {
        let first = sized_pool(3).unwrap();
        assert!(Arc::ptr_eq(&first, &sized_pool(3).unwrap()));
        assert_eq!(first.current_num_threads(), 3);
        let other = sized_pool(2).unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(with_threads(Some(2), rayon::current_num_threads).unwrap(), 2);
        // Zero threads means one, as it always did.
        assert_eq!(with_threads(Some(0), rayon::current_num_threads).unwrap(), 1);
    }
}
