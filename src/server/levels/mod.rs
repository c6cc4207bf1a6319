//! Level-of-detail state per stored array: each column read in place from the memory map, in
//! its own dtype and byte order, with one min/max [`Pyramid`](crate::lod::Pyramid) per
//! column, so `/api/lod` answers any window in time independent of the array's length.
//!
//! - **Samples, in place.** Every numeric dtype (bool, int8 to int64, uint8 to uint64,
//!   float16/32/64, datetime64/timedelta64 counts with NaT as NaN) in either byte order, and
//!   each column of an (N, C) array in either memory order (a strided view), is read where it
//!   lies: nothing is converted or copied, so the memory of a charted array is its pyramids.
//!   Extremes are exact in the sample type; answers give them as `f8` (int64 beyond 2^53
//!   rounds there, the exact value is one `/api/arrays/{name}?slice=i:i+1` away).
//! - **Pyramids** are built on a background thread the first time an array is charted,
//!   off the request path; until one is ready, queries are answered by an exact scan. They
//!   are written to `DIR/.downlink/lod/` (hidden, never listed) keyed by the array's ETag,
//!   so a restart loads them instead of rebuilding. Overhead: about 3.3% of the samples'
//!   bytes (see `crate::lod`).
//! - Entries are keyed by array name; a new file version (new ETag) replaces the old entry.
//!
//! - **Time axes.** A series' timestamps are checked and indexed once per version
//!   ([`Timestamps`]), in the background from the first time they are needed; a time window
//!   then costs O(bins × log N).
//!
//! - `answer`: the bins of a window, by index or by time.
//! - `column`: one typed column, its pyramid and its moment tree.
//! - `stats`: the statistics of a window.
//! - `spectrum`: the Welch power spectral density of a window.
//! - `time`: timestamps as a time axis.

mod answer;
mod column;
mod spectrum;
mod stats;
mod time;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use answer::Window;
pub use column::{ColumnLod, Layout};
pub use spectrum::{SpectrumAnswer, SpectrumQuery};
pub use stats::{StatsAnswer, WindowStats};
pub use time::Timestamps;

use crate::lod::LodError;
use crate::server::describe::chartable;
use crate::server::limits::{Busy, Heavy};
use crate::server::store::remote::Bucket;
use crate::server::store::StoredArray;
use crate::wire::dtype::ScalarType;

/// Why an array has no level of detail.
#[derive(Debug, thiserror::Error)]
pub enum LevelsError {
    /// The dtype or shape cannot be charted.
    #[error("{0}")]
    Unsupported(String),
    /// The query is out of bounds.
    #[error("{0}")]
    Query(#[from] LodError),
    /// The window or column asked for is not within the array.
    #[error("{0}")]
    Window(String),
    /// A time window of a series without usable timestamps.
    #[error("{0}")]
    NoTime(String),
    /// A wide scan refused: the heavy pool stayed full.
    #[error(transparent)]
    Busy(#[from] Busy),
}

/// The level-of-detail state of one array version.
#[derive(Debug)]
pub struct Levels {
    /// The array version these levels describe.
    pub etag: String,
    /// Samples along axis 0.
    pub len: u64,
    /// One per column (one for a 1-D array).
    pub columns: Vec<Box<dyn ColumnLod>>,
}

impl Levels {
    /// The columns of `array`, read in place (no pyramid yet).
    ///
    /// # Errors
    /// [`LevelsError::Unsupported`] for dtypes and shapes that cannot be charted.
    pub fn new(array: &StoredArray) -> Result<Levels, LevelsError> {
        chartable(&array.header).map_err(LevelsError::Unsupported)?;
        let (len, columns) = columns_of(array)?;
        Ok(Levels {
            etag: array.etag.clone(),
            len,
            columns,
        })
    }

    /// These levels grown to cover `new`, an append of more rows to the same array: the
    /// columns follow the new file (whose memory order may have changed) and keep their
    /// pyramids, extended by the new rows only.
    fn extended(self, new: &StoredArray) -> Option<Levels> {
        let scalar = new.header.dtype.as_scalar()?;
        let len = *new.header.shape.first()?;
        if len < self.len || self.columns.len() != width(&new.header.shape) {
            return None;
        }
        let columns = self
            .columns
            .into_iter()
            .enumerate()
            .map(|(c, column)| column.grown(new.data.clone(), layout(new, scalar, c)))
            .collect::<Option<Vec<_>>>()?;
        Some(Levels {
            etag: new.etag.clone(),
            len,
            columns,
        })
    }
}

/// Columns of an array of `shape`: 1 for 0-d and 1-D arrays.
fn width(shape: &[u64]) -> usize {
    shape.get(1).map_or(1, |&c| c as usize)
}

fn layout(array: &StoredArray, scalar: &ScalarType, column: usize) -> Layout {
    let header = &array.header;
    Layout::of_column(
        &header.shape,
        header.fortran_order,
        scalar.size,
        column,
        !scalar.is_native_order(),
    )
}

/// The length along axis 0 and the typed columns of a chartable array.
fn columns_of(array: &StoredArray) -> Result<(u64, Vec<Box<dyn ColumnLod>>), LevelsError> {
    let Some(scalar) = array.header.dtype.as_scalar() else {
        return Err(LevelsError::Unsupported(
            "a record array cannot be charted".into(),
        ));
    };
    let len = array.header.shape.first().copied().unwrap_or(1);
    let columns = (0..width(&array.header.shape))
        .map(|c| {
            column::typed_column(scalar, array.data.clone(), layout(array, scalar, c)).ok_or_else(
                || {
                    LevelsError::Unsupported(format!(
                        "dtype {} cannot be charted in place",
                        scalar.descr()
                    ))
                },
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((len, columns))
}

/// Run `index` (which loads the column's pyramid from `path` and its moment tree beside it,
/// or builds and writes them there) with both files shared through `bucket`, under
/// `PREFIX/.downlink/lod/` by the same names: named by the array version's ETag, which every
/// replica derives alike, so they are content-addressed. Fetched first when the bucket has
/// them (another replica built them: this one does not build again); uploaded after a
/// build with a conditional PUT, so replicas racing to build store one copy.
fn shared_index(bucket: &Bucket, path: &Path, index: impl FnOnce()) {
    let files: Vec<PathBuf> = vec![path.to_path_buf(), path.with_extension("mom")];
    let key = |file: &Path| {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        format!(".downlink/lod/{name}")
    };
    let mut fetched = Vec::new();
    for file in &files {
        let had = file.exists()
            || bucket.download(&key(file), file).unwrap_or_else(|err| {
                tracing::warn!("cannot fetch a shared pyramid: {err}");
                false
            });
        fetched.push(had);
    }
    index();
    for (file, had) in files.iter().zip(fetched) {
        if !had && file.exists() {
            if let Err(err) = bucket.upload_new(&key(file), file) {
                tracing::warn!("cannot share a pyramid: {err}");
            }
        }
    }
}

/// Series shorter than this are scanned directly; a pyramid is not worth building.
const INDEX_FROM: u64 = 1 << 16;

/// All arrays' levels, by array name.
#[derive(Debug, Clone)]
pub struct LevelsCache {
    dir: PathBuf,
    /// With a bucket as the data source: where the pyramids are shared between replicas.
    shared: Option<Arc<Bucket>>,
    /// The pool that builds and wide scans share with the other heavy work.
    heavy: Heavy,
    entries: Arc<Mutex<HashMap<String, Arc<Levels>>>>,
    times: Arc<Mutex<HashMap<String, Arc<Timestamps>>>>,
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
    /// A cache that persists pyramids under `dir`, building them and scanning wide windows
    /// within the permits of `heavy`.
    pub fn new(dir: PathBuf, heavy: Heavy) -> LevelsCache {
        LevelsCache {
            dir,
            shared: None,
            heavy,
            entries: Arc::default(),
            times: Arc::default(),
            builds: Arc::default(),
        }
    }

    /// Share the pyramids and moment trees through `bucket` (see [`shared_index`]).
    pub fn shared_in(self, bucket: Arc<Bucket>) -> LevelsCache {
        LevelsCache {
            shared: Some(bucket),
            ..self
        }
    }

    /// The time axis of the timestamps array `times`, its check and index started in the
    /// background on first use of this version (a query that needs them waits for them).
    ///
    /// # Errors
    /// As [`Timestamps::new`].
    pub fn timestamps(&self, times: &StoredArray) -> Result<Arc<Timestamps>, LevelsError> {
        let mut entries = self.times.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = entries.get(&times.name) {
            if found.etag == times.etag {
                return Ok(Arc::clone(found));
            }
        }
        let fresh = Arc::new(Timestamps::new(times, self.heavy.clone())?);
        entries.insert(times.name.clone(), Arc::clone(&fresh));
        drop(entries);
        let background = Arc::clone(&fresh);
        std::thread::spawn(move || {
            if let Err(err) = background.index() {
                tracing::info!("{err}");
            }
        });
        Ok(fresh)
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
            .is_some_and(|levels| levels.columns.iter().all(|c| c.is_indexed()))
    }

    /// Bytes the pyramids of every array hold.
    pub fn pyramid_bytes(&self) -> usize {
        self.lock()
            .values()
            .flat_map(|levels| levels.columns.iter())
            .map(|c| c.pyramid_bytes())
            .sum()
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
            self.index_in_background(&array.name, Arc::clone(&levels));
        }
        Ok(levels)
    }

    fn index_in_background(&self, name: &str, levels: Arc<Levels>) {
        let dir = self.dir.clone();
        let shared = self.shared.clone();
        let builds = Arc::clone(&self.builds);
        let name = name.to_string();
        builds.started.fetch_add(1, Ordering::SeqCst);
        for column in &levels.columns {
            column.will_index();
        }
        let heavy = self.heavy.clone();
        std::thread::spawn(move || {
            // Builds queue for a permit of the heavy pool, never refused.
            let _permit = heavy.queue_blocking();
            for (c, column) in levels.columns.iter().enumerate() {
                let path = dir.join(format!("{}-{c}.pyr", levels.etag));
                match &shared {
                    Some(bucket) => shared_index(bucket, &path, || column.index(Some(&path))),
                    None => column.index(Some(&path)),
                }
            }
            tracing::debug!(array = %name, "indexed");
            // Let go first: an append extends levels only nobody else holds.
            drop(levels);
            builds.finished.fetch_add(1, Ordering::SeqCst);
        });
    }

    /// Follow an append: `old` grew into `new`. The columns and pyramids of `old`, if any,
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

    /// Drop the levels of `group` and of every array under it (`group/...`): a Zarr store
    /// dropped from the decode caches.
    pub fn forget_group(&self, group: &str) {
        let under = |name: &String| {
            name == group
                || name
                    .strip_prefix(group)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        self.lock().retain(|name, _| !under(name));
        self.times
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|name, _| !under(name));
    }

    /// Drop the levels of a deleted array.
    pub fn forget(&self, name: &str) {
        self.lock().remove(name);
        self.times
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }
}
