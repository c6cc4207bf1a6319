//! The answer of `/api/stats`, written by the server and read by the page with one type:
//! the statistics of a window of each column.

use serde::{Deserialize, Serialize};

use crate::lod::Moments;

/// The statistics of one column over a window. Values a window has none of (an empty or
/// all-NaN window), or that are infinite, are `None` (JSON `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsAnswer {
    /// Samples `[first, last + 1)` of the window along axis 0.
    pub window: [u64; 2],
    /// One per column asked for.
    pub columns: Vec<WindowStats>,
}
