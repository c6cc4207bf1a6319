//! Statistics of a window of an array's columns (`/api/stats`): count, NaN count, min and
//! max with their indices, mean, RMS and standard deviation, exact from the samples. With
//! the pyramid and moment tree built, a window of any width costs microseconds.

use serde::Serialize;

use super::answer::Window;
use super::{Levels, LevelsCache, LevelsError};
use crate::lod::Moments;
use crate::server::store::StoredArray;

/// The statistics of one column over a window. Values a window has none of (an empty or
/// all-NaN window), or that are infinite, are `None` (JSON `null`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowStats {
    /// The column (0 for a 1-D array).
    pub column: u64,
    /// Samples in the window, NaN included.
    pub samples: u64,
    /// Samples that are not NaN (or NaT).
    pub count: u64,
    /// Samples that are NaN.
    pub nan: u64,
    /// The least value, and the index of its first occurrence.
    pub min: Option<f64>,
    pub min_index: Option<u64>,
    /// The greatest value, and the index of its first occurrence.
    pub max: Option<f64>,
    pub max_index: Option<u64>,
    /// `np.nanmean`.
    pub mean: Option<f64>,
    /// `sqrt(np.nanmean(x**2))`.
    pub rms: Option<f64>,
    /// `np.nanstd` (ddof 0).
    pub std: Option<f64>,
    /// Whether the answer came from the pyramid and moment tree (else from a scan).
    pub indexed: bool,
}

/// `Some(x)` for a finite `x`.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl WindowStats {
    /// The statistics of `[start, stop)` with these moments, before the extremes are known.
    pub fn new(start: u64, stop: u64, moments: Moments, indexed: bool) -> WindowStats {
        let samples = stop.saturating_sub(start);
        WindowStats {
            column: 0,
            samples,
            count: moments.count,
            nan: samples - moments.count.min(samples),
            min: None,
            min_index: None,
            max: None,
            max_index: None,
            mean: finite(moments.mean()),
            rms: finite(moments.rms()),
            std: finite(moments.std()),
            indexed,
        }
    }

    /// With the first minimum and maximum, each as `(index, value)` (NaN when every sample
    /// is NaN: then they stay `None`).
    #[must_use]
    pub fn with_extremes(mut self, min: (u64, f64), max: (u64, f64)) -> WindowStats {
        if !min.1.is_nan() {
            (self.min_index, self.min) = (Some(min.0), Some(min.1));
        }
        if !max.1.is_nan() {
            (self.max_index, self.max) = (Some(max.0), Some(max.1));
        }
        self
    }
}

/// The answer of `/api/stats`: the window's samples and each column's statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsAnswer {
    /// Samples `[first, last + 1)` of the window along axis 0.
    pub window: [u64; 2],
    /// One per column asked for.
    pub columns: Vec<WindowStats>,
}

impl LevelsCache {
    /// The statistics of `window` of `array` (every column, or `column` alone); a time
    /// window is resolved by `times`, as for [`LevelsCache::answer`].
    ///
    /// # Errors
    /// As [`LevelsCache::answer`].
    pub fn stats(
        &self,
        array: &StoredArray,
        times: Option<&StoredArray>,
        window: Window,
        column: Option<u64>,
    ) -> Result<StatsAnswer, LevelsError> {
        let levels = self.get(array)?;
        let columns = columns_asked(&levels, column)?;
        let (start, stop) = self.sample_range(&levels, array, times, window)?;
        let _scan = self.admit_measure(&levels, &columns, stop - start)?;
        let columns = columns
            .iter()
            .map(|&c| {
                let mut stats = levels.columns[c].stats(start, stop)?;
                stats.column = c as u64;
                Ok(stats)
            })
            .collect::<Result<Vec<_>, LevelsError>>()?;
        Ok(StatsAnswer {
            window: [start, stop],
            columns,
        })
    }
}

/// The columns a query asks for: all, or `column` if the array has it.
pub(super) fn columns_asked(
    levels: &Levels,
    column: Option<u64>,
) -> Result<Vec<usize>, LevelsError> {
    let width = levels.columns.len();
    match column {
        None => Ok((0..width).collect()),
        Some(c) if (c as usize) < width => Ok(vec![c as usize]),
        Some(c) => Err(LevelsError::Window(format!(
            "column={c} is out of range: the array has {width} columns"
        ))),
    }
}
