//! Answering a level-of-detail query: the bins of a window of an array's columns, by index
//! or by time, with the exact timestamp of every point. `/api/lod` and the page's first
//! frame both answer through here.

use tokio::sync::OwnedSemaphorePermit;

use super::column::{BUILD_WAIT, SCAN_LIMIT};
use super::stats::columns_asked;
use super::{Levels, LevelsCache, LevelsError};
use crate::lod::{LodAnswer, PointTimes};
use crate::server::describe::time_count;
use crate::server::store::StoredArray;
use crate::wire::dtype::ByteOrder;

/// The window of a query: samples by index, or an interval of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Samples `[start, stop)` along axis 0, each defaulting to the whole array.
    Samples {
        /// First sample (default 0).
        start: Option<u64>,
        /// One past the last sample (default: the array's length).
        stop: Option<u64>,
    },
    /// Instants `[t0, t1)`, ns since the Unix epoch, `t0 < t1`.
    Time {
        /// The first instant.
        t0: i64,
        /// One past the last instant.
        t1: i64,
    },
}

impl Window {
    /// A canonical text of the window, for ETags.
    pub fn key(&self) -> String {
        match self {
            Window::Samples { start, stop } => format!("lod:{start:?}:{stop:?}"),
            Window::Time { t0, t1 } => format!("lodt:{t0}:{t1}"),
        }
    }
}

impl LevelsCache {
    /// The M4 bins of `window` of `array` (every column, or `column` alone) in `bins` bins,
    /// with the timestamps of every point when it has timestamps (`times`, a 1-D datetime64
    /// array as long as it: see [`crate::server::describe::timestamps_for`]).
    ///
    /// # Errors
    /// [`LevelsError::Window`] for a window or column out of range, [`LevelsError::NoTime`]
    /// for a time window of a series without usable timestamps, and as [`LevelsCache::get`].
    pub fn answer(
        &self,
        array: &StoredArray,
        times: Option<&StoredArray>,
        window: Window,
        bins: usize,
        column: Option<u64>,
    ) -> Result<LodAnswer, LevelsError> {
        let levels = self.get(array)?;
        let columns = columns_asked(&levels, column)?;
        let (start, stop, bins) = match window {
            Window::Samples { .. } => {
                let (start, stop) = self.sample_range(&levels, array, times, window)?;
                let _scan = self.admit_scan(&levels, &columns, stop - start)?;
                let bins = columns
                    .iter()
                    .map(|&c| levels.columns[c].m4(start, stop, bins))
                    .collect::<Result<Vec<_>, _>>()?;
                (start, stop, bins)
            }
            Window::Time { t0, t1 } => {
                let ranges = self.time_ranges(array, times, (t0, t1), bins)?;
                let start = ranges.first().map_or(0, |r| r.0);
                let stop = ranges.last().map_or(start, |r| r.1);
                let _scan = self.admit_scan(&levels, &columns, (stop - start) as u64)?;
                let bins = columns
                    .iter()
                    .map(|&c| levels.columns[c].m4_ranges(&ranges))
                    .collect::<Result<Vec<_>, _>>()?;
                (start as u64, stop as u64, bins)
            }
        };
        let mut answer = LodAnswer {
            start,
            stop,
            columns: bins,
            time: None,
        };
        if let Some(times) = times {
            answer.time = point_times(&answer, times);
        }
        Ok(answer)
    }
}

impl LevelsCache {
    /// The samples `[start, stop)` of `window` of `array` (for a time window, those whose
    /// timestamps in `times` fall in it).
    ///
    /// # Errors
    /// [`LevelsError::Window`] for samples out of range, [`LevelsError::NoTime`] for a time
    /// window without usable timestamps.
    pub(super) fn sample_range(
        &self,
        levels: &Levels,
        array: &StoredArray,
        times: Option<&StoredArray>,
        window: Window,
    ) -> Result<(u64, u64), LevelsError> {
        match window {
            Window::Samples { start, stop } => {
                let len = levels.len;
                let (start, stop) = (start.unwrap_or(0), stop.unwrap_or(len));
                if start > stop || stop > len {
                    return Err(LevelsError::Window(format!(
                        "the window start={start} stop={stop} is not within 0 <= start <= stop <= {len}"
                    )));
                }
                Ok((start, stop))
            }
            Window::Time { t0, t1 } => {
                let ranges = self.time_ranges(array, times, (t0, t1), 1)?;
                let range = ranges.first().copied().unwrap_or((0, 0));
                Ok((range.0 as u64, range.1 as u64))
            }
        }
    }

    /// The sample ranges of the `bins` intervals of `[t0, t1)` by the timestamps `times`.
    fn time_ranges(
        &self,
        array: &StoredArray,
        times: Option<&StoredArray>,
        window: (i64, i64),
        bins: usize,
    ) -> Result<Vec<(usize, usize)>, LevelsError> {
        let times = times.ok_or_else(|| {
            LevelsError::NoTime(format!(
                "'{}' has no timestamps (a datetime64 array named t, time or timestamp of the same length beside it, or one named by time=), so it has no time window; ask by start= and stop=",
                array.name
            ))
        })?;
        self.timestamps(times)?
            .interval_ranges(window, bins)
            .map_err(|err| LevelsError::NoTime(err.to_string()))
    }

    /// Before a window of `width` samples of `columns`: wait (at most [`BUILD_WAIT`], and
    /// holding nothing) for pyramids being built, and if a wide window must still be
    /// scanned, a permit of the heavy pool for the scan.
    ///
    /// # Errors
    /// [`LevelsError::Busy`] when no permit came free in time.
    pub(super) fn admit_scan(
        &self,
        levels: &Levels,
        columns: &[usize],
        width: u64,
    ) -> Result<Option<OwnedSemaphorePermit>, LevelsError> {
        self.admit(levels, columns, width, |c| c.wait_indexed(BUILD_WAIT))
    }

    /// [`LevelsCache::admit_scan`] for statistics: what they wait for is the moment tree.
    pub(super) fn admit_measure(
        &self,
        levels: &Levels,
        columns: &[usize],
        width: u64,
    ) -> Result<Option<OwnedSemaphorePermit>, LevelsError> {
        self.admit(levels, columns, width, |c| c.wait_measured(BUILD_WAIT))
    }

    fn admit(
        &self,
        levels: &Levels,
        columns: &[usize],
        width: u64,
        wait: impl Fn(&dyn super::ColumnLod) -> bool,
    ) -> Result<Option<OwnedSemaphorePermit>, LevelsError> {
        if width <= SCAN_LIMIT {
            return Ok(None);
        }
        let ready = columns.iter().all(|&c| wait(levels.columns[c].as_ref()));
        if ready {
            return Ok(None);
        }
        let what = format!("a scan of {width} samples before their pyramid is built");
        Ok(Some(self.heavy.admit_blocking(&what)?))
    }
}

/// The timestamp of every point of `answer`, read one by one from `times` (never the whole
/// array): O(points).
fn point_times(answer: &LodAnswer, times: &StoredArray) -> Option<PointTimes> {
    let dtype = times
        .header
        .dtype
        .as_scalar()?
        .clone()
        .with_order(ByteOrder::Little);
    let counts = answer
        .indices()
        .map(|index| time_count(times, index))
        .collect::<Option<Vec<i64>>>()?;
    Some(PointTimes { dtype, counts })
}
