//! M4 bins: the window split into bins, the brute-force scan, and re-aggregation of bins a
//! client already holds.

use serde::{Deserialize, Serialize};

use super::kernels;
use super::series::{for_runs, Series};
use super::{LodError, Sample, MAX_BINS};

/// The M4 envelope of one bin: its first and last samples and its extremes, each with the
/// sample index it came from. Drawing the four points of every bin in index order draws the
/// same pixels as drawing every sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct M4Bin {
    /// Index of the bin's first sample.
    pub first_index: u64,
    /// The bin's first sample (NaN if that sample is NaN).
    pub first: f64,
    /// Index of the first occurrence of the minimum (the bin's first index if all NaN).
    pub min_index: u64,
    /// The least non-NaN sample; NaN only if every sample of the bin is NaN.
    pub min: f64,
    /// Index of the first occurrence of the maximum (the bin's first index if all NaN).
    pub max_index: u64,
    /// The greatest non-NaN sample; NaN only if every sample of the bin is NaN.
    pub max: f64,
    /// Index of the bin's last sample.
    pub last_index: u64,
    /// The bin's last sample (NaN if that sample is NaN).
    pub last: f64,
}

/// Checks a window against a series of `len` samples and returns it as slice positions.
pub(super) fn check_window(len: u64, start: u64, stop: u64) -> Result<(usize, usize), LodError> {
    if start > stop {
        return Err(LodError::ReversedWindow { start, stop });
    }
    if stop > len {
        return Err(LodError::WindowOutOfRange { stop, len });
    }
    // `len` is the length of an in-memory slice, so both fit in usize.
    Ok((start as usize, stop as usize))
}

/// Checks a bin count and a window, in the order the errors are documented.
pub(super) fn check_query(
    len: u64,
    start: u64,
    stop: u64,
    bins: usize,
) -> Result<(usize, usize), LodError> {
    if bins == 0 {
        return Err(LodError::ZeroBins);
    }
    if bins > MAX_BINS {
        return Err(LodError::TooManyBins {
            bins,
            limit: MAX_BINS,
        });
    }
    check_window(len, start, stop)
}

/// Bins actually produced for a window of `width` samples: never more than the samples.
fn bins_in(width: u64, bins: usize) -> usize {
    // Bounded by `bins`, so the cast back cannot truncate.
    (bins as u64).min(width) as usize
}

/// Offset from the window start of the first sample of bin `bin` (of `bins` over `width`):
/// `floor(bin * width / bins)`.
fn bin_edge(width: u64, bins: usize, bin: usize) -> u64 {
    match (bin as u64).checked_mul(width) {
        Some(product) => product / bins as u64,
        // Windows over ~1e15 samples; u128 division is several times slower.
        None => (bin as u128 * u128::from(width) / bins as u128) as u64,
    }
}

/// The bin (of `bins` over `width`) holding the sample at `offset` from the window start:
/// the largest `i` with `floor(i * width / bins) <= offset`, i.e.
/// `ceil((offset + 1) * bins / width) - 1`.
fn bin_of(width: u64, bins: usize, offset: u64) -> usize {
    (((u128::from(offset) + 1) * bins as u128 - 1) / u128::from(width)) as usize
}

/// The sample ranges `[a, b)` of the bins of `[start, stop)`: `min(bins, stop - start)` of
/// them, none empty.
pub(super) fn bin_ranges(start: usize, stop: usize, bins: usize) -> Vec<(usize, usize)> {
    let width = (stop - start) as u64;
    let count = bins_in(width, bins);
    // Edges are offsets below `width`, so they fit in usize.
    (0..count)
        .map(|bin| {
            (
                start + bin_edge(width, count, bin) as usize,
                start + bin_edge(width, count, bin + 1) as usize,
            )
        })
        .collect()
}

/// The M4 bin of the non-empty range `samples[a..b]`, given the positions of its first
/// minimum and maximum (`None` if all NaN).
pub(super) fn make_bin<T: Sample, S: Series<T> + ?Sized>(
    samples: &S,
    (a, b): (usize, usize),
    extremes: Option<(usize, usize)>,
) -> M4Bin {
    let (min_index, max_index) = extremes.unwrap_or((a, a));
    let extreme = |i: usize| {
        let x = samples.sample(i);
        if x.is_nan() {
            f64::NAN
        } else {
            x.to_f64()
        }
    };
    M4Bin {
        first_index: a as u64,
        first: samples.sample(a).to_f64(),
        min_index: min_index as u64,
        min: extreme(min_index),
        max_index: max_index as u64,
        max: extreme(max_index),
        last_index: (b - 1) as u64,
        last: samples.sample(b - 1).to_f64(),
    }
}

/// Positions of the first minimum and maximum of `[a, b)`, NaN ignored, by scanning run by
/// run; `None` when the range is empty or all NaN.
pub(super) fn scan_extremes<T: Sample, S: Series<T> + ?Sized>(
    samples: &S,
    a: usize,
    b: usize,
) -> Option<(usize, usize)> {
    let mut best: Option<((usize, T), (usize, T))> = None;
    for_runs(samples, a, b, |first, run| {
        let Some((lo, hi)) = kernels::first_min_max(run) else {
            return;
        };
        let (lo, hi) = ((first + lo, run[lo]), (first + hi, run[hi]));
        best = Some(match best {
            None => (lo, hi),
            // Strictly beyond only: on a tie the earlier run's occurrence stays first.
            Some((min, max)) => (
                if lo.1 < min.1 { lo } else { min },
                if hi.1 > max.1 { hi } else { max },
            ),
        });
    });
    best.map(|((lo, _), (hi, _))| (lo, hi))
}

/// The M4 bins of `samples[start..stop]` by scanning every sample: the reference the
/// pyramid is tested against, and the right tool for windows of a few hundred thousand
/// samples or less. Cost O(stop - start).
///
/// # Errors
/// [`LodError::ZeroBins`], [`LodError::TooManyBins`], [`LodError::ReversedWindow`],
/// [`LodError::WindowOutOfRange`], checked in that order.
pub fn m4_scan<T: Sample, S: Series<T> + ?Sized>(
    samples: &S,
    start: u64,
    stop: u64,
    bins: usize,
) -> Result<Vec<M4Bin>, LodError> {
    let (start, stop) = check_query(samples.len() as u64, start, stop, bins)?;
    m4_scan_ranges(samples, &bin_ranges(start, stop, bins))
}

/// The M4 bins of the ranges `[a, b)` (in order, within the series; empty ones are skipped)
/// by scanning every sample: what [`Pyramid::m4_ranges`](super::Pyramid::m4_ranges) returns.
///
/// # Errors
/// [`LodError::ReversedWindow`] or [`LodError::WindowOutOfRange`] for a bad range.
pub fn m4_scan_ranges<T: Sample, S: Series<T> + ?Sized>(
    samples: &S,
    ranges: &[(usize, usize)],
) -> Result<Vec<M4Bin>, LodError> {
    for &(a, b) in ranges {
        check_window(samples.len() as u64, a as u64, b as u64)?;
    }
    Ok(ranges
        .iter()
        .filter(|(a, b)| a < b)
        .map(|&(a, b)| make_bin(samples, (a, b), scan_extremes(samples, a, b)))
        .collect())
}

/// Re-aggregates bins that are already M4 bins into `bins` bins over `[start, stop)`, cut
/// as [`m4_scan`] cuts a window, without the samples (the browser re-binning what it holds
/// when the user zooms out or pans a little).
///
/// A source bin goes wholly to the output bin holding its `first_index`; source bins whose
/// `first_index` is outside the window are dropped, and output bins that receive none are
/// left out, so the result may be shorter than `bins` (and is sorted by `first_index`).
/// The result is exact where every output edge is a source edge, e.g. when the sources are
/// the bins of the same window at a multiple of `bins`. Otherwise it is approximate at the
/// edges: a source bin straddling an output edge lends its extremes to the bin it starts in,
/// and the first and last points are those of the source bins. Zero bins give nothing.
pub fn merge_bins(source: &[M4Bin], start: u64, stop: u64, bins: usize) -> Vec<M4Bin> {
    let width = stop.saturating_sub(start);
    let count = bins_in(width, bins);
    if count == 0 {
        return Vec::new();
    }
    let mut tagged: Vec<(usize, M4Bin)> = source
        .iter()
        .filter(|s| (start..stop).contains(&s.first_index))
        .map(|s| (bin_of(width, count, s.first_index - start), *s))
        .collect();
    tagged.sort_by_key(|(bin, s)| (*bin, s.first_index));

    let mut out: Vec<M4Bin> = Vec::new();
    let mut current: Option<(usize, M4Bin)> = None;
    for (bin, s) in tagged {
        match &mut current {
            Some((open, merged)) if *open == bin => absorb(merged, &s),
            _ => {
                out.extend(current.take().map(|(_, merged)| finish(merged)));
                current = Some((bin, s));
            }
        }
    }
    out.extend(current.map(|(_, merged)| finish(merged)));
    out
}

/// Folds `s` (which starts no earlier than `merged`) into `merged`.
fn absorb(merged: &mut M4Bin, s: &M4Bin) {
    if s.last_index >= merged.last_index {
        merged.last_index = s.last_index;
        merged.last = s.last;
    }
    let takes = |value: f64, index: u64, best: f64, best_index: u64, better: bool| {
        !value.is_nan() && (best.is_nan() || better || (value == best && index < best_index))
    };
    if takes(
        s.min,
        s.min_index,
        merged.min,
        merged.min_index,
        s.min < merged.min,
    ) {
        merged.min = s.min;
        merged.min_index = s.min_index;
    }
    if takes(
        s.max,
        s.max_index,
        merged.max,
        merged.max_index,
        s.max > merged.max,
    ) {
        merged.max = s.max;
        merged.max_index = s.max_index;
    }
}

/// Applies the all-NaN rule to a merged bin: extremes at the bin's first index.
fn finish(mut merged: M4Bin) -> M4Bin {
    if merged.min.is_nan() {
        merged.min_index = merged.first_index;
    }
    if merged.max.is_nan() {
        merged.max_index = merged.first_index;
    }
    merged
}
