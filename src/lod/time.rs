//! Time windows: which samples of a series fall in each interval of a window of time, found
//! by binary search on its timestamps where they lie (a datetime64 array read in place),
//! never by converting or copying them.
//!
//! # Contract
//!
//! - **Checked once.** [`TimeIndex::build`] reads the timestamps once, in O(N): they must
//!   hold no NaT and never go backwards (equal neighbours are fine). Either fault is refused
//!   with the first sample where it happens, and the series then charts by index.
//! - **Intervals.** A window `[t0, t1)` of nanoseconds cut into `B` intervals gives interval
//!   `k` the instants `[t0 + floor(k·(t1−t0)/B), t0 + floor((k+1)·(t1−t0)/B))`, and the
//!   samples whose timestamps fall in it: a contiguous run, possibly empty.
//! - **Cost.** Each interval edge is one search of a sparse index held in memory (one
//!   timestamp of every [`SPARSE`]) and then of one run of [`SPARSE`] timestamps in place:
//!   O(B log N) per window, whatever the window, with memory 1/[`SPARSE`] of the
//!   timestamps'. The searches guess from the values first (interpolation, a few steps)
//!   and bisect after, so timestamps at a steady rate cost a handful of reads an edge.
//! - **Spacing.** [`TimeIndex::spacing`] is the median spacing of up to [`SPACING_SAMPLES`]
//!   neighbouring pairs spread over the series: what "a gap" is measured against.

use super::series::{buffer, Series, RUN};
use super::{Count, Sample};

/// One timestamp of every `SPARSE` is held in memory to start each search.
pub const SPARSE: usize = 1024;
/// Neighbouring pairs the typical spacing is taken from.
pub const SPACING_SAMPLES: usize = 4096;

/// Why timestamps cannot give a time axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimeOrderError {
    /// A timestamp is NaT.
    #[error("timestamp {at} is NaT, so the series has no time axis (it charts by index)")]
    NotATime {
        /// The sample.
        at: usize,
    },
    /// A timestamp is earlier than the one before it.
    #[error(
        "timestamp {at} is earlier than timestamp {}: the timestamps go backwards, so the series has no time axis (it charts by index)",
        .at - 1
    )]
    Backwards {
        /// The sample.
        at: usize,
    },
}

/// What one pass over sorted timestamps found: a sparse index for searches and the typical
/// spacing.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeIndex {
    len: usize,
    /// `times[k * SPARSE]` for every `k`.
    sparse: Vec<i64>,
    first: Option<i64>,
    last: Option<i64>,
    spacing: Option<i64>,
}

impl TimeIndex {
    /// Check `times` and index them (one pass, O(N)).
    ///
    /// # Errors
    /// [`TimeOrderError`] at the first NaT or the first timestamp that goes backwards.
    pub fn build<S: Series<Count> + ?Sized>(times: &S) -> Result<TimeIndex, TimeOrderError> {
        let sparse = Self::check_part(times, 0, times.len())?;
        Ok(Self::from_sparse(times, sparse))
    }

    /// The check of samples `[from, to)` (and of the step into `from` from the sample
    /// before it), and their sparse entries: the bulk of [`TimeIndex::build`], which callers
    /// may split across threads at multiples of [`SPARSE`] and hand to
    /// [`TimeIndex::from_sparse`].
    ///
    /// # Errors
    /// As [`TimeIndex::build`], for the first fault of the part.
    pub fn check_part<S: Series<Count> + ?Sized>(
        times: &S,
        from: usize,
        to: usize,
    ) -> Result<Vec<i64>, TimeOrderError> {
        let mut sparse = Vec::with_capacity((to - from).div_ceil(SPARSE));
        let mut previous = if from > 0 {
            times.sample(from - 1).0
        } else {
            i64::MIN
        };
        let mut buf = buffer::<Count, RUN>();
        let mut at = from;
        while at < to {
            let end = (at + RUN).min(to);
            for (k, count) in times.run(at, end, &mut buf).iter().enumerate() {
                let i = at + k;
                if count.is_nan() {
                    return Err(TimeOrderError::NotATime { at: i });
                }
                if i > 0 && count.0 < previous {
                    return Err(TimeOrderError::Backwards { at: i });
                }
                if i.is_multiple_of(SPARSE) {
                    sparse.push(count.0);
                }
                previous = count.0;
            }
            at = end;
        }
        Ok(sparse)
    }

    /// The index of checked `times` whose sparse entries are `sparse` (every part's, in
    /// order).
    pub fn from_sparse<S: Series<Count> + ?Sized>(times: &S, sparse: Vec<i64>) -> TimeIndex {
        let len = times.len();
        TimeIndex {
            len,
            sparse,
            first: (len > 0).then(|| times.sample(0).0),
            last: (len > 0).then(|| times.sample(len - 1).0),
            spacing: median_spacing(times),
        }
    }

    /// Number of timestamps.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first and last timestamps (counts), if any.
    pub fn span(&self) -> Option<(i64, i64)> {
        self.first.zip(self.last)
    }

    /// The median spacing of neighbouring timestamps (counts); `None` for fewer than two.
    pub fn spacing(&self) -> Option<i64> {
        self.spacing
    }

    /// The first sample whose timestamp is at least `count` (`len` if none is).
    pub fn first_at_or_after<S: Series<Count> + ?Sized>(&self, times: &S, count: i64) -> usize {
        self.search_from(times, count, 0, 0).0
    }

    /// [`TimeIndex::first_at_or_after`] for a `count` no earlier than the one whose search
    /// found the sparse block `from_block`: the search starts at the block `guess` (edges
    /// come in order, about equally far apart, so each starts where the last step says)
    /// and gallops from there to bracket it. Also returns the sparse block to start the
    /// next search from.
    fn search_from<S: Series<Count> + ?Sized>(
        &self,
        times: &S,
        count: i64,
        from_block: usize,
        guess: usize,
    ) -> (usize, usize) {
        let block = first_block(&self.sparse, count, from_block, guess);
        if block == 0 {
            return (0, 0);
        }
        // In place, between two sparse entries whose values are known: the run holds it.
        let sparse = &self.sparse;
        let (a, run_end) = ((block - 1) * SPARSE, (block * SPARSE).min(self.len));
        let above = sparse.get(block).copied();
        let at = first_at_least(a + 1, run_end, count, (sparse[block - 1], above), |i| {
            times.sample(i).0
        });
        (at, block - 1)
    }

    /// The sample ranges `[a, b)` of the `bins` intervals of the window `[t0_ns, t1_ns)`
    /// (see the module docs) for timestamps counted in units of `unit_ns` nanoseconds;
    /// empty ranges where an interval holds no sample. `t0_ns < t1_ns` and `bins > 0`.
    pub fn interval_ranges<S: Series<Count> + ?Sized>(
        &self,
        times: &S,
        (t0_ns, t1_ns): (i64, i64),
        bins: usize,
        unit_ns: i64,
    ) -> Vec<(usize, usize)> {
        let span = i128::from(t1_ns) - i128::from(t0_ns);
        let unit = i128::from(unit_ns.max(1));
        // The least count at or after the instant of edge `k`: ceil(ns / unit). In i64 when
        // it fits (a 128-bit division costs as much as the rest of a search).
        let narrow = i64::try_from(span)
            .ok()
            .filter(|s| s.checked_mul(bins as i64).is_some());
        let edge = |k: usize| -> i64 {
            if let (Some(span), 1) = (narrow, unit) {
                return t0_ns.saturating_add(span * k as i64 / bins as i64);
            }
            let ns = i128::from(t0_ns) + span * k as i128 / bins as i128;
            let count = ns.div_euclid(unit) + i128::from(ns.rem_euclid(unit) != 0);
            count.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
        };
        let mut edges = Vec::with_capacity(bins + 1);
        let (mut block, mut stride) = (0, 0);
        for k in 0..=bins {
            let (at, next) = self.search_from(times, edge(k), block, block + stride);
            edges.push(at);
            if k > 0 {
                stride = next - block;
            }
            block = next;
        }
        edges.windows(2).map(|w| (w[0], w[1])).collect()
    }
}

/// The first block `b` in `[from, len]` whose entry `sparse[b]` is at least `count` (`len`
/// if none is), given that every block before `from` is below it. The search probes
/// `guess` first, then gallops away from it (doubling the step) until it brackets `b`,
/// then bisects the bracket: two or three probes when the guess is near, about
/// `2 log2(distance)` when it is not.
fn first_block(sparse: &[i64], count: i64, from: usize, guess: usize) -> usize {
    let len = sparse.len();
    let from = from.min(len);
    let guess = guess.clamp(from, len);
    let (lo, hi) = if guess == len || sparse[guess] >= count {
        // The answer is in [from, guess]: gallop back.
        let (mut hi, mut step) = (guess, 1);
        while hi >= from + step && sparse[hi - step] >= count {
            hi -= step;
            step *= 2;
        }
        (hi.saturating_sub(step).max(from), hi)
    } else {
        // Every block up to `guess` is below: gallop on.
        let (mut lo, mut step) = ((guess + 1).min(len), 1);
        while lo + step <= len && sparse[lo + step - 1] < count {
            lo += step;
            step *= 2;
        }
        (lo, (lo + step).min(len))
    };
    lo + sparse[lo..hi].partition_point(|&t| t < count)
}

/// Interpolation steps a search tries before it bisects: timestamps taken at a steady rate
/// are found in one or two, and no input can make a search cost more than this plus a
/// bisection.
const INTERPOLATION_STEPS: usize = 3;

/// The first position in `[lo, hi)` whose value (`at`, non-decreasing) is at least
/// `target`, else `hi`, given `below`, the value just before `lo` (less than `target`), and
/// `above`, the value at `hi` if there is one (at least `target`). Each probe keeps every
/// position before `lo` below `target` and every one from `hi` on at or above it. The first
/// probes guess where `target` lies between the values known at the ends (timestamps are
/// nearly regular, so one or two find it); the rest bisect.
fn first_at_least(
    mut lo: usize,
    mut hi: usize,
    target: i64,
    (mut below, mut above): (i64, Option<i64>),
    at: impl Fn(usize) -> i64,
) -> usize {
    let mut steps = 0;
    while lo < hi {
        let mid = match above {
            Some(top) if steps < INTERPOLATION_STEPS && top > below => {
                // below < target <= top: a guess within [lo, hi).
                let (low, top, goal) = (i128::from(below), i128::from(top), i128::from(target));
                let width = (hi - lo) as i128;
                lo + ((goal - low) * width / (top - low)).clamp(0, width - 1) as usize
            }
            _ => lo + (hi - lo) / 2,
        };
        steps += 1;
        let value = at(mid);
        if value < target {
            (lo, below) = (mid + 1, value);
        } else {
            (hi, above) = (mid, Some(value));
        }
    }
    lo
}

/// The median of up to [`SPACING_SAMPLES`] neighbouring differences spread evenly over
/// the series.
fn median_spacing<S: Series<Count> + ?Sized>(times: &S) -> Option<i64> {
    let pairs = times.len().checked_sub(1).filter(|&p| p > 0)?;
    let step = pairs.div_ceil(SPACING_SAMPLES).max(1);
    let mut spacings: Vec<i64> = (0..pairs)
        .step_by(step)
        .map(|i| times.sample(i + 1).0.saturating_sub(times.sample(i).0))
        .collect();
    let middle = spacings.len() / 2;
    let (_, median, _) = spacings.select_nth_unstable(middle);
    Some(*median)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::lod::{m4_scan_ranges, Pyramid};

    /// Timestamps in passes: runs of steady samples (with jitter and duplicates) separated
    /// by gaps far longer than the spacing.
    fn passes() -> impl Strategy<Value = Vec<i64>> {
        prop::collection::vec((1usize..3000, 1i64..50, 0i64..5, 0i64..1_000_000), 1..5).prop_map(
            |passes| {
                let mut t = -5_000_000i64;
                let mut out = Vec::new();
                for (count, step, jitter, gap) in passes {
                    for i in 0..count {
                        t += if i == 0 {
                            gap
                        } else {
                            step + (i as i64 % (jitter + 1)) * (i as i64 % 3 - 1).abs()
                        };
                        out.push(t);
                        if i % 97 == 5 {
                            out.push(t); // a duplicate
                        }
                    }
                }
                out
            },
        )
    }

    #[test]
    fn a_block_is_found_from_any_guess() {
        let sparse = [1, 3, 3, 3, 7, 9, 9, 20, 21, 40];
        for count in -1..45 {
            let want = sparse.partition_point(|&t| t < count);
            for from in 0..=want {
                for guess in 0..=sparse.len() + 2 {
                    assert_eq!(
                        first_block(&sparse, count, from, guess),
                        want,
                        "count {count} from {from} guess {guess}"
                    );
                }
            }
        }
        assert_eq!(first_block(&[], 5, 0, 3), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Each interval's range holds exactly the samples a scan puts in it, and the M4 of
        /// the ranges through the pyramid is the scan's.
        #[test]
        fn intervals_hold_exactly_their_samples(
            times in passes(),
            bins in 1usize..600,
            unit_ns in prop::sample::select(vec![1i64, 7, 1000]),
            from in 0.0f64..1.0,
            width in 0.001f64..1.5,
        ) {
            let counts: Vec<Count> = times.iter().map(|&t| Count(t)).collect();
            let index = TimeIndex::build(&counts).unwrap();
            let (first, last) = index.span().unwrap();
            let span = ((last - first) as f64 * unit_ns as f64).max(1.0);
            let t0 = (first as f64 * unit_ns as f64 + (from - 0.25) * span) as i64;
            let t1 = t0 + (width * span) as i64 + 1;
            let ranges = index.interval_ranges(&counts, (t0, t1), bins, unit_ns);
            prop_assert_eq!(ranges.len(), bins);
            for (k, &(a, b)) in ranges.iter().enumerate() {
                let lo = i128::from(t0) + (i128::from(t1) - i128::from(t0)) * k as i128 / bins as i128;
                let hi = i128::from(t0) + (i128::from(t1) - i128::from(t0)) * (k as i128 + 1) / bins as i128;
                let inside: Vec<usize> = (0..times.len())
                    .filter(|&i| (lo..hi).contains(&(i128::from(times[i]) * i128::from(unit_ns))))
                    .collect();
                let want = match (inside.first(), inside.last()) {
                    (Some(&a), Some(&b)) => (a, b + 1),
                    _ => (a, a),
                };
                prop_assert_eq!((a, b), want, "interval {} of {}", k, bins);
            }
            let values: Vec<f32> = (0..times.len()).map(|i| ((i * 7919) % 1009) as f32).collect();
            let pyramid = Pyramid::build(&values);
            prop_assert_eq!(
                pyramid.m4_ranges(&values, &ranges).unwrap(),
                m4_scan_ranges(&values, &ranges).unwrap()
            );
        }

        /// Sorted timestamps are accepted; one NaT or one step back is refused where it is.
        #[test]
        fn faults_are_found_where_they_are(mut times in passes(), at in any::<prop::sample::Index>(), nat in any::<bool>()) {
            let counts: Vec<Count> = times.iter().map(|&t| Count(t)).collect();
            prop_assert!(TimeIndex::build(&counts).is_ok());
            let at = at.index(times.len());
            if nat {
                times[at] = i64::MIN;
                let counts: Vec<Count> = times.iter().map(|&t| Count(t)).collect();
                prop_assert_eq!(TimeIndex::build(&counts), Err(TimeOrderError::NotATime { at }));
            } else if at > 0 {
                times[at] = times[at - 1] - 1;
                let counts: Vec<Count> = times.iter().map(|&t| Count(t)).collect();
                prop_assert_eq!(TimeIndex::build(&counts), Err(TimeOrderError::Backwards { at }));
            }
        }
    }

    proptest! {
        /// The guessing search finds what a bisection finds, on any non-decreasing values.
        #[test]
        fn searches_find_the_first_at_least(mut values in prop::collection::vec(-1000i64..1000, 1..300), target in -1100i64..1100) {
            values.sort_unstable();
            // As the index calls it: the value before the range known to be below target.
            values.insert(0, i64::MIN);
            let want = values.partition_point(|&v| v < target);
            let n = values.len();
            prop_assert_eq!(first_at_least(1, n, target, (i64::MIN, None), |i| values[i]), want);
            let found = first_at_least(1, n - 1, target, (i64::MIN, Some(values[n - 1])), |i| values[i]);
            prop_assert_eq!(found, want.min(n - 1));
        }
    }

    #[test]
    fn the_spacing_is_the_median_step() {
        let mut times: Vec<Count> = (0..10_000).map(|i| Count(i * 20)).collect();
        // A gap after the first pass does not move the median.
        for t in times.iter_mut().skip(5000) {
            t.0 += 5_700_000_000;
        }
        let index = TimeIndex::build(&times).unwrap();
        assert_eq!(index.spacing(), Some(20));
        assert_eq!(index.first_at_or_after(&times, 20 * 4999 + 1), 5000);
        assert_eq!(index.first_at_or_after(&times, i64::MIN), 0);
        assert_eq!(index.first_at_or_after(&times, i64::MAX), 10_000);
        assert_eq!(TimeIndex::build(&[Count(3)][..]).unwrap().spacing(), None);
    }
}
