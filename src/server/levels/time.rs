//! The time axis of a timestamps array: read in place as datetime64 counts, checked and
//! indexed once per array version (see [`TimeIndex`]), then searched by every time window.

use std::sync::OnceLock;

use bytes::Bytes;

use super::{Layout, LevelsError};
use crate::lod::{Count, TimeIndex, TimeOrderError, View};
use crate::server::describe::unit_ns;
use crate::server::limits::Heavy;
use crate::server::store::StoredArray;
use crate::wire::dtype::ScalarKind;

/// One version of a timestamps array.
#[derive(Debug)]
pub struct Timestamps {
    /// The array version.
    pub etag: String,
    /// Nanoseconds per count.
    pub unit_ns: i64,
    data: Bytes,
    layout: Layout,
    index: OnceLock<Result<TimeIndex, TimeOrderError>>,
    /// The pool the check takes a permit of.
    heavy: Heavy,
}

impl Timestamps {
    /// The timestamps of a 1-D datetime64 array with a fixed unit.
    ///
    /// # Errors
    /// [`LevelsError::Unsupported`] for another array, or units of months or years.
    pub fn new(array: &StoredArray, heavy: Heavy) -> Result<Timestamps, LevelsError> {
        let unsupported = |why: &str| {
            LevelsError::Unsupported(format!("'{}' cannot be a time axis: {why}", array.name))
        };
        let scalar = array
            .header
            .dtype
            .as_scalar()
            .filter(|s| s.kind == ScalarKind::DateTime && s.size == 8)
            .ok_or_else(|| unsupported("it is not datetime64"))?;
        let [len] = array.header.shape[..] else {
            return Err(unsupported("it is not 1-D"));
        };
        let unit_ns = scalar
            .unit
            .and_then(|(unit, multiplier)| unit_ns(unit, multiplier))
            .ok_or_else(|| {
                unsupported(
                    "its unit (months, years or finer than ns) has no fixed length in nanoseconds",
                )
            })?;
        let layout = Layout::of_column(&[len], false, 8, 0, !scalar.is_native_order());
        let timestamps = Timestamps {
            etag: array.etag.clone(),
            unit_ns,
            data: array.data.clone(),
            layout,
            index: OnceLock::new(),
            heavy,
        };
        timestamps
            .try_view()
            .ok_or_else(|| unsupported("its data is shorter than its shape"))?;
        Ok(timestamps)
    }

    fn try_view(&self) -> Option<View<'_, Count>> {
        let Layout {
            offset,
            stride,
            len,
            swap,
        } = self.layout;
        View::new(self.data.get(offset..)?, len, stride, swap)
    }

    /// The counts, in place.
    pub fn view(&self) -> View<'_, Count> {
        self.try_view().unwrap_or(View::Slice(&[]))
    }

    /// The index, built on first use (one O(N) pass, queued for a permit of the heavy pool;
    /// callers meanwhile wait for it).
    ///
    /// # Errors
    /// The [`TimeOrderError`] the check found.
    pub fn index(&self) -> Result<&TimeIndex, TimeOrderError> {
        self.index
            .get_or_init(|| {
                let _permit = self.heavy.queue_blocking();
                let started = std::time::Instant::now();
                let index = check_in_parallel(&self.view());
                let seconds = started.elapsed().as_secs_f64();
                tracing::info!(
                    samples = self.layout.len,
                    ms = format!("{:.1}", seconds * 1e3),
                    gb_per_s = format!(
                        "{:.2}",
                        self.layout.len as f64 * 8.0 / seconds.max(1e-9) / 1e9
                    ),
                    "checked and indexed timestamps"
                );
                index
            })
            .as_ref()
            .map_err(|err| *err)
    }

    /// The sample ranges of the `bins` intervals of `[t0_ns, t1_ns)`.
    ///
    /// # Errors
    /// As [`Timestamps::index`].
    pub fn interval_ranges(
        &self,
        window: (i64, i64),
        bins: usize,
    ) -> Result<Vec<(usize, usize)>, TimeOrderError> {
        let index = self.index()?;
        Ok(index.interval_ranges(&self.view(), window, bins, self.unit_ns))
    }
}

/// [`TimeIndex::build`], with the check split across the machine's cores.
fn check_in_parallel(times: &View<'_, Count>) -> Result<TimeIndex, TimeOrderError> {
    use crate::lod::{Series, SPARSE};
    let len = times.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    // Parts start at multiples of SPARSE, so their sparse entries concatenate.
    let per = len.div_ceil(threads).div_ceil(SPARSE) * SPARSE;
    let parts: Option<Vec<Result<Vec<i64>, TimeOrderError>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (from, to) = ((t * per).min(len), ((t + 1) * per).min(len));
                scope.spawn(move || TimeIndex::check_part(times, from, to))
            })
            .collect();
        handles.into_iter().map(|h| h.join().ok()).collect()
    });
    // A part that failed (it cannot, short of a bug): the plain build is always right.
    let Some(parts) = parts else {
        return TimeIndex::build(times);
    };
    let mut sparse = Vec::with_capacity(len.div_ceil(SPARSE));
    for part in parts {
        // Parts are in order, so the first fault found is the first fault.
        sparse.extend(part?);
    }
    Ok(TimeIndex::from_sparse(times, sparse))
}
