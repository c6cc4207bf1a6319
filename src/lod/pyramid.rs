//! The min/max pyramid and the queries that run on it.
//!
//! Level 0 holds the minimum and maximum of every complete block of [`BLOCK`] samples; level
//! `L + 1` those of every complete group of [`FANOUT`] level-`L` nodes, up to the first level
//! with a single node or fewer than [`FANOUT`] nodes. Incomplete blocks and groups at the end
//! are left out, so appending never rewrites a node, and a query covers them from the level
//! below (ultimately from the raw samples). A block whose samples are all NaN stores NaN.
//!
//! A range query covers its ragged ends from the raw samples and the rest with at most
//! `2 * (FANOUT - 1)` nodes per level, keeps the first-occurring extreme, and recovers its
//! index by descending from the node that holds it: at each level the first child whose
//! extreme equals it, then the first equal sample of the block.

use std::fmt;

use super::kernels;
use super::m4::{check_query, check_window, collect_bins};
use super::{LodError, M4Bin, Sample};

/// Samples summarised by one level-0 node. 64 keeps the ragged ends of a bin to one or two
/// cache lines of `f64` and the pyramid at ~3% of the data.
pub const BLOCK: usize = 64;
/// Nodes of one level summarised by one node of the next. 16 `f32` extremes are one cache
/// line, and a whole-series query of 100M samples touches about three levels.
pub const FANOUT: usize = 16;
/// Windows up to this many samples are scanned raw: cheaper than the pyramid's bookkeeping.
const RAW_SCAN_MAX: usize = 4 * BLOCK;

/// The extremes of every node of one level.
#[derive(Clone, Default)]
pub(super) struct Level<T> {
    pub(super) min: Vec<T>,
    pub(super) max: Vec<T>,
}

impl<T: Sample> Level<T> {
    fn push(&mut self, lo: T, hi: T) {
        // Without a non-NaN value the accumulators are still +inf and -inf.
        let (lo, hi) = if lo > hi { (T::NAN, T::NAN) } else { (lo, hi) };
        self.min.push(lo);
        self.max.push(hi);
    }

    fn len(&self) -> usize {
        self.min.len()
    }
}

/// The extremes of the children of node `node` of the level above `children`.
pub(super) fn summarize_children<T: Sample>(children: &Level<T>, node: usize) -> (T, T) {
    let kids = node * FANOUT..(node + 1) * FANOUT;
    let (lo, hi) = (
        kernels::min_value(&children.min[kids.clone()]),
        kernels::max_value(&children.max[kids]),
    );
    if lo > hi {
        (T::NAN, T::NAN)
    } else {
        (lo, hi)
    }
}

/// Node counts per level for a series of `len` samples: level 0 always, then every level
/// with at least one node.
pub(super) fn level_counts(len: u64) -> Vec<u64> {
    let mut counts = vec![len / BLOCK as u64];
    let mut below = counts[0];
    while below / FANOUT as u64 > 0 {
        below /= FANOUT as u64;
        counts.push(below);
    }
    counts
}

/// A min/max pyramid over one series: level 0 summarises blocks of [`BLOCK`] samples, each
/// next level summarises [`FANOUT`] nodes of the previous one. It stores the extremes (as
/// `T`, exactly) but not their indices, which queries recover from the samples.
///
/// Memory: `2 * size_of::<T>()` bytes per node, `N / BLOCK * FANOUT / (FANOUT - 1)` nodes at
/// most, i.e. about `2 / BLOCK * 16 / 15 ≈ 3.3%` of the series' own bytes.
#[derive(Clone)]
pub struct Pyramid<T: Sample> {
    pub(super) len: u64,
    /// Never empty: level 0 exists even when it has no node.
    pub(super) levels: Vec<Level<T>>,
}

impl<T: Sample> fmt::Debug for Pyramid<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes: Vec<usize> = self.levels.iter().map(Level::len).collect();
        f.debug_struct("Pyramid")
            .field("len", &self.len)
            .field("nodes_per_level", &nodes)
            .finish()
    }
}

/// Where the best extreme so far was seen: exactly, or somewhere in a node.
#[derive(Clone, Copy)]
struct Candidate<T> {
    value: T,
    /// The sample index if `node` is `None`, else the node's first sample index: pieces
    /// never overlap, so comparing these orders the occurrences.
    position: usize,
    /// `(level, index)` of the node still to descend into.
    node: Option<(usize, usize)>,
}

/// Running first minimum and first maximum over the pieces of a range.
struct Extremes<T> {
    min: Option<Candidate<T>>,
    max: Option<Candidate<T>>,
}

impl<T: Sample> Extremes<T> {
    fn offer_min(&mut self, c: Candidate<T>) {
        if self.min.is_none_or(|best| {
            c.value < best.value || (c.value == best.value && c.position < best.position)
        }) {
            self.min = Some(c);
        }
    }

    fn offer_max(&mut self, c: Candidate<T>) {
        if self.max.is_none_or(|best| {
            c.value > best.value || (c.value == best.value && c.position < best.position)
        }) {
            self.max = Some(c);
        }
    }

    /// Offers the raw samples `samples[a..b]`.
    fn offer_samples(&mut self, samples: &[T], a: usize, b: usize) {
        let raw = &samples[a..b];
        if let Some((lo, hi)) = kernels::first_min_max(raw) {
            self.offer_min(Candidate {
                value: raw[lo],
                position: a + lo,
                node: None,
            });
            self.offer_max(Candidate {
                value: raw[hi],
                position: a + hi,
                node: None,
            });
        }
    }

    /// Offers the nodes `lo..hi` of `level`, whose nodes span `span` samples each.
    fn offer_nodes(&mut self, level_index: usize, level: &Level<T>, lo: usize, hi: usize) {
        let span = BLOCK * FANOUT.pow(level_index as u32);
        if let Some((i, value)) = kernels::first_min(&level.min[lo..hi]) {
            self.offer_min(Candidate {
                value,
                position: (lo + i) * span,
                node: Some((level_index, lo + i)),
            });
        }
        if let Some((i, value)) = kernels::first_max(&level.max[lo..hi]) {
            self.offer_max(Candidate {
                value,
                position: (lo + i) * span,
                node: Some((level_index, lo + i)),
            });
        }
    }
}

impl<T: Sample> Pyramid<T> {
    /// Builds the pyramid over `samples`: one pass over the data, O(N).
    pub fn build(samples: &[T]) -> Pyramid<T> {
        let counts = level_counts(samples.len() as u64);
        let mut pyramid = Pyramid {
            len: 0,
            levels: counts
                .iter()
                .map(|&count| Level {
                    // Counts are bounded by the slice length, so they fit in usize.
                    min: Vec::with_capacity(count as usize),
                    max: Vec::with_capacity(count as usize),
                })
                .collect(),
        };
        pyramid.extend(samples);
        pyramid
    }

    /// Extends the pyramid after samples were appended; `samples` is the whole, longer
    /// series. Costs O(appended + BLOCK + FANOUT * levels), not O(N). Given a series shorter
    /// than the one covered (so not an append), it rebuilds from scratch. The result has the
    /// same nodes and bytes as [`Pyramid::build`] over `samples`.
    pub fn extend(&mut self, samples: &[T]) {
        if (samples.len() as u64) < self.len {
            *self = Self::build(samples);
            return;
        }
        if self.levels.is_empty() {
            self.levels.push(Level::default());
        }
        let blocks = samples.len() / BLOCK;
        let base = &mut self.levels[0];
        let done = base.len();
        let (chunks, _) = samples[done * BLOCK..blocks * BLOCK].as_chunks::<BLOCK>();
        base.min.reserve(chunks.len());
        base.max.reserve(chunks.len());
        for block in chunks {
            let (lo, hi) = kernels::min_max_values(block);
            base.push(lo, hi);
        }
        let mut level = 1;
        loop {
            let count = self.levels[level - 1].len() / FANOUT;
            if count == 0 {
                break;
            }
            if level == self.levels.len() {
                self.levels.push(Level::default());
            }
            let (below, above) = self.levels.split_at_mut(level);
            let (children, this) = (&below[level - 1], &mut above[0]);
            for node in this.len()..count {
                let (lo, hi) = summarize_children(children, node);
                this.push(lo, hi);
            }
            level += 1;
        }
        self.len = samples.len() as u64;
    }

    /// Number of samples covered.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the pyramid covers no sample.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of memory the pyramid holds: `2 * size_of::<T>()` per node (see [`Pyramid`]),
    /// counted by capacity, plus its small fixed parts.
    pub fn memory_bytes(&self) -> usize {
        let nodes: usize = self
            .levels
            .iter()
            .map(|level| level.min.capacity() + level.max.capacity())
            .sum();
        std::mem::size_of::<Self>()
            + self.levels.capacity() * std::mem::size_of::<Level<T>>()
            + nodes * std::mem::size_of::<T>()
    }

    /// The M4 bins of `[start, stop)`, identical to [`m4_scan`](super::m4_scan) over the
    /// same samples: the pyramid covers whole blocks, the raw samples the ragged ends of
    /// each bin. Cost O(bins * (BLOCK + FANOUT * levels)), independent of the window width.
    /// `samples` must be the series the pyramid was built on; a different series of the same
    /// length gives wrong answers (never a panic).
    ///
    /// # Errors
    /// [`LodError::LengthMismatch`] if `samples` is not as long as the pyramid, then as
    /// [`m4_scan`](super::m4_scan).
    pub fn m4(
        &self,
        samples: &[T],
        start: u64,
        stop: u64,
        bins: usize,
    ) -> Result<Vec<M4Bin>, LodError> {
        self.check_samples(samples)?;
        let (start, stop) = check_query(self.len, start, stop, bins)?;
        Ok(collect_bins(samples, start, stop, bins, |a, b| {
            self.first_min_max(samples, a, b)
        }))
    }

    /// The first minimum and first maximum of `[start, stop)` as `(index, value)`, NaN
    /// ignored; `None` for an empty window. If every sample is NaN both are `(start, NaN)`,
    /// as in an M4 bin.
    ///
    /// # Errors
    /// [`LodError::LengthMismatch`], [`LodError::ReversedWindow`],
    /// [`LodError::WindowOutOfRange`], checked in that order.
    #[allow(clippy::type_complexity)]
    pub fn min_max(
        &self,
        samples: &[T],
        start: u64,
        stop: u64,
    ) -> Result<Option<((u64, T), (u64, T))>, LodError> {
        self.check_samples(samples)?;
        let (start, stop) = check_window(self.len, start, stop)?;
        if start == stop {
            return Ok(None);
        }
        Ok(Some(match self.first_min_max(samples, start, stop) {
            Some((lo, hi)) => ((lo as u64, samples[lo]), (hi as u64, samples[hi])),
            None => ((start as u64, T::NAN), (start as u64, T::NAN)),
        }))
    }

    fn check_samples(&self, samples: &[T]) -> Result<(), LodError> {
        if samples.len() as u64 != self.len {
            return Err(LodError::LengthMismatch {
                pyramid: self.len,
                samples: samples.len() as u64,
            });
        }
        Ok(())
    }

    /// Positions of the first minimum and maximum of `samples[a..b]` (a non-empty range of
    /// the covered series); `None` if all NaN.
    fn first_min_max(&self, samples: &[T], a: usize, b: usize) -> Option<(usize, usize)> {
        let raw = || kernels::first_min_max(&samples[a..b]).map(|(lo, hi)| (a + lo, a + hi));
        let (mut lo, mut hi) = (a.div_ceil(BLOCK), b / BLOCK);
        if b - a <= RAW_SCAN_MAX || lo >= hi {
            return raw();
        }
        let mut found = Extremes {
            min: None,
            max: None,
        };
        found.offer_samples(samples, a, lo * BLOCK);
        found.offer_samples(samples, hi * BLOCK, b);
        // Climb while the remaining node range holds a whole group of the level above.
        let mut level_index = 0;
        loop {
            let level = &self.levels[level_index];
            let (up_lo, up_hi) = (lo.div_ceil(FANOUT), hi / FANOUT);
            if level_index + 1 == self.levels.len() || up_lo >= up_hi {
                found.offer_nodes(level_index, level, lo, hi);
                break;
            }
            found.offer_nodes(level_index, level, lo, up_lo * FANOUT);
            found.offer_nodes(level_index, level, up_hi * FANOUT, hi);
            (lo, hi) = (up_lo, up_hi);
            level_index += 1;
        }
        let (Some(min), Some(max)) = (found.min, found.max) else {
            return None;
        };
        // A node that does not hold its own extreme means the samples are not the series
        // the pyramid was built on; scanning keeps the answer exact for the samples given.
        match (
            self.locate(samples, min, |level| &level.min),
            self.locate(samples, max, |level| &level.max),
        ) {
            (Some(lo), Some(hi)) => Some((lo, hi)),
            _ => raw(),
        }
    }

    /// The sample index of the first occurrence of a candidate's value, descending through
    /// its node (if any); `None` if the pyramid and the samples disagree.
    fn locate(
        &self,
        samples: &[T],
        candidate: Candidate<T>,
        extremes: impl Fn(&Level<T>) -> &Vec<T>,
    ) -> Option<usize> {
        let Some((mut level, mut index)) = candidate.node else {
            return Some(candidate.position);
        };
        while level > 0 {
            let first_child = index * FANOUT;
            let children = extremes(self.levels.get(level - 1)?);
            let kids = children.get(first_child..first_child + FANOUT)?;
            index = first_child + kernels::first_equal(kids, candidate.value)?;
            level -= 1;
        }
        let first_sample = index * BLOCK;
        let block = samples.get(first_sample..first_sample + BLOCK)?;
        Some(first_sample + kernels::first_equal(block, candidate.value)?)
    }
}
