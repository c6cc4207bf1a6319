//! The bins the chart holds for one array: the whole range once, and the latest refined
//! window. A change of view redraws at once from these (re-binned by
//! [`merge_bins`](crate::lod::merge_bins)) while a fetch refines it.

use crate::lod::{merge_bins, LodAnswer, M4Bin};

/// Bins held for one array.
#[derive(Debug, Clone, Default)]
pub struct Held {
    /// The whole series, fetched once (and again after it changes).
    pub overview: Option<LodAnswer>,
    /// The latest refined window.
    pub detail: Option<LodAnswer>,
}

impl Held {
    /// The bins of `column` covering `[start, stop)` at about `bins` bins: the detail where
    /// it covers, the overview elsewhere.
    pub fn bins(&self, column: usize, start: u64, stop: u64, bins: usize) -> Vec<M4Bin> {
        let mut merged: Vec<M4Bin> = Vec::new();
        let detail = self.detail.as_ref();
        if let Some(col) = self.overview.as_ref().and_then(|o| o.columns.get(column)) {
            merged.extend(col.iter().filter(|b| {
                detail.is_none_or(|d| b.last_index < d.start || b.first_index >= d.stop)
            }));
        }
        if let Some(col) = detail.and_then(|d| d.columns.get(column)) {
            merged.extend(col.iter());
        }
        merged.sort_by_key(|b| b.first_index);
        merge_bins(&merged, start, stop, bins.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lod::m4_scan;

    fn answer(samples: &[f64], start: u64, stop: u64, bins: usize) -> LodAnswer {
        LodAnswer {
            start,
            stop,
            columns: vec![m4_scan(samples, start, stop, bins).unwrap()],
            time: None,
        }
    }

    #[test]
    fn detail_wins_where_it_covers_and_the_overview_fills_the_rest() {
        let samples: Vec<f64> = (0..10_000).map(|i| ((i * 7919) % 1000) as f64).collect();
        let held = Held {
            overview: Some(answer(&samples, 0, 10_000, 100)),
            detail: Some(answer(&samples, 4_000, 6_000, 2_000)),
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
        // Nothing held: nothing drawn.
        assert!(Held::default().bins(0, 0, 10, 5).is_empty());
        assert!(held.bins(3, 0, 10, 5).is_empty(), "no such column");
    }
}
