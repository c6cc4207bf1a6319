//! Level-of-detail state per stored array: the samples as `f32`/`f64` and one min/max
//! [`Pyramid`] per column, so `/api/lod` answers any window in time independent of the
//! array's length.
//!
//! - **Samples.** A C-order little-endian `f4`/`f8` 1-D array is used in place (a view of
//!   the memory map, no copy). Every other numeric dtype or byte order, and each column of
//!   an (N, C) array, is converted once to `f64` in memory (8 bytes a sample). datetime64 and
//!   timedelta64 chart as their integer counts (NaT is NaN); int64 beyond 2^53 rounds in the
//!   envelope, while exact values remain one `/api/arrays/{name}?slice=i:i+1` away.
//! - **Pyramids** are built on a background thread the first time an array is charted,
//!   off the request path; until one is ready, queries are answered by the exact scan.
//!   They are written to `DIR/.downlink/lod/` (hidden, never listed) keyed by the array's
//!   ETag, so a restart loads them instead of rebuilding. Overhead: about 3.3% of the
//!   samples' bytes (see `crate::lod`).
//! - Entries are keyed by array name; a new file version (new ETag) replaces the old entry.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;

use crate::lod::{m4_scan, LodError, M4Bin, Pyramid, Sample};
use crate::server::describe::chartable;
use crate::server::store::StoredArray;
use crate::wire::convert::to_f64_vec;
use crate::wire::dtype::{ByteOrder, ScalarKind};

/// Why an array has no level of detail.
#[derive(Debug, thiserror::Error)]
pub enum LevelsError {
    /// The dtype or shape cannot be charted.
    #[error("{0}")]
    Unsupported(String),
    /// The query is out of bounds.
    #[error("{0}")]
    Query(#[from] LodError),
}

/// One column's samples, in the type its pyramid stores.
#[derive(Debug, Clone)]
enum Samples {
    /// Little-endian f32 bytes, 4-aligned (a view of the map).
    F32(Bytes),
    /// Little-endian f64 bytes, 8-aligned (a view of the map).
    F64(Bytes),
    /// Converted values.
    Owned(Arc<Vec<f64>>),
}

/// A pyramid of either sample type.
#[derive(Debug)]
enum AnyPyramid {
    F32(Pyramid<f32>),
    F64(Pyramid<f64>),
}

/// One column: its samples and, once built, its pyramid.
#[derive(Debug)]
pub struct Column {
    samples: Samples,
    pyramid: OnceLock<AnyPyramid>,
}

impl Column {
    fn f32s(bytes: &Bytes) -> &[f32] {
        bytemuck::try_cast_slice(bytes).unwrap_or(&[])
    }

    fn f64s(bytes: &Bytes) -> &[f64] {
        bytemuck::try_cast_slice(bytes).unwrap_or(&[])
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        match &self.samples {
            Samples::F32(b) => Self::f32s(b).len() as u64,
            Samples::F64(b) => Self::f64s(b).len() as u64,
            Samples::Owned(v) => v.len() as u64,
        }
    }

    /// Whether the column has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the pyramid is ready (else queries scan).
    pub fn is_indexed(&self) -> bool {
        self.pyramid.get().is_some()
    }

    /// The M4 bins of `[start, stop)`.
    ///
    /// # Errors
    /// As [`Pyramid::m4`].
    pub fn m4(&self, start: u64, stop: u64, bins: usize) -> Result<Vec<M4Bin>, LodError> {
        fn query<T: Sample>(
            samples: &[T],
            pyramid: Option<&Pyramid<T>>,
            start: u64,
            stop: u64,
            bins: usize,
        ) -> Result<Vec<M4Bin>, LodError> {
            match pyramid {
                Some(pyramid) => pyramid.m4(samples, start, stop, bins),
                None => m4_scan(samples, start, stop, bins),
            }
        }
        let pyramid = self.pyramid.get();
        match (&self.samples, pyramid) {
            (Samples::F32(b), Some(AnyPyramid::F32(p))) => {
                query(Self::f32s(b), Some(p), start, stop, bins)
            }
            (Samples::F32(b), _) => query::<f32>(Self::f32s(b), None, start, stop, bins),
            (Samples::F64(b), Some(AnyPyramid::F64(p))) => {
                query(Self::f64s(b), Some(p), start, stop, bins)
            }
            (Samples::F64(b), _) => query::<f64>(Self::f64s(b), None, start, stop, bins),
            (Samples::Owned(v), Some(AnyPyramid::F64(p))) => query(v, Some(p), start, stop, bins),
            (Samples::Owned(v), _) => query::<f64>(v, None, start, stop, bins),
        }
    }

    /// Build (or load from `cache`) the pyramid, if not done yet.
    fn index(&self, cache: Option<PathBuf>) {
        if self.is_indexed() {
            return;
        }
        let pyramid = match &self.samples {
            Samples::F32(b) => AnyPyramid::F32(load_or_build(Self::f32s(b), cache)),
            Samples::F64(b) => AnyPyramid::F64(load_or_build(Self::f64s(b), cache)),
            Samples::Owned(v) => AnyPyramid::F64(load_or_build(v, cache)),
        };
        let _ = self.pyramid.set(pyramid);
    }
}

fn load_or_build<T: Sample>(samples: &[T], cache: Option<PathBuf>) -> Pyramid<T> {
    if let Some(path) = &cache {
        if let Ok(bytes) = std::fs::read(path) {
            match Pyramid::from_bytes(&bytes, samples.len() as u64) {
                Ok(pyramid) => return pyramid,
                Err(err) => tracing::warn!(path = %path.display(), "rebuilding LOD cache: {err}"),
            }
        }
    }
    let pyramid = Pyramid::build(samples);
    if let Some(path) = cache {
        if let Err(err) = write_cache(&path, &pyramid.to_bytes()) {
            tracing::warn!(path = %path.display(), "cannot write LOD cache: {err}");
        }
    }
    pyramid
}

/// Write through a temporary file and rename, so a crash never leaves a torn cache.
fn write_cache(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(tmp, path)
}

/// The level-of-detail state of one array version.
#[derive(Debug)]
pub struct Levels {
    /// The array version these levels describe.
    pub etag: String,
    /// Samples along axis 0.
    pub len: u64,
    /// One per column (one for a 1-D array).
    pub columns: Vec<Column>,
}

impl Levels {
    /// Prepare the samples of `array` (no pyramid yet).
    ///
    /// # Errors
    /// [`LevelsError::Unsupported`] for non-numeric dtypes and arrays of 3 or more dimensions.
    pub fn new(array: &StoredArray) -> Result<Levels, LevelsError> {
        let header = &array.header;
        chartable(header).map_err(LevelsError::Unsupported)?;
        let Some(scalar) = header.dtype.as_scalar() else {
            return Err(LevelsError::Unsupported(
                "a record array cannot be charted".into(),
            ));
        };
        let (len, width) = match header.shape[..] {
            [] => (1, 1),
            [n] => (n, 1),
            [n, c] => (n, c),
            // chartable() has refused more dimensions.
            _ => return Err(LevelsError::Unsupported("not 1-D or 2-D".into())),
        };
        let little = scalar.order == ByteOrder::Little;
        let plain_float = scalar.kind == ScalarKind::Float && little && width == 1;
        let columns = if plain_float && scalar.size == 4 && is_aligned(&array.data, 4) {
            vec![Column::new(Samples::F32(array.data.clone()))]
        } else if plain_float && scalar.size == 8 && is_aligned(&array.data, 8) {
            vec![Column::new(Samples::F64(array.data.clone()))]
        } else {
            // A C-order copy first if the array is Fortran-ordered (columns then are contiguous).
            let values = to_f64_vec(&array.data, scalar)
                .map_err(|e| LevelsError::Unsupported(e.to_string()))?;
            let width = width as usize;
            if width == 1 {
                vec![Column::new(Samples::Owned(Arc::new(values)))]
            } else if header.fortran_order {
                values
                    .chunks(len as usize)
                    .map(|col| Column::new(Samples::Owned(Arc::new(col.to_vec()))))
                    .collect()
            } else {
                (0..width)
                    .map(|c| {
                        let col = values.iter().skip(c).step_by(width).copied().collect();
                        Column::new(Samples::Owned(Arc::new(col)))
                    })
                    .collect()
            }
        };
        Ok(Levels {
            etag: array.etag.clone(),
            len,
            columns,
        })
    }
}

impl Column {
    fn new(samples: Samples) -> Column {
        Column {
            samples,
            pyramid: OnceLock::new(),
        }
    }
}

fn is_aligned(bytes: &Bytes, align: usize) -> bool {
    (bytes.as_ptr() as usize).is_multiple_of(align)
}

/// Series shorter than this are scanned directly; a pyramid is not worth building.
const INDEX_FROM: u64 = 1 << 16;

/// All arrays' levels, by array name.
#[derive(Debug, Clone)]
pub struct LevelsCache {
    dir: PathBuf,
    entries: Arc<Mutex<HashMap<String, Arc<Levels>>>>,
    builds: Arc<BuildCounts>,
}

/// How many background index builds started and finished (a finished build has let go of
/// the levels it indexed).
#[derive(Debug, Default)]
struct BuildCounts {
    started: AtomicU64,
    finished: AtomicU64,
}

impl LevelsCache {
    /// A cache that persists pyramids under `dir`.
    pub fn new(dir: PathBuf) -> LevelsCache {
        LevelsCache {
            dir,
            entries: Arc::default(),
            builds: Arc::default(),
        }
    }

    /// Background index builds started so far (loading a persisted pyramid counts too).
    pub fn builds_started(&self) -> u64 {
        self.builds.started.load(Ordering::SeqCst)
    }

    /// Background index builds finished so far.
    pub fn builds_finished(&self) -> u64 {
        self.builds.finished.load(Ordering::SeqCst)
    }

    /// Whether the current levels of `name` have every column's pyramid.
    pub fn is_indexed(&self, name: &str) -> bool {
        self.lock()
            .get(name)
            .is_some_and(|levels| levels.columns.iter().all(Column::is_indexed))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Levels>>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The levels of `array`, creating them (and starting the background index build) on
    /// first use of this array version.
    ///
    /// # Errors
    /// As [`Levels::new`].
    pub fn get(&self, array: &StoredArray) -> Result<Arc<Levels>, LevelsError> {
        let mut entries = self.lock();
        if let Some(levels) = entries.get(&array.name) {
            if levels.etag == array.etag {
                return Ok(Arc::clone(levels));
            }
        }
        let levels = Arc::new(Levels::new(array)?);
        entries.insert(array.name.clone(), Arc::clone(&levels));
        drop(entries);
        if levels.len >= INDEX_FROM {
            let background = Arc::clone(&levels);
            let dir = self.dir.clone();
            let builds = Arc::clone(&self.builds);
            builds.started.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                for (c, column) in background.columns.iter().enumerate() {
                    let path = dir.join(format!("{}-{c}.pyr", background.etag));
                    column.index(Some(path));
                }
                // Let go first: an append extends levels only nobody else holds.
                drop(background);
                builds.finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        Ok(levels)
    }

    /// Follow an append: `old` grew into `new`. The samples and pyramids of `old`, if any,
    /// are extended by the new rows only (O(appended)); otherwise the next `get` starts over.
    pub fn appended(&self, old: &StoredArray, new: &StoredArray) {
        let mut entries = self.lock();
        let Some(previous) = entries.remove(&new.name) else {
            return;
        };
        if previous.etag != old.etag {
            return;
        }
        // Queries in flight share the previous levels; then a rebuild is the safe choice.
        let Ok(previous) = Arc::try_unwrap(previous) else {
            return;
        };
        if let Some(levels) = previous.extended(new) {
            entries.insert(new.name.clone(), Arc::new(levels));
        }
    }

    /// Drop the levels of a deleted array.
    pub fn forget(&self, name: &str) {
        self.lock().remove(name);
    }
}

impl Levels {
    /// These levels grown to cover `new`, an append of more rows to the same array.
    fn extended(self, new: &StoredArray) -> Option<Levels> {
        let scalar = new.header.dtype.as_scalar()?;
        let len = *new.header.shape.first()?;
        let width = self.columns.len();
        if len < self.len || width == 0 {
            return None;
        }
        let old_rows = usize::try_from(self.len).ok()?;
        let row_bytes = scalar.size * width;
        // New rows only, converted once, when any column keeps converted samples.
        let fresh: Option<Vec<f64>> = self
            .columns
            .iter()
            .any(|c| matches!(c.samples, Samples::Owned(_)))
            .then(|| to_f64_vec(new.data.get(old_rows * row_bytes..)?, scalar).ok())
            .flatten();
        let mut columns = Vec::with_capacity(width);
        for (c, column) in self.columns.into_iter().enumerate() {
            let samples = match column.samples {
                Samples::F32(_) if is_aligned(&new.data, 4) => Samples::F32(new.data.clone()),
                Samples::F64(_) if is_aligned(&new.data, 8) => Samples::F64(new.data.clone()),
                Samples::Owned(values) => {
                    let mut values =
                        Arc::try_unwrap(values).unwrap_or_else(|shared| (*shared).clone());
                    let fresh = fresh.as_ref()?;
                    values.extend(fresh.iter().skip(c).step_by(width));
                    Samples::Owned(Arc::new(values))
                }
                _ => return None,
            };
            let pyramid = column.pyramid.into_inner();
            let next = Column::new(samples);
            if let Some(pyramid) = pyramid {
                let grown = match (&next.samples, pyramid) {
                    (Samples::F32(b), AnyPyramid::F32(mut p)) => {
                        p.extend(Column::f32s(b));
                        AnyPyramid::F32(p)
                    }
                    (Samples::F64(b), AnyPyramid::F64(mut p)) => {
                        p.extend(Column::f64s(b));
                        AnyPyramid::F64(p)
                    }
                    (Samples::Owned(v), AnyPyramid::F64(mut p)) => {
                        p.extend(v);
                        AnyPyramid::F64(p)
                    }
                    _ => return None,
                };
                let _ = next.pyramid.set(grown);
            }
            columns.push(next);
        }
        Some(Levels {
            etag: new.etag.clone(),
            len,
            columns,
        })
    }
}
