//! Bulk header scanning: many files, one row each, typed columns — built on rayon's threads
//! without any per-value allocation visible to the caller's language.
//!
//! Headers are read with `read`, not mapped, so a file truncated by another process while we
//! read it gives an error row rather than a SIGBUS.

use std::path::{Path, PathBuf};

use rayon::iter::Either;
use rayon::prelude::*;

use crate::charset::CharacterSet;
use crate::dictionary;
use crate::error::{Error, ErrorKind};
use crate::parse::{DicomFile, Element, ParseOptions};
use crate::tag::Tag;
use crate::value;
use crate::vr::Vr;

/// How a column's values are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text (multiple values joined with a backslash).
    Text,
    /// A 64-bit integer (the first value).
    Int,
    /// A 64-bit float (the first value).
    Float,
    /// All values as 64-bit floats.
    FloatList,
    /// A DA value as days since 1970-01-01, with the raw text beside it.
    Date,
}

/// One column of the table: its name, the tag it reads and how it is typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub tag: Tag,
    pub kind: Kind,
}

const DEFAULT_COLUMNS: &[(&str, u32, Kind)] = &[
    ("SOPClassUID", 0x0008_0016, Kind::Text),
    ("SOPInstanceUID", 0x0008_0018, Kind::Text),
    ("StudyInstanceUID", 0x0020_000D, Kind::Text),
    ("SeriesInstanceUID", 0x0020_000E, Kind::Text),
    ("Modality", 0x0008_0060, Kind::Text),
    ("PatientName", 0x0010_0010, Kind::Text),
    ("PhotometricInterpretation", 0x0028_0004, Kind::Text),
    ("Rows", 0x0028_0010, Kind::Int),
    ("Columns", 0x0028_0011, Kind::Int),
    ("NumberOfFrames", 0x0028_0008, Kind::Int),
    ("SamplesPerPixel", 0x0028_0002, Kind::Int),
    ("BitsAllocated", 0x0028_0100, Kind::Int),
    ("BitsStored", 0x0028_0101, Kind::Int),
    ("PixelRepresentation", 0x0028_0103, Kind::Int),
    ("InstanceNumber", 0x0020_0013, Kind::Int),
    ("SliceThickness", 0x0018_0050, Kind::Float),
    ("RescaleSlope", 0x0028_1053, Kind::Float),
    ("RescaleIntercept", 0x0028_1052, Kind::Float),
    ("ImagePositionPatient", 0x0020_0032, Kind::FloatList),
    ("ImageOrientationPatient", 0x0020_0037, Kind::FloatList),
    ("PixelSpacing", 0x0028_0030, Kind::FloatList),
    ("WindowCenter", 0x0028_1050, Kind::FloatList),
    ("WindowWidth", 0x0028_1051, Kind::FloatList),
    ("StudyDate", 0x0008_0020, Kind::Date),
    ("AcquisitionDate", 0x0008_0022, Kind::Date),
    ("ContentDate", 0x0008_0023, Kind::Date),
    ("AcquisitionTime", 0x0008_0032, Kind::Text),
    ("ContentTime", 0x0008_0033, Kind::Text),
];

/// The columns every scan has (after path, file size, error and transfer syntax).
#[must_use]
pub fn default_columns() -> Vec<Column> {
    DEFAULT_COLUMNS.iter().map(|&(name, tag, kind)| Column { name: name.to_owned(), tag: Tag(tag), kind }).collect()
}

/// A column for an extra tag, named by its keyword (or `ggggeeee`) and typed by its VR and VM.
#[must_use]
pub fn column_for(tag: Tag) -> Column {
    let name = dictionary::keyword_of(tag.0).map_or_else(|| format!("{:08X}", tag.0), str::to_owned);
    let entry = dictionary::by_tag(tag.0);
    let single = entry.is_none_or(|e| e.vm == "1");
    let kind = match dictionary::vr_of(tag.0).and_then(Vr::from_dictionary) {
        Some(Vr::DA) => Kind::Date,
        Some(Vr::IS | Vr::US | Vr::SS | Vr::UL | Vr::SL | Vr::SV | Vr::UV) if single => Kind::Int,
        Some(Vr::DS | Vr::FL | Vr::FD) if single => Kind::Float,
        Some(Vr::DS | Vr::FL | Vr::FD) => Kind::FloatList,
        _ => Kind::Text,
    };
    Column { name, tag, kind }
}

/// Lists the files under `roots`: files are taken as they are, directories walked (recursively
/// or not) with their entries sorted by name, sub-directories read on rayon's threads. Links to
/// files are followed, links to directories are not (so a link loop cannot trap the walk), and
/// special files (FIFOs, sockets, devices) are left out since reading them could block. A
/// directory that cannot be read is listed itself, so that its error gets a row.
#[must_use]
pub fn collect_files(roots: &[PathBuf], recursive: bool) -> Vec<PathBuf> {
    let expand = |root: &PathBuf| if root.is_dir() { walk(root, recursive, 0) } else { vec![root.clone()] };
    // A long list of paths is a `stat` each (1.5 µs on the VM measured): worth the threads.
    if roots.len() > PARALLEL_ROOTS {
        roots.par_iter().flat_map_iter(expand).collect()
    } else {
        roots.iter().flat_map(expand).collect()
    }
}

/// Paths given to [`collect_files`] above which they are looked at on rayon's threads.
const PARALLEL_ROOTS: usize = 32;

/// Directory levels read in parallel; deeper ones are walked by one thread with a stack of its
/// own, so that no tree, however deep, can exhaust a thread's stack.
const PARALLEL_LEVELS: usize = 8;

/// What a directory entry is to the walk.
enum Entry {
    File,
    Directory,
    Other,
}

fn entry_kind(path: &Path, kind: std::fs::FileType) -> Entry {
    if kind.is_file() || (kind.is_symlink() && path.metadata().is_ok_and(|m| m.is_file())) {
        Entry::File
    } else if kind.is_dir() {
        Entry::Directory
    } else {
        Entry::Other
    }
}

/// The entries of `dir` sorted by name, or None when it cannot be read.
fn sorted_entries(dir: &Path) -> Option<Vec<(PathBuf, std::fs::FileType)>> {
    let entries = std::fs::read_dir(dir).and_then(Iterator::collect::<std::io::Result<Vec<_>>>).ok()?;
    let mut entries: Vec<(PathBuf, std::fs::FileType)> =
        entries.into_iter().filter_map(|entry| Some((entry.path(), entry.file_type().ok()?))).collect();
    // Every path is `dir` joined with a name, so comparing whole paths as bytes orders them
    // by name, without parsing each into components for every comparison.
    entries.sort_unstable_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    Some(entries)
}

fn walk(dir: &Path, recursive: bool, level: usize) -> Vec<PathBuf> {
    let Some(entries) = sorted_entries(dir) else { return vec![dir.to_path_buf()] };
    if level >= PARALLEL_LEVELS {
        return walk_deep(entries, recursive);
    }
    entries
        .into_par_iter()
        // A file is itself, without a vector of its own.
        .flat_map_iter(|(path, kind)| match entry_kind(&path, kind) {
            Entry::File => Either::Left(std::iter::once(path)),
            Entry::Directory if recursive => Either::Right(walk(&path, recursive, level + 1).into_iter()),
            _ => Either::Right(Vec::new().into_iter()),
        })
        .collect()
}

/// [`walk`] below [`PARALLEL_LEVELS`]: depth first, in the same order, without recursion.
fn walk_deep(entries: Vec<(PathBuf, std::fs::FileType)>, recursive: bool) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![entries.into_iter()];
    while let Some(top) = stack.last_mut() {
        let Some((path, kind)) = top.next() else {
            stack.pop();
            continue;
        };
        match entry_kind(&path, kind) {
            Entry::File => files.push(path),
            Entry::Directory if recursive => match sorted_entries(&path) {
                Some(entries) => stack.push(entries.into_iter()),
                None => files.push(path),
            },
            _ => {}
        }
    }
    files
}

/// The most files one task of [`scan_files`] takes: enough to share one directory handle,
/// few enough that a large directory still spreads over every thread.
const MAX_FILES_PER_TASK: usize = 64;
/// The fewest (unless a directory has fewer): a short list is one task, run without the pool.
const MIN_FILES_PER_TASK: usize = 8;
/// Tasks with fewer files than this open each file by its path rather than open the directory.
const MIN_FILES_PER_DIRECTORY: usize = 4;

/// Scan `files` on rayon's threads into a table of one row per file, in order: `path`,
/// `file_size`, `error`, `error_kind`, `transfer_syntax`, then one column per `columns` entry (a
/// date column is followed by `<name>_raw` with its text).
/// With `force`, data sets without preamble and file meta are read too (their encoding guessed).
///
/// Files of one directory that come together are opened relative to a handle on it (`openat`),
/// so the kernel resolves one name per file instead of the whole path (about 1 µs of the 20
/// a CT header takes on one thread, in a tree eight directories deep). Each task writes its
/// rows straight into column buffers of its own, which are joined at the end: no value
/// outlives its file, so a scan's memory is about the size of its table.
#[must_use]
pub fn scan_files(files: &[PathBuf], columns: &[Column], force: bool) -> Vec<(String, Buffers)> {
    let per_task = (files.len() / (8 * rayon::current_num_threads())).clamp(MIN_FILES_PER_TASK, MAX_FILES_PER_TASK);
    let tasks: Vec<&[PathBuf]> = files.chunk_by(|a, b| a.parent() == b.parent()).flat_map(|same| same.chunks(per_task)).collect();
    let lookups = Lookups::new(columns);
    let scan_task = |task: &[PathBuf]| {
        let directory = if task.len() >= MIN_FILES_PER_DIRECTORY { Directory::open(&task[0]) } else { None };
        let mut chunk = empty_buffers(columns, task.len());
        let mut reader = RowReader { columns, force, lookups: &lookups, found: vec![None; columns.len()], charset: None };
        for path in task {
            reader.scan_file(path, directory.as_ref(), &mut chunk);
        }
        chunk
    };
    if let [task] = tasks.as_slice() {
        // One task runs here, and its buffers are the table: waking a pool thread took
        // 0.1-0.2 ms on the VM measured, the time of ten headers or more.
        return column_names(columns).into_iter().zip(scan_task(task)).collect();
    }
    let chunks: Vec<Vec<Buffers>> = tasks.par_iter().map(|&task| scan_task(task)).collect();
    // Each column starts empty, so that a table of no rows still has its types.
    let mut by_column: Vec<(Buffers, Vec<Buffers>)> =
        empty_buffers(columns, 0).into_iter().map(|empty| (empty, Vec::with_capacity(chunks.len()))).collect();
    for chunk in chunks {
        for ((_, parts), buffers) in by_column.iter_mut().zip(chunk) {
            parts.push(buffers);
        }
    }
    // Column by column on rayon's threads.
    let joined: Vec<Buffers> = by_column
        .into_par_iter()
        .map(|(mut joined, parts)| {
            // Sized once, not doubled (and copied) part by part.
            joined.reserve_for(&parts);
            for part in parts {
                joined.append(part);
            }
            joined
        })
        .collect();
    column_names(columns).into_iter().zip(joined).collect()
}

/// The names of the table's columns, in order.
fn column_names(columns: &[Column]) -> Vec<String> {
    let mut names: Vec<String> = ["path", "file_size", "error", "error_kind", "transfer_syntax"].map(str::to_owned).into();
    for column in columns {
        names.push(column.name.clone());
        if column.kind == Kind::Date {
            names.push(format!("{}_raw", column.name));
        }
    }
    names
}

/// Empty buffers for the table's columns, in the order of [`column_names`].
/// Room is made for `rows` rows, and for text and lists of a typical size.
fn empty_buffers(columns: &[Column], rows: usize) -> Vec<Buffers> {
    let text = || Buffers::text(rows);
    let mut buffers = vec![text(), Buffers::int(rows), text(), text(), text()];
    for column in columns {
        buffers.push(match column.kind {
            Kind::Text => text(),
            Kind::Int => Buffers::int(rows),
            Kind::Float => Buffers::Float { values: Vec::with_capacity(rows), valid: Vec::with_capacity(rows) },
            Kind::FloatList => Buffers::FloatList {
                offsets: with_first(0, rows + 1),
                values: Vec::with_capacity(rows * TYPICAL_LIST),
                valid: Vec::with_capacity(rows),
            },
            Kind::Date => Buffers::Date { days: Vec::with_capacity(rows), valid: Vec::with_capacity(rows) },
        });
        if column.kind == Kind::Date {
            buffers.push(text());
        }
    }
    buffers
}

/// Bytes a text cell, and values a list cell, are given room for before they are read (a UID
/// is up to 64 bytes; Image Orientation has 6 values).
const TYPICAL_TEXT: usize = 64;
const TYPICAL_LIST: usize = 6;

/// A vector holding `first`, with room for `capacity` items.
fn with_first<T>(first: T, capacity: usize) -> Vec<T> {
    let mut vec = Vec::with_capacity(capacity);
    vec.push(first);
    vec
}

/// A handle on the directory of a group of files, to open them by name.
#[cfg(unix)]
struct Directory(std::os::fd::OwnedFd);

#[cfg(unix)]
impl Directory {
    /// The directory holding `file`, or None when it cannot be opened (the files are then opened
    /// by path, which reports why).
    fn open(file: &Path) -> Option<Directory> {
        use rustix::fs::{Mode, OFlags};
        let parent = file.parent()?;
        let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        rustix::fs::open(parent, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ok().map(Directory)
    }

    /// Open `path`, one of the directory's files, by its name.
    fn open_file(&self, path: &Path) -> std::io::Result<std::fs::File> {
        use rustix::fs::{Mode, OFlags};
        // A path ending in a separator names a directory: opening it by path says why not.
        let ends_in_separator = path.as_os_str().as_encoded_bytes().last() == Some(&b'/');
        let Some(name) = path.file_name().filter(|_| !ends_in_separator) else { return std::fs::File::open(path) };
        let fd = rustix::fs::openat(&self.0, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(std::fs::File::from(fd))
    }
}

/// Elsewhere files are opened by path.
#[cfg(not(unix))]
struct Directory;

#[cfg(not(unix))]
impl Directory {
    fn open(_file: &Path) -> Option<Directory> {
        None
    }

    fn open_file(&self, path: &Path) -> std::io::Result<std::fs::File> {
        std::fs::File::open(path)
    }
}

/// The columns' tags in ascending order, each with the column it fills: one walk over a file's
/// top-level elements then finds them all, where a binary search a column cost about three
/// times as much (each step waits on the load before it).
struct Lookups(Vec<(Tag, usize)>);

impl Lookups {
    fn new(columns: &[Column]) -> Self {
        let mut by_tag: Vec<(Tag, usize)> = columns.iter().enumerate().map(|(i, column)| (column.tag, i)).collect();
        by_tag.sort_unstable();
        Lookups(by_tag)
    }

    /// Set `found[column]` to the position in `elements` (sorted by tag) of each column's tag.
    fn locate(&self, elements: &[Element], found: &mut [Option<usize>]) {
        let mut at = 0;
        for &(tag, column) in &self.0 {
            while elements.get(at).is_some_and(|element| element.tag < tag) {
                at += 1;
            }
            found[column] = elements.get(at).is_some_and(|element| element.tag == tag).then_some(at);
        }
    }
}

/// What one task of [`scan_files`] keeps from file to file.
struct RowReader<'a> {
    columns: &'a [Column],
    force: bool,
    lookups: &'a Lookups,
    /// Where each column's element is in the current file's top-level data set.
    found: Vec<Option<usize>>,
    /// The last Specific Character Set value met and what it means: files of one series
    /// repeat it, and reading it afresh took allocations every file.
    charset: Option<(Vec<u8>, CharacterSet)>,
}

impl RowReader<'_> {
    /// Append `path`'s row to `table` (buffers in the order of [`column_names`]).
    fn scan_file(&mut self, path: &Path, directory: Option<&Directory>, table: &mut [Buffers]) {
        let options = ParseOptions { stop_before_pixels: true, force: self.force, ..ParseOptions::default() };
        let opened = directory.map_or_else(|| std::fs::File::open(path), |directory| directory.open_file(path));
        let (size, header) = match opened.and_then(|file| Ok((file.metadata()?.len(), file))) {
            Ok((size, file)) => (Some(size), DicomFile::read_header_of(file, path, &options)),
            // Not open, or not statted: the size by path, if that works.
            Err(e) => (std::fs::metadata(path).ok().map(|m| m.len()), Err(Error::cannot_read(path, e))),
        };
        let (general, cells) = table.split_at_mut(5);
        let [path_column, size_column, error_column, kind_column, syntax_column] = general else { unreachable!("five general columns") };
        path_column.push_text(Some(&path.to_string_lossy()));
        size_column.push_int(size.and_then(|size| i64::try_from(size).ok()));
        let mut cells = cells.iter_mut();
        match header {
            Ok(file) => {
                error_column.push_text(None);
                kind_column.push_text(None);
                syntax_column.push_text(Some(&file.transfer_syntax));
                let elements = file.index.dataset(&file.index.root);
                self.lookups.locate(elements, &mut self.found);
                let charset = charset_of(&mut self.charset, &file);
                for (column, &found) in self.columns.iter().zip(&self.found) {
                    push_cell(&mut cells, column.kind, found.map(|i| (&file, &elements[i], charset)));
                }
            }
            Err(error) => {
                error_column.push_text(Some(&error.to_string()));
                kind_column.push_text(Some(kind_name(error.kind)));
                syntax_column.push_text(None);
                for column in self.columns {
                    push_cell(&mut cells, column.kind, None);
                }
            }
        }
    }
}

/// The character set of `file`'s top-level data set, through `cache`: the last value met and
/// what it means.
fn charset_of<'c>(cache: &'c mut Option<(Vec<u8>, CharacterSet)>, file: &DicomFile) -> &'c CharacterSet {
    let index = &file.index;
    let value = index.find(&index.root, Tag::SPECIFIC_CHARACTER_SET).map_or(&[][..], |i| file.value_bytes(&index.elements[i as usize]));
    if cache.as_ref().is_some_and(|(seen, _)| seen.as_slice() != value) {
        *cache = None;
    }
    &cache.get_or_insert_with(|| (value.to_vec(), CharacterSet::from_value(value))).1
}

/// Append one cell of a `kind` column, read from `element` (or null when the file lacks it),
/// to the column's buffers, taken from `buffers` (two for a date: the days, then the text).
fn push_cell<'a>(buffers: &mut impl Iterator<Item = &'a mut Buffers>, kind: Kind, element: Option<(&DicomFile, &Element, &CharacterSet)>) {
    let Some(column) = buffers.next() else { return };
    let Some((file, element, charset)) = element else {
        column.push_null();
        if kind == Kind::Date {
            if let Some(raw_column) = buffers.next() {
                raw_column.push_text(None);
            }
        }
        return;
    };
    let bytes = file.value_bytes(element);
    let big_endian = element.encoding.big_endian;
    let numbers = || -> Vec<f64> {
        match element.vr {
            Vr::FL => value::binary_values::<f32>(bytes, big_endian).into_iter().map(f64::from).collect(),
            Vr::FD => value::binary_values::<f64>(bytes, big_endian),
            Vr::US => value::binary_values::<u16>(bytes, big_endian).into_iter().map(f64::from).collect(),
            Vr::SS => value::binary_values::<i16>(bytes, big_endian).into_iter().map(f64::from).collect(),
            Vr::UL => value::binary_values::<u32>(bytes, big_endian).into_iter().map(f64::from).collect(),
            Vr::SL => value::binary_values::<i32>(bytes, big_endian).into_iter().map(f64::from).collect(),
            Vr::DS | Vr::IS => value::number_texts(bytes).filter_map(|s| value::parse_ds(s?)).collect(),
            _ => value::strings(bytes, element.vr, charset).iter().filter_map(|s| value::parse_ds(s)).collect(),
        }
    };
    match kind {
        Kind::Text => {
            let text = element.vr != Vr::SQ && !element.vr.is_bulk() && element.vr.binary_width().is_none();
            column.push_strings(|push| {
                if text {
                    value::for_each_string(bytes, element.vr, charset, push);
                }
            });
        }
        Kind::Int => {
            let first = match element.vr {
                Vr::IS => value::number_texts(bytes).next().flatten().and_then(value::parse_is),
                Vr::US => value::binary_values::<u16>(bytes, big_endian).first().map(|&v| i64::from(v)),
                Vr::SS => value::binary_values::<i16>(bytes, big_endian).first().map(|&v| i64::from(v)),
                Vr::UL => value::binary_values::<u32>(bytes, big_endian).first().map(|&v| i64::from(v)),
                Vr::SL => value::binary_values::<i32>(bytes, big_endian).first().map(|&v| i64::from(v)),
                Vr::SV => value::binary_values::<i64>(bytes, big_endian).first().copied(),
                Vr::UV => value::binary_values::<u64>(bytes, big_endian).first().and_then(|&v| i64::try_from(v).ok()),
                _ => None,
            };
            column.push_int(first);
        }
        Kind::Float => column.push_float(numbers().first().copied()),
        Kind::FloatList => column.push_floats(&numbers()),
        Kind::Date => {
            // The first value (null when it is empty).
            let mut first: Option<Option<String>> = None;
            value::for_each_string(bytes, element.vr, charset, |value| {
                first.get_or_insert_with(|| Some(value.to_owned()).filter(|value| !value.is_empty()));
            });
            let raw = first.flatten();
            column.push_date(raw.as_deref().and_then(days_since_epoch));
            if let Some(raw_column) = buffers.next() {
                raw_column.push_text(raw.as_deref());
            }
        }
    }
}

/// A column as Arrow-layout buffers: values, validity, and offsets for variable-length data.
#[derive(Debug, Clone, PartialEq)]
pub enum Buffers {
    Text { offsets: Vec<i64>, data: Vec<u8>, valid: Vec<bool> },
    Int { values: Vec<i64>, valid: Vec<bool> },
    Float { values: Vec<f64>, valid: Vec<bool> },
    FloatList { offsets: Vec<i32>, values: Vec<f64>, valid: Vec<bool> },
    Date { days: Vec<i32>, valid: Vec<bool> },
}

impl Buffers {
    fn text(rows: usize) -> Buffers {
        Buffers::Text { offsets: with_first(0, rows + 1), data: Vec::with_capacity(rows * TYPICAL_TEXT), valid: Vec::with_capacity(rows) }
    }

    fn int(rows: usize) -> Buffers {
        Buffers::Int { values: Vec::with_capacity(rows), valid: Vec::with_capacity(rows) }
    }

    /// Rows, and items of variable-length data (text bytes, list values).
    fn len(&self) -> (usize, usize) {
        match self {
            Buffers::Text { valid, data, .. } => (valid.len(), data.len()),
            Buffers::FloatList { valid, values, .. } => (valid.len(), values.len()),
            Buffers::Int { valid, .. } | Buffers::Float { valid, .. } | Buffers::Date { valid, .. } => (valid.len(), 0),
        }
    }

    /// Make room for appending `parts`.
    fn reserve_for(&mut self, parts: &[Buffers]) {
        let (rows, items) = parts.iter().map(Buffers::len).fold((0, 0), |(r, i), (rows, items)| (r + rows, i + items));
        match self {
            Buffers::Text { offsets, data, valid } => {
                offsets.reserve(rows);
                data.reserve(items);
                valid.reserve(rows);
            }
            Buffers::FloatList { offsets, values, valid } => {
                offsets.reserve(rows);
                values.reserve(items);
                valid.reserve(rows);
            }
            Buffers::Int { values, valid } => {
                values.reserve(rows);
                valid.reserve(rows);
            }
            Buffers::Float { values, valid } => {
                values.reserve(rows);
                valid.reserve(rows);
            }
            Buffers::Date { days, valid } => {
                days.reserve(rows);
                valid.reserve(rows);
            }
        }
    }

    /// Append a text cell (null for `None`) to a text column.
    fn push_text(&mut self, text: Option<&str>) {
        self.push_strings(|push| text.into_iter().for_each(push));
    }

    /// Append to a text column the cell made of the values `values` hands to its argument,
    /// joined by backslashes, as they come (null when it hands over none).
    fn push_strings(&mut self, values: impl FnOnce(&mut dyn FnMut(&str))) {
        let Buffers::Text { offsets, data, valid } = self else { unreachable!("a text column") };
        let mut count = 0;
        values(&mut |value| {
            if count > 0 {
                data.push(b'\\');
            }
            data.extend_from_slice(value.as_bytes());
            count += 1;
        });
        offsets.push(i64::try_from(data.len()).unwrap_or(i64::MAX));
        valid.push(count > 0);
    }

    /// Append a null cell.
    fn push_null(&mut self) {
        match self {
            Buffers::Text { .. } => self.push_text(None),
            Buffers::Int { .. } => self.push_int(None),
            Buffers::Float { .. } => self.push_float(None),
            Buffers::FloatList { .. } => self.push_floats(&[]),
            Buffers::Date { .. } => self.push_date(None),
        }
    }

    fn push_int(&mut self, value: Option<i64>) {
        let Buffers::Int { values, valid } = self else { unreachable!("an integer column") };
        values.push(value.unwrap_or(0));
        valid.push(value.is_some());
    }

    fn push_float(&mut self, value: Option<f64>) {
        let Buffers::Float { values, valid } = self else { unreachable!("a float column") };
        values.push(value.unwrap_or(0.0));
        valid.push(value.is_some());
    }

    /// Append a list (null when empty) to a float list column.
    fn push_floats(&mut self, list: &[f64]) {
        let Buffers::FloatList { offsets, values, valid } = self else { unreachable!("a float list column") };
        values.extend_from_slice(list);
        offsets.push(i32::try_from(values.len()).unwrap_or(i32::MAX));
        valid.push(!list.is_empty());
    }

    fn push_date(&mut self, days_since_epoch: Option<i32>) {
        let Buffers::Date { days, valid } = self else { unreachable!("a date column") };
        days.push(days_since_epoch.unwrap_or(0));
        valid.push(days_since_epoch.is_some());
    }

    /// Append the rows of `part`, more of the same column.
    fn append(&mut self, part: Buffers) {
        match (self, part) {
            (Buffers::Text { offsets, data, valid }, Buffers::Text { offsets: more, data: more_data, valid: more_valid }) => {
                append_offsets(offsets, &more, i64::saturating_add);
                data.extend_from_slice(&more_data);
                valid.extend_from_slice(&more_valid);
            }
            (Buffers::Int { values, valid }, Buffers::Int { values: more, valid: more_valid }) => {
                values.extend_from_slice(&more);
                valid.extend_from_slice(&more_valid);
            }
            (Buffers::Float { values, valid }, Buffers::Float { values: more, valid: more_valid }) => {
                values.extend_from_slice(&more);
                valid.extend_from_slice(&more_valid);
            }
            (
                Buffers::FloatList { offsets, values, valid },
                Buffers::FloatList { offsets: more, values: more_values, valid: more_valid },
            ) => {
                append_offsets(offsets, &more, i32::saturating_add);
                values.extend_from_slice(&more_values);
                valid.extend_from_slice(&more_valid);
            }
            (Buffers::Date { days, valid }, Buffers::Date { days: more, valid: more_valid }) => {
                days.extend_from_slice(&more);
                valid.extend_from_slice(&more_valid);
            }
            _ => unreachable!("parts of one column have one kind"),
        }
    }
}

/// Append the offsets of a part of a variable-length column (starting at 0) to those of the
/// column, moved past the data already there.
/// `add` is the offsets' saturating addition.
fn append_offsets<T: Copy + Default>(offsets: &mut Vec<T>, more: &[T], add: fn(T, T) -> T) {
    let base = offsets.last().copied().unwrap_or_default();
    offsets.extend(more.iter().skip(1).map(|&offset| add(offset, base)));
}

/// The Python exception class name for an error kind (the error column's prefix).
#[must_use]
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Truncated => "TruncatedDataError",
        ErrorKind::Unsupported => "UnsupportedError",
        ErrorKind::Limit => "LimitExceededError",
        ErrorKind::Io => "OSError",
        _ => "InvalidDicomError",
    }
}

/// A DA value (`YYYYMMDD`, or the old `YYYY.MM.DD`) as days since 1970-01-01.
#[must_use]
pub fn days_since_epoch(text: &str) -> Option<i32> {
    let digits: String = text.trim().chars().filter(|&c| c != '.').collect();
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i64 = digits[..4].parse().ok()?;
    let month: i64 = digits[4..6].parse().ok()?;
    let day: i64 = digits[6..].parse().ok()?;
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let days_in_month = *usize::try_from(month - 1).ok().and_then(|m| month_days.get(m))?;
    if day < 1 || day > days_in_month {
        return None;
    }
    // Days from civil date (proleptic Gregorian), shifted so that March is the first month.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    i32::try_from(era * 146_097 + day_of_era - 719_468).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(days_since_epoch("19700101"), Some(0));
        assert_eq!(days_since_epoch("20000301"), Some(11_017));
        assert_eq!(days_since_epoch("1969.12.31"), Some(-1));
        assert_eq!(days_since_epoch("20230229"), None);
        assert_eq!(days_since_epoch("20240229"), Some(19_782));
        assert_eq!(days_since_epoch("2024"), None);
    }

    #[test]
    fn extra_columns_are_typed_from_the_dictionary() {
        assert_eq!(column_for(Tag(0x0018_0088)).kind, Kind::Float);
        assert_eq!(column_for(Tag(0x0028_0030)).kind, Kind::FloatList);
        assert_eq!(column_for(Tag(0x0020_0013)).kind, Kind::Int);
        assert_eq!(column_for(Tag(0x0008_0021)).kind, Kind::Date);
        let private = column_for(Tag(0x0009_1001));
        assert_eq!((private.name.as_str(), private.kind), ("00091001", Kind::Text));
    }

    /// The named column of a table.
    fn column<'a>(table: &'a [(String, Buffers)], name: &str) -> &'a Buffers {
        &table.iter().find(|(n, _)| n == name).unwrap().1
    }

    /// Cell `row` of a text column.
    fn text(table: &[(String, Buffers)], name: &str, row: usize) -> Option<String> {
        let Buffers::Text { offsets, data, valid } = column(table, name) else { panic!("{name} is not text") };
        let range = usize::try_from(offsets[row]).unwrap()..usize::try_from(offsets[row + 1]).unwrap();
        valid[row].then(|| String::from_utf8(data[range].to_vec()).unwrap())
    }

    /// Cell `row` of an integer column.
    fn int(table: &[(String, Buffers)], name: &str, row: usize) -> Option<i64> {
        let Buffers::Int { values, valid } = column(table, name) else { panic!("{name} is not an integer column") };
        valid[row].then_some(values[row])
    }

    #[test]
    fn not_dicom_is_an_error_row() {
        let dir = std::env::temp_dir().join(format!("dicodec-bulk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notes.txt");
        std::fs::write(&path, b"hello").unwrap();
        let table = scan_files(&collect_files(&[dir.clone()], true), &default_columns(), false);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(table.len(), column_names(&default_columns()).len());
        assert_eq!(text(&table, "error_kind", 0).as_deref(), Some(kind_name(ErrorKind::Invalid)));
        assert_eq!(int(&table, "file_size", 0), Some(5));
        assert_eq!(text(&table, "transfer_syntax", 0), None);
        let Buffers::Date { valid, .. } = column(&table, "StudyDate") else { panic!("StudyDate is a date") };
        assert_eq!((valid.as_slice(), text(&table, "StudyDate_raw", 0)), (&[false][..], None));
    }

    #[test]
    fn a_scan_of_no_files_has_typed_columns() {
        let table = scan_files(&[], &default_columns(), false);
        let kinds: Vec<&str> = ["path", "file_size", "Rows", "SliceThickness", "PixelSpacing", "StudyDate", "StudyDate_raw"]
            .iter()
            .map(|name| match column(&table, name) {
                Buffers::Text { offsets, .. } if offsets == &[0] => "text",
                Buffers::Int { values, .. } if values.is_empty() => "int",
                Buffers::Float { values, .. } if values.is_empty() => "float",
                Buffers::FloatList { offsets, .. } if offsets == &[0] => "float list",
                Buffers::Date { days, .. } if days.is_empty() => "date",
                other => panic!("{name}: {other:?}"),
            })
            .collect();
        assert_eq!(kinds, ["text", "int", "int", "float", "float list", "date", "text"]);
    }

    #[test]
    fn one_walk_finds_what_a_search_per_column_finds() {
        use crate::parse::{Children, Encoding};
        let tags = [0x0008_0016, 0x0008_0018, 0x0010_0010, 0x0020_0032, 0x0028_0010, 0x0028_0011];
        let elements: Vec<Element> = tags
            .iter()
            .map(|&tag| Element {
                tag: Tag(tag),
                vr: Vr::UN,
                encoding: Encoding::EXPLICIT_LE,
                header_offset: 0,
                value_offset: 0,
                length: 0,
                value_len: 0,
                children: Children::None,
                us_or_ss: false,
            })
            .collect();
        // Out of order, before the first, between, past the last, and twice.
        let wanted = [0x0028_0011, 0x0000_0001, 0x0010_0010, 0x0018_0050, 0x7FE0_0010, 0x0008_0016, 0x0028_0011];
        let columns: Vec<Column> = wanted.iter().map(|&tag| column_for(Tag(tag))).collect();
        let mut found = vec![None; columns.len()];
        Lookups::new(&columns).locate(&elements, &mut found);
        let searched: Vec<Option<usize>> = wanted.iter().map(|&tag| elements.binary_search_by_key(&Tag(tag), |e| e.tag).ok()).collect();
        assert_eq!(found, searched);
        assert_eq!(found, [Some(5), None, Some(2), None, None, Some(0), Some(5)]);
    }

    #[test]
    fn files_opened_through_their_directory_give_the_same_rows() {
        let dir = std::env::temp_dir().join(format!("dicodec-openat-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..40 {
            std::fs::write(dir.join(format!("{i:02}.txt")), vec![b'x'; i]).unwrap();
        }
        let files = collect_files(&[dir.clone()], true);
        std::fs::remove_file(&files[5]).unwrap();
        // On one thread the 40 files make tasks of eight, which open them through the directory;
        // one file alone is a single task, run without the pool.
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let together = pool.install(|| scan_files(&files, &default_columns(), false));
        // One scan per file, each opened by its path, and their tables joined.
        let singles: Vec<Vec<(String, Buffers)>> =
            files.iter().map(|f| scan_files(std::slice::from_ref(f), &default_columns(), false)).collect();
        let mut one_by_one = singles[0].clone();
        for single in &singles[1..] {
            for ((_, joined), (_, part)) in one_by_one.iter_mut().zip(single.clone()) {
                joined.append(part);
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(together, one_by_one);
        assert_eq!(int(&together, "file_size", 3), Some(3));
        let message = text(&together, "error", 5).unwrap();
        assert_eq!(text(&together, "error_kind", 5).as_deref(), Some(kind_name(ErrorKind::Io)));
        assert!(message.contains("cannot read") && message.contains("05.txt"), "{message}");
        assert_eq!(text(&together, "error_kind", 6).as_deref(), Some(kind_name(ErrorKind::Invalid)));
        assert_eq!(text(&together, "path", 6), Some(files[6].to_string_lossy().into_owned()));
    }

    #[test]
    fn walk_order_links_and_special_files() {
        let dir = std::env::temp_dir().join(format!("dicodec-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["b/inner", "a", "c"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for file in ["z.dcm", "b/inner/x", "b/m", "b0", "a/1"] {
            std::fs::write(dir.join(file), b"x").unwrap();
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("b0"), dir.join("c/link-to-file")).unwrap();
            std::os::unix::fs::symlink(&dir, dir.join("c/loop")).unwrap();
            std::process::Command::new("mkfifo").arg(dir.join("c/fifo")).status().unwrap();
        }
        let names = |files: Vec<PathBuf>| -> Vec<String> {
            files.iter().map(|p| p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned()).collect()
        };
        let mut expected = vec!["a/1", "b/inner/x", "b/m", "b0"];
        if cfg!(unix) {
            expected.push("c/link-to-file");
        }
        expected.push("z.dcm");
        assert_eq!(names(collect_files(&[dir.clone()], true)), expected);
        assert_eq!(names(collect_files(&[dir.clone()], false)), ["b0", "z.dcm"]);
        // Below the levels walked in parallel the walk goes on without recursion, in order.
        let mut deep = dir.join("d");
        for level in 0..(2 * PARALLEL_LEVELS) {
            deep = deep.join(format!("{level}"));
            std::fs::create_dir_all(&deep).unwrap();
            std::fs::write(deep.with_extension("dcm"), b"x").unwrap();
        }
        let walked = names(collect_files(&[dir.join("d")], true));
        let mut expected_deep = Vec::new();
        let mut name = dir.join("d");
        for level in 0..(2 * PARALLEL_LEVELS) {
            name = name.join(format!("{level}"));
            expected_deep.push(name.with_extension("dcm").strip_prefix(&dir).unwrap().to_string_lossy().into_owned());
        }
        // In each directory "n" sorts before "n.dcm": the deepest file comes first.
        expected_deep.reverse();
        assert_eq!(walked, expected_deep);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
