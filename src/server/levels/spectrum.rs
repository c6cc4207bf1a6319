//! The power spectral density of a window of a series (`/api/spectrum`), by Welch's method
//! with the defaults of `scipy.signal.welch` except the segment length:
//!
//! - segments of `nperseg` samples (default [`DEFAULT_NPERSEG`], at most the window), each
//!   overlapping the next by half;
//! - each segment's mean removed (`detrend='constant'`), then a periodic Hann window;
//! - a one-sided density (`scaling='density'`, units² per Hz), the mean over segments.
//!
//! Bounded cost: when the window holds more than [`MAX_SEGMENTS`] segments, that many
//! spread evenly over it are averaged (each at the full sample rate), so one answer reads at
//! most `MAX_SEGMENTS × nperseg` samples whatever the window.
//!
//! The sample rate comes from the timestamps: the median span of the chosen segments. A
//! segment that spans more than 1.5 times that median straddles a gap between passes and is
//! left out, as is a segment holding a NaN. Without timestamps the rate is the one the query
//! gives (`rate=`), else 1 and frequencies are in cycles per sample.

use std::sync::Arc;

use realfft::RealFftPlanner;
use serde::Serialize;

use super::answer::Window;
use super::stats::columns_asked;
use super::{LevelsCache, LevelsError};
use crate::lod::Series;
use crate::server::store::StoredArray;

/// Samples per segment when the query names none: 6.25 Hz resolution at 25.6 kHz.
pub const DEFAULT_NPERSEG: usize = 4096;
/// The shortest segment.
pub const MIN_NPERSEG: usize = 16;
/// The longest segment.
pub const MAX_NPERSEG: usize = 1 << 16;
/// Most segments one answer averages.
pub const MAX_SEGMENTS: usize = 256;
/// A segment spanning more than this many times the median span holds a gap.
const GAP_FACTOR: f64 = 1.5;

/// A spectrum query.
#[derive(Debug, Clone, Copy)]
pub struct SpectrumQuery {
    /// The window.
    pub window: Window,
    /// One column, or all.
    pub column: Option<u64>,
    /// Samples per segment, if asked.
    pub nperseg: Option<usize>,
    /// Samples per second when the series has no timestamps (an attached rate).
    pub rate_hz: Option<f64>,
}

/// One column's spectrum.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnSpectrum {
    /// The column (0 for a 1-D array).
    pub column: u64,
    /// The density at each frequency, units² per Hz (per cycle/sample without a rate);
    /// `null` when no segment could be used.
    pub psd: Vec<Option<f64>>,
    /// The frequency of the greatest density above 0 Hz.
    pub peak_frequency: Option<f64>,
    /// Segments averaged for this column (those with a NaN are left out).
    pub segments: usize,
}

/// The answer of `/api/spectrum`.
#[derive(Debug, Clone, Serialize)]
pub struct SpectrumAnswer {
    /// Samples `[first, last + 1)` of the window along axis 0.
    pub window: [u64; 2],
    /// Samples per second (1 without timestamps or a rate).
    pub rate_hz: f64,
    /// Where the rate came from: `timestamps`, `attached` or `none`.
    pub rate_from: &'static str,
    /// `Hz`, or `cycles/sample` without a rate.
    pub frequency_unit: &'static str,
    /// Samples per segment.
    pub nperseg: usize,
    /// Samples each segment shares with the next.
    pub noverlap: usize,
    /// Always `hann` (periodic).
    pub window_function: &'static str,
    /// Segments the window holds.
    pub segments_in_window: usize,
    /// Segments left out because they straddle a gap in the timestamps.
    pub segments_with_gaps: usize,
    /// `k * rate_hz / nperseg` for `k` in `0..=nperseg / 2`.
    pub frequency: Vec<f64>,
    /// One per column asked for.
    pub columns: Vec<ColumnSpectrum>,
}

/// The first sample of each segment to average: every segment of the window, or
/// [`MAX_SEGMENTS`] of them evenly spread.
fn segment_starts(start: u64, stop: u64, nperseg: usize) -> (Vec<u64>, usize) {
    let step = (nperseg / 2).max(1) as u64;
    let total = ((stop - start - nperseg as u64) / step + 1) as usize;
    let starts = if total <= MAX_SEGMENTS {
        (0..total).map(|k| start + k as u64 * step).collect()
    } else {
        (0..MAX_SEGMENTS)
            .map(|i| start + (i * (total - 1) / (MAX_SEGMENTS - 1)) as u64 * step)
            .collect()
    };
    (starts, total)
}

/// The periodic Hann window of `n` samples (`scipy.signal.get_window('hann', n)`).
fn hann(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos())
        .collect()
}

impl LevelsCache {
    /// The Welch PSD of `query`'s window of `array` (see the module docs).
    ///
    /// # Errors
    /// [`LevelsError::Window`] for a window under [`MIN_NPERSEG`] samples or an `nperseg`
    /// out of range, and as [`LevelsCache::stats`].
    pub fn spectrum(
        &self,
        array: &StoredArray,
        times: Option<&StoredArray>,
        query: SpectrumQuery,
    ) -> Result<SpectrumAnswer, LevelsError> {
        let levels = self.get(array)?;
        let columns = columns_asked(&levels, query.column)?;
        let (start, stop) = self.sample_range(&levels, array, times, query.window)?;
        let width = (stop - start) as usize;
        if let Some(n) = query.nperseg {
            if !(MIN_NPERSEG..=MAX_NPERSEG).contains(&n) {
                return Err(LevelsError::Window(format!(
                    "nperseg={n} is out of range: {MIN_NPERSEG} to {MAX_NPERSEG}"
                )));
            }
        }
        if width < MIN_NPERSEG {
            return Err(LevelsError::Window(format!(
                "the window holds {width} samples; a spectrum needs at least {MIN_NPERSEG}"
            )));
        }
        let nperseg = query.nperseg.unwrap_or(DEFAULT_NPERSEG).min(width);
        let (mut starts, segments_in_window) = segment_starts(start, stop, nperseg);

        // The sample rate, and the segments that straddle a gap left out.
        let (rate_hz, rate_from, segments_with_gaps) = match times {
            Some(times) => {
                let stamps = self.timestamps(times)?;
                let view = stamps.view();
                let span_s = |s: u64| {
                    let (a, b) = (
                        view.sample(s as usize).0,
                        view.sample(s as usize + nperseg - 1).0,
                    );
                    (b - a) as f64 * stamps.unit_ns as f64 / 1e9
                };
                let mut spans: Vec<f64> = starts.iter().map(|&s| span_s(s)).collect();
                spans.sort_by(f64::total_cmp);
                let median = spans[spans.len() / 2];
                if median <= 0.0 {
                    return Err(LevelsError::NoTime(format!(
                        "the timestamps of '{}' do not advance within a segment of {nperseg} samples, so they give no sample rate",
                        array.name
                    )));
                }
                let before = starts.len();
                starts.retain(|&s| span_s(s) <= median * GAP_FACTOR);
                (
                    (nperseg - 1) as f64 / median,
                    "timestamps",
                    before - starts.len(),
                )
            }
            None => match query.rate_hz {
                Some(rate) => (rate, "attached", 0),
                None => (1.0, "none", 0),
            },
        };

        let window = hann(nperseg);
        let scale = 1.0 / (rate_hz * window.iter().map(|w| w * w).sum::<f64>());
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(nperseg);
        let bins = nperseg / 2 + 1;
        let columns = columns
            .iter()
            .map(|&c| {
                welch(
                    levels.columns[c].as_ref(),
                    &starts,
                    &window,
                    scale,
                    &fft,
                    bins,
                    rate_hz / nperseg as f64,
                    c as u64,
                )
            })
            .collect();
        Ok(SpectrumAnswer {
            window: [start, stop],
            rate_hz,
            rate_from,
            frequency_unit: if rate_from == "none" {
                "cycles/sample"
            } else {
                "Hz"
            },
            nperseg,
            noverlap: nperseg - (nperseg / 2).max(1),
            window_function: "hann",
            segments_in_window,
            segments_with_gaps,
            frequency: (0..bins)
                .map(|k| k as f64 * rate_hz / nperseg as f64)
                .collect(),
            columns,
        })
    }
}

/// The mean one-sided density of the segments at `starts` of `column`.
#[allow(clippy::too_many_arguments)]
fn welch(
    column: &dyn super::ColumnLod,
    starts: &[u64],
    window: &[f64],
    scale: f64,
    fft: &Arc<dyn realfft::RealToComplex<f64>>,
    bins: usize,
    resolution: f64,
    index: u64,
) -> ColumnSpectrum {
    let nperseg = window.len();
    let mut sum = vec![0.0f64; bins];
    let mut used = 0usize;
    let mut input = fft.make_input_vec();
    let mut output = fft.make_output_vec();
    for &s in starts {
        let values = column.values(s, s + nperseg as u64);
        if values.iter().any(|v| v.is_nan()) {
            continue;
        }
        let mean = values.iter().sum::<f64>() / nperseg as f64;
        for ((x, v), w) in input.iter_mut().zip(&values).zip(window) {
            *x = (v - mean) * w;
        }
        if fft.process(&mut input, &mut output).is_err() {
            continue;
        }
        for (acc, z) in sum.iter_mut().zip(&output) {
            *acc += z.norm_sqr();
        }
        used += 1;
    }
    if used == 0 {
        return ColumnSpectrum {
            column: index,
            psd: vec![None; bins],
            peak_frequency: None,
            segments: 0,
        };
    }
    // One-sided: every bin but DC (and Nyquist, for an even length) counts twice.
    let doubled = if nperseg.is_multiple_of(2) {
        1..bins - 1
    } else {
        1..bins
    };
    let psd: Vec<f64> = sum
        .iter()
        .enumerate()
        .map(|(k, s)| s * scale / used as f64 * if doubled.contains(&k) { 2.0 } else { 1.0 })
        .collect();
    let peak = (1..bins).max_by(|&a, &b| psd[a].total_cmp(&psd[b]));
    ColumnSpectrum {
        column: index,
        psd: psd.iter().map(|&p| p.is_finite().then_some(p)).collect(),
        peak_frequency: peak.map(|k| k as f64 * resolution),
        segments: used,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_the_window_or_are_spread_over_it() {
        let (starts, total) = segment_starts(0, 4096 * 4, 4096);
        assert_eq!(total, 7);
        assert_eq!(starts, (0..7).map(|k| k * 2048).collect::<Vec<u64>>());
        let (starts, total) = segment_starts(10, 10 + 1_000_000, 1024);
        assert_eq!(total, (1_000_000 - 1024) / 512 + 1);
        assert_eq!(starts.len(), MAX_SEGMENTS);
        assert_eq!(starts[0], 10);
        assert!(*starts.last().unwrap() + 1024 <= 10 + 1_000_000);
        assert!(starts.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn hann_is_periodic() {
        let w = hann(8);
        assert_eq!(w[0], 0.0);
        assert!((w[4] - 1.0).abs() < 1e-15);
        assert!((w[1] - w[7]).abs() < 1e-15);
    }
}
