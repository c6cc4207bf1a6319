//! The bins the chart holds for one array: the whole range once, and the latest refined
//! window, each placed on the x axis (sample indices, or times). A change of view redraws
//! at once from these (re-binned by [`merge_bins`](crate::lod::merge_bins)) while a fetch
//! refines it.

use crate::catalog::{SeriesTime, TimeAxis};
use crate::lod::{merge_bins, LodAnswer, M4Bin};

/// One LOD answer as the chart holds it.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The x range `[x0, x1)` the answer covers.
    pub covers: (f64, f64),
    /// Bins per column, at their x positions.
    pub columns: Vec<Vec<M4Bin>>,
    /// The answer as it came: sample indices and exact times, for the readout and exports.
    pub answer: LodAnswer,
}

impl Fetched {
    /// `answer`, covering `covers`, placed on a time axis by the series' timestamps (or by
    /// index without them); `None` when the answer has no times to place.
    pub fn new(
        answer: LodAnswer,
        covers: (f64, f64),
        time: Option<(&TimeAxis, &SeriesTime)>,
    ) -> Option<Fetched> {
        let columns = match time {
            Some((axis, time)) => axis.place(&answer, time)?,
            None => answer.columns.clone(),
        };
        Some(Fetched {
            covers,
            columns,
            answer,
        })
    }

    /// The point of `column` nearest to `x`: its sample index and its x.
    pub fn nearest(&self, column: usize, x: f64) -> Option<(u64, f64)> {
        let placed = self.columns.get(column)?.iter();
        let indexed = self.answer.columns.get(column)?.iter();
        placed
            .zip(indexed)
            .flat_map(|(p, i)| {
                [
                    (i.first_index, p.first_index),
                    (i.min_index, p.min_index),
                    (i.max_index, p.max_index),
                    (i.last_index, p.last_index),
                ]
            })
            .map(|(index, at)| (index, at as f64))
            .min_by(|a, b| (a.1 - x).abs().total_cmp(&(b.1 - x).abs()))
    }
}

/// The parts of `bin` outside `[from, to)` (x): none, itself, or one or two pieces cut at
/// the edges, each keeping the bin's values (its first, min, max and last, with the
/// extremes' places clamped into the piece).
fn outside(bin: &M4Bin, (from, to): (f64, f64)) -> Vec<M4Bin> {
    let (a, b) = (bin.first_index as f64, bin.last_index as f64);
    if b < from || a >= to {
        return vec![*bin];
    }
    let piece = |lo: u64, hi: u64| {
        let clamp = |i: u64| i.clamp(lo, hi);
        M4Bin {
            first_index: lo,
            min_index: clamp(bin.min_index),
            max_index: clamp(bin.max_index),
            last_index: hi,
            ..*bin
        }
    };
    let mut pieces = Vec::new();
    if a < from {
        pieces.push(piece(
            bin.first_index,
            (from.ceil() as u64).saturating_sub(1),
        ));
    }
    if b >= to {
        pieces.push(piece(
            (to.ceil() as u64).max(bin.first_index),
            bin.last_index,
        ));
    }
    pieces
}

/// Bins held for one array.
#[derive(Debug, Clone, Default)]
pub struct Held {
    /// The whole series, fetched once (and again after it changes).
    pub overview: Option<Fetched>,
    /// The latest refined window.
    pub detail: Option<Fetched>,
}

impl Held {
    /// The bins of `column` covering `[start, stop)` (x) at about `bins` bins: the detail
    /// where it covers, the overview elsewhere. An overview bin that straddles an edge of
    /// the detail is kept for its part outside, with its extremes (an over-estimate until
    /// the next answer), so an interim frame covers the whole width: zoomed in deep, one
    /// overview bin can span a quarter of the window, and leaving it out left that blank.
    pub fn bins(&self, column: usize, start: u64, stop: u64, bins: usize) -> Vec<M4Bin> {
        let mut merged: Vec<M4Bin> = Vec::new();
        let detail = self.detail.as_ref();
        if let Some(col) = self.overview.as_ref().and_then(|o| o.columns.get(column)) {
            merged.extend(col.iter().flat_map(|b| match detail {
                None => vec![*b],
                Some(d) => outside(b, d.covers),
            }));
        }
        if let Some(col) = detail.and_then(|d| d.columns.get(column)) {
            merged.extend(col.iter());
        }
        merged.sort_by_key(|b| b.first_index);
        merge_bins(&merged, start, stop, bins.max(1))
    }

    /// The sample of `column` nearest to `x` among what is held (the detail where it covers
    /// `x`).
    pub fn nearest(&self, column: usize, x: f64) -> Option<(u64, f64)> {
        let detail = self
            .detail
            .as_ref()
            .filter(|d| (d.covers.0..d.covers.1).contains(&x));
        detail.or(self.overview.as_ref())?.nearest(column, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lod::{m4_scan, PointTimes};
    use crate::wire::dtype::{ScalarType, TimeUnit};

    fn answer(samples: &[f64], start: u64, stop: u64, bins: usize) -> LodAnswer {
        LodAnswer {
            start,
            stop,
            columns: vec![m4_scan(samples, start, stop, bins).unwrap()],
            time: None,
        }
    }

    fn fetched(samples: &[f64], start: u64, stop: u64, bins: usize) -> Fetched {
        let covers = (start as f64, stop as f64);
        Fetched::new(answer(samples, start, stop, bins), covers, None).unwrap()
    }

    #[test]
    fn detail_wins_where_it_covers_and_the_overview_fills_the_rest() {
        let samples: Vec<f64> = (0..10_000).map(|i| ((i * 7919) % 1000) as f64).collect();
        let held = Held {
            overview: Some(fetched(&samples, 0, 10_000, 100)),
            detail: Some(fetched(&samples, 4_000, 6_000, 2_000)),
        };
        // Inside the detail the bins are exact at any bin count that falls on its edges.
        assert_eq!(
            held.bins(0, 4_000, 6_000, 20),
            m4_scan(&samples, 4_000, 6_000, 20).unwrap()
        );
        // Across it, every sample range is covered once, in order.
        let bins = held.bins(0, 0, 10_000, 50);
        assert!(bins.windows(2).all(|w| w[0].last_index < w[1].first_index));
        assert_eq!(bins.first().map(|b| b.first_index), Some(0));
        assert_eq!(bins.last().map(|b| b.last_index), Some(9_999));
        // A detail whose edges fall inside overview bins: the interim frame still covers the
        // whole width, the straddling bins cut at the detail's edges.
        let held = Held {
            overview: Some(fetched(&samples, 0, 10_000, 100)),
            detail: Some(fetched(&samples, 4_050, 5_980, 1_930)),
        };
        let bins = held.bins(0, 3_900, 6_100, 4_000);
        assert_eq!(bins.first().map(|b| b.first_index), Some(3_900));
        assert!(bins.windows(2).all(|w| w[0].last_index < w[1].first_index));
        for edge in [4_049, 4_050, 5_979, 5_980] {
            assert!(
                bins.iter()
                    .any(|b| b.first_index <= edge && edge <= b.last_index),
                "{edge} not covered"
            );
        }
        assert_eq!(bins.last().map(|b| b.last_index), Some(6_099));
        // Nothing held: nothing drawn.
        assert!(Held::default().bins(0, 0, 10, 5).is_empty());
        assert!(held.bins(3, 0, 10, 5).is_empty(), "no such column");
        // The nearest sample: exact inside the detail (one bin per sample there).
        assert_eq!(held.nearest(0, 4321.4), Some((4321, 4321.0)));
        assert_eq!(held.nearest(1, 4321.4), None, "no such column");
    }

    #[test]
    fn on_a_time_axis_points_sit_at_their_times() {
        let samples: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let time = SeriesTime {
            array: "t".into(),
            version: String::new(),
            unit_ns: 1,
            first_ns: 5_000,
            last_ns: 5_000 + 999 * 10 + 100_000,
            spacing_ns: Some(10),
        };
        let axis = TimeAxis::spanning([&time]).unwrap();
        let mut timed = answer(&samples, 0, 1000, 1000);
        // Ten ns apart, and a gap of 100 µs before sample 500.
        let counts = timed
            .indices()
            .map(|i| 5_000 + i as i64 * 10 + if i >= 500 { 100_000 } else { 0 })
            .collect();
        timed.time = Some(PointTimes {
            dtype: ScalarType::datetime_le(TimeUnit::Nano),
            counts,
        });
        let fetched = Fetched::new(timed, (0.0, axis.x_end()), Some((&axis, &time))).unwrap();
        assert_eq!(fetched.columns[0][500].first_index, 105_000);
        // The cursor in the gap reads the nearer side's sample.
        assert_eq!(fetched.nearest(0, 5_100.0), Some((499, 4_990.0)));
        assert_eq!(fetched.nearest(0, 104_000.0), Some((500, 105_000.0)));
    }
}
