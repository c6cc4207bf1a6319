//! One column of a charted array, read in place from the memory map in its own dtype and
//! byte order (no converted copy), with its min/max pyramid and moment tree once built.

use std::fmt;
use std::path::Path;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use half::f16;

use super::stats::WindowStats;
use crate::lod::{
    m4_scan, Count, LodError, M4Bin, MomentTree, Moments, Pyramid, Sample, Series, Truth, View,
    BLOCK, CHUNK,
};
use crate::wire::dtype::{ScalarKind, ScalarType};

/// Windows wider than this many samples wait for a pyramid being built rather than scan
/// (a scan of them would cost more than the rest of the build, ~10 ms and up), and a scan
/// of them is heavy work (see [`crate::server::limits`]).
pub const SCAN_LIMIT: u64 = 1 << 24;
/// The longest a query waits for a pyramid being built before it scans after all.
pub const BUILD_WAIT: Duration = Duration::from_secs(5);
/// Most threads one build splits its pass over the samples across.
const MAX_BUILD_THREADS: usize = 4;

/// Where a column's samples lie in the array's data bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Byte offset of sample 0.
    pub offset: usize,
    /// Bytes from one sample to the next (the row size for a column of a C-order array).
    pub stride: usize,
    /// Number of samples.
    pub len: usize,
    /// Stored in the other byte order than the machine's.
    pub swap: bool,
}

impl Layout {
    /// Column `column` of an array of `shape` (0-d, 1-D or 2-D) with `itemsize`-byte
    /// elements in the given memory order.
    pub fn of_column(
        shape: &[u64],
        fortran: bool,
        itemsize: usize,
        column: usize,
        swap: bool,
    ) -> Layout {
        let (len, width) = match shape {
            [] => (1, 1),
            [n] => (*n as usize, 1),
            [n, c, ..] => (*n as usize, *c as usize),
        };
        let (offset, stride) = if fortran {
            (column * len * itemsize, itemsize)
        } else {
            (column * itemsize, width * itemsize)
        };
        Layout {
            offset,
            stride,
            len,
            swap,
        }
    }
}

/// The level of detail of one column, whatever its sample type.
pub trait ColumnLod: Send + Sync + fmt::Debug {
    /// Number of samples.
    fn len(&self) -> u64;
    /// Whether the column has no sample.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether the pyramid is ready (else queries scan).
    fn is_indexed(&self) -> bool;
    /// The M4 bins of `[start, stop)`.
    ///
    /// # Errors
    /// As [`Pyramid::m4`].
    fn m4(&self, start: u64, stop: u64, bins: usize) -> Result<Vec<M4Bin>, LodError>;
    /// The statistics of `[start, stop)`: from the pyramid and the moment tree once built,
    /// else from a scan.
    ///
    /// # Errors
    /// A window out of range.
    fn stats(&self, start: u64, stop: u64) -> Result<WindowStats, LodError>;
    /// The samples `[start, stop)` as `f64` (NaT as NaN), which must be within the column.
    fn values(&self, start: u64, stop: u64) -> Vec<f64>;
    /// The M4 bins of the non-empty sample ranges `[a, b)`, in order.
    ///
    /// # Errors
    /// As [`Pyramid::m4_ranges`].
    fn m4_ranges(&self, ranges: &[(usize, usize)]) -> Result<Vec<M4Bin>, LodError>;
    /// Say that [`ColumnLod::index`] is about to run: from now on, [`ColumnLod::wait_indexed`]
    /// waits for it.
    fn will_index(&self);
    /// Wait up to `timeout` for a build under way; whether the pyramid is ready.
    fn wait_indexed(&self, timeout: Duration) -> bool;
    /// Whether the pyramid and the moment tree are both ready (else statistics scan).
    fn is_measured(&self) -> bool;
    /// Wait up to `timeout` for a build under way; whether both are ready.
    fn wait_measured(&self, timeout: Duration) -> bool;
    /// Build the pyramid and the moment tree, or load them from `cache` (the pyramid's path;
    /// the tree's is beside it) (blocking, O(N)), if not done yet.
    fn index(&self, cache: Option<&Path>);
    /// The same column grown by an append, now at `layout` in `data`, its pyramid (if any)
    /// extended by the new samples only.
    fn grown(self: Box<Self>, data: Bytes, layout: Layout) -> Option<Box<dyn ColumnLod>>;
    /// Bytes of memory the pyramid holds (0 before it is built).
    fn pyramid_bytes(&self) -> usize;
    /// Bytes of the samples (what a build reads).
    fn sample_bytes(&self) -> u64;
}

/// A column of samples of type `T`.
struct Typed<T: Sample> {
    data: Bytes,
    layout: Layout,
    pyramid: OnceLock<Pyramid<T>>,
    /// Built right after the pyramid (LOD queries need not wait for it).
    moments: OnceLock<MomentTree>,
    /// What a build under way has still to set: from `will_index`, the pyramid and the
    /// moment tree, then the tree alone, then nothing.
    building: Mutex<Pending>,
    built: Condvar,
}

impl<T: Sample> fmt::Debug for Typed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Typed")
            .field("dtype", &String::from_utf8_lossy(&T::DTYPE))
            .field("layout", &self.layout)
            .field("indexed", &self.pyramid.get().is_some())
            .finish()
    }
}

impl<T: Sample> Typed<T> {
    /// The column, if `data` holds all of it.
    fn new(data: Bytes, layout: Layout) -> Option<Typed<T>> {
        let column = Typed {
            data,
            layout,
            pyramid: OnceLock::new(),
            moments: OnceLock::new(),
            building: Mutex::new(Pending::Nothing),
            built: Condvar::new(),
        };
        column.try_view()?;
        Some(column)
    }

    fn try_view(&self) -> Option<View<'_, T>> {
        let Layout {
            offset,
            stride,
            len,
            swap,
        } = self.layout;
        View::new(self.data.get(offset..)?, len, stride, swap)
    }

    /// The samples (checked when the column was made, so never the empty fallback).
    fn view(&self) -> View<'_, T> {
        self.try_view().unwrap_or(View::Slice(&[]))
    }

    /// The pyramid, if built; `None`: scan.
    fn pyramid_for(&self, _width: u64) -> Option<&Pyramid<T>> {
        self.pyramid.get()
    }

    fn set_building(&self, pending: Pending) {
        *self.building.lock().unwrap_or_else(|p| p.into_inner()) = pending;
        self.built.notify_all();
    }

    /// Wait up to `timeout` while the build still has `pending` or more to set.
    fn wait_while(&self, timeout: Duration, pending: Pending) {
        let building = self.building.lock().unwrap_or_else(|p| p.into_inner());
        let _done = self
            .built
            .wait_timeout_while(building, timeout, |now| *now >= pending)
            .unwrap_or_else(|p| p.into_inner());
    }
}

/// What a build has still to set, in the order it sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pending {
    Nothing,
    Moments,
    Pyramid,
}

impl<T: Sample> ColumnLod for Typed<T> {
    fn len(&self) -> u64 {
        self.layout.len as u64
    }

    fn is_indexed(&self) -> bool {
        self.pyramid.get().is_some()
    }

    fn m4(&self, start: u64, stop: u64, bins: usize) -> Result<Vec<M4Bin>, LodError> {
        let view = self.view();
        match self.pyramid_for(stop.saturating_sub(start)) {
            Some(pyramid) => pyramid.m4(&view, start, stop, bins),
            None => m4_scan(&view, start, stop, bins),
        }
    }

    fn stats(&self, start: u64, stop: u64) -> Result<WindowStats, LodError> {
        let view = self.view();
        if let (Some(pyramid), Some(tree)) = (self.pyramid.get(), self.moments.get()) {
            let stats = WindowStats::new(start, stop, tree.query(&view, start, stop)?, true);
            return Ok(match pyramid.min_max(&view, start, stop)? {
                Some(((lo, min), (hi, max))) => {
                    stats.with_extremes((lo, min.to_f64()), (hi, max.to_f64()))
                }
                None => stats,
            });
        }
        let bin = m4_scan(&view, start, stop, 1)?.into_iter().next();
        let moments = Moments::of(&view, start as usize, stop as usize);
        let stats = WindowStats::new(start, stop, moments, false);
        Ok(match bin {
            Some(b) => stats.with_extremes((b.min_index, b.min), (b.max_index, b.max)),
            None => stats,
        })
    }

    fn values(&self, start: u64, stop: u64) -> Vec<f64> {
        let view = self.view();
        (start as usize..stop as usize)
            .map(|i| view.sample(i).to_f64())
            .collect()
    }

    fn m4_ranges(&self, ranges: &[(usize, usize)]) -> Result<Vec<M4Bin>, LodError> {
        let view = self.view();
        let width = match (ranges.first(), ranges.last()) {
            (Some(first), Some(last)) => last.1.saturating_sub(first.0) as u64,
            _ => 0,
        };
        match self.pyramid_for(width) {
            Some(pyramid) => pyramid.m4_ranges(&view, ranges),
            None => crate::lod::m4_scan_ranges(&view, ranges),
        }
    }

    fn will_index(&self) {
        if !self.is_measured() {
            self.set_building(Pending::Pyramid);
        }
    }

    fn wait_indexed(&self, timeout: Duration) -> bool {
        self.wait_while(timeout, Pending::Pyramid);
        self.is_indexed()
    }

    fn wait_measured(&self, timeout: Duration) -> bool {
        self.wait_while(timeout, Pending::Moments);
        self.is_measured()
    }

    fn is_measured(&self) -> bool {
        self.pyramid.get().is_some() && self.moments.get().is_some()
    }

    fn index(&self, cache: Option<&Path>) {
        let view = self.view();
        if !self.is_indexed() {
            let (pyramid, built) = load_or_build(&view, cache);
            let _ = self.pyramid.set(pyramid);
            // LOD queries go on with the pyramid while the tree is built and both written.
            self.set_building(Pending::Moments);
            if let (true, Some(path), Some(pyramid)) = (built, cache, self.pyramid.get()) {
                if let Err(err) = write_cache(path, &pyramid.to_bytes()) {
                    tracing::warn!(path = %path.display(), "cannot write LOD cache: {err}");
                }
            }
        }
        if self.moments.get().is_none() {
            let moments_cache = cache.map(|path| path.with_extension("mom"));
            let (moments, built) = load_or_build_moments(&view, moments_cache.as_deref());
            let _ = self.moments.set(moments);
            self.set_building(Pending::Nothing);
            if let (true, Some(path), Some(tree)) = (built, &moments_cache, self.moments.get()) {
                if let Err(err) = write_cache(path, &tree.to_bytes()) {
                    tracing::warn!(path = %path.display(), "cannot write LOD cache: {err}");
                }
            }
        }
        self.set_building(Pending::Nothing);
    }

    fn grown(self: Box<Self>, data: Bytes, layout: Layout) -> Option<Box<dyn ColumnLod>> {
        let (pyramid, moments) = (self.pyramid.into_inner(), self.moments.into_inner());
        let next = Typed::<T>::new(data, layout)?;
        if let (Some(mut pyramid), Some(mut moments)) = (pyramid, moments) {
            moments.extend(&next.view());
            let _ = next.moments.set(moments);
            pyramid.extend(&next.view());
            let _ = next.pyramid.set(pyramid);
        }
        Some(Box::new(next))
    }

    fn pyramid_bytes(&self) -> usize {
        self.pyramid.get().map_or(0, Pyramid::memory_bytes)
            + self.moments.get().map_or(0, MomentTree::memory_bytes)
    }

    fn sample_bytes(&self) -> u64 {
        (self.layout.len * T::SIZE) as u64
    }
}

/// The pyramid of `samples`: loaded from `cache` if it holds a valid one (then `false`),
/// else built (then `true`: the caller writes it there).
fn load_or_build<T: Sample>(samples: &View<'_, T>, cache: Option<&Path>) -> (Pyramid<T>, bool) {
    if let Some(path) = cache {
        if let Ok(bytes) = std::fs::read(path) {
            match Pyramid::from_bytes(&bytes, samples.len() as u64) {
                Ok(pyramid) => return (pyramid, false),
                Err(err) => tracing::warn!(path = %path.display(), "rebuilding LOD cache: {err}"),
            }
        }
    }
    let started = Instant::now();
    let pyramid = build_in_parallel(samples);
    let seconds = started.elapsed().as_secs_f64();
    let bytes = (samples.len() * T::SIZE) as f64;
    tracing::info!(
        samples = samples.len(),
        dtype = %String::from_utf8_lossy(&T::DTYPE).trim_end_matches('\0'),
        ms = format!("{:.1}", seconds * 1e3),
        gb_per_s = format!("{:.2}", bytes / seconds.max(1e-9) / 1e9),
        "built a LOD pyramid"
    );
    (pyramid, true)
}

/// The moment tree of `samples`: loaded from `cache` if it holds a valid one (then
/// `false`), else built across the machine's cores (then `true`).
fn load_or_build_moments<T: Sample>(
    samples: &View<'_, T>,
    cache: Option<&Path>,
) -> (MomentTree, bool) {
    if let Some(path) = cache {
        if let Ok(bytes) = std::fs::read(path) {
            match MomentTree::from_bytes(&bytes, samples.len() as u64) {
                Ok(tree) => return (tree, false),
                Err(err) => tracing::warn!(path = %path.display(), "rebuilding LOD cache: {err}"),
            }
        }
    }
    let started = Instant::now();
    let chunks = samples.len() / CHUNK;
    let nodes = split_across_threads(chunks, |from, to| {
        MomentTree::chunk_nodes(samples, from, to)
    });
    let tree = if nodes.len() == chunks {
        MomentTree::from_chunks(samples.len(), nodes)
    } else {
        MomentTree::build(samples)
    };
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        samples = samples.len(),
        ms = format!("{:.1}", seconds * 1e3),
        "built a moment tree"
    );
    (tree, true)
}

/// `part(from, to)` over `[0, units)` cut into one range per thread (up to the machine's
/// cores, at most [`MAX_BUILD_THREADS`]), concatenated in order. A part that panicked (it
/// cannot, short of a bug) leaves the result short, which callers check.
fn split_across_threads<X: Send>(
    units: usize,
    part: impl Fn(usize, usize) -> Vec<X> + Sync,
) -> Vec<X> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_BUILD_THREADS)
        .min(units.max(1));
    let per_thread = units.div_ceil(threads);
    let part = &part;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (from, to) = (t * per_thread, ((t + 1) * per_thread).min(units));
                scope.spawn(move || part(from, to))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// [`Pyramid::build`], with the pass over the samples split across the machine's cores.
fn build_in_parallel<T: Sample>(samples: &View<'_, T>) -> Pyramid<T> {
    let blocks = samples.len() / BLOCK;
    let nodes = split_across_threads(blocks, |from, to| Pyramid::block_nodes(samples, from, to));
    if nodes.len() != blocks {
        // A part failed (it cannot, short of a bug): the plain build is always right.
        return Pyramid::build(samples);
    }
    Pyramid::from_blocks(samples.len(), nodes)
}

/// Write through a temporary file and rename, so a crash never leaves a torn cache.
fn write_cache(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(tmp, path)
}

/// The column of `data` at `layout` as samples of `scalar` (a dtype
/// [`ScalarType::is_numeric`] accepts); `None` for another dtype or data too short.
pub fn typed_column(
    scalar: &ScalarType,
    data: Bytes,
    layout: Layout,
) -> Option<Box<dyn ColumnLod>> {
    fn make<T: Sample>(data: Bytes, layout: Layout) -> Option<Box<dyn ColumnLod>> {
        Some(Box::new(Typed::<T>::new(data, layout)?))
    }
    match (scalar.kind, scalar.size) {
        (ScalarKind::Float, 2) => make::<f16>(data, layout),
        (ScalarKind::Float, 4) => make::<f32>(data, layout),
        (ScalarKind::Float, 8) => make::<f64>(data, layout),
        (ScalarKind::Int, 1) => make::<i8>(data, layout),
        (ScalarKind::Int, 2) => make::<i16>(data, layout),
        (ScalarKind::Int, 4) => make::<i32>(data, layout),
        (ScalarKind::Int, 8) => make::<i64>(data, layout),
        (ScalarKind::UInt, 1) => make::<u8>(data, layout),
        (ScalarKind::UInt, 2) => make::<u16>(data, layout),
        (ScalarKind::UInt, 4) => make::<u32>(data, layout),
        (ScalarKind::UInt, 8) => make::<u64>(data, layout),
        (ScalarKind::Bool, 1) => make::<Truth>(data, layout),
        (ScalarKind::DateTime | ScalarKind::TimeDelta, 8) => make::<Count>(data, layout),
        _ => None,
    }
}
