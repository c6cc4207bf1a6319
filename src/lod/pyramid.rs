//! The min/max pyramid and the queries that run on it.
//!
//! Level 0 holds the `[min, max]` of every complete block of [`BLOCK`] samples; level
//! `L + 1` those of every complete group of [`FANOUT`] level-`L` nodes, up to the first level
//! with fewer than [`FANOUT`] nodes. Incomplete blocks and groups at the end are left out, so
//! appending never rewrites a node, and a query covers them from the level below (ultimately
//! from the raw samples). A node whose samples are all NaN stores NaN for both extremes.
//!
//! A range query covers its ragged ends from the raw samples and the rest with at most
//! `2 * (FANOUT - 1)` nodes per level, keeps the first-occurring extreme, and recovers its
//! index by descending from the node that holds it: at each level the first child whose
//! extreme equals it, then the first equal sample of the block.
//!
//! Over a long series nearly every read of a query is a cache (and TLB) miss, and a descent
//! is a chain of them, each depending on the last. So the bins of a query are answered
//! together: first a pass touches the memory around every bin edge, then all bins find their
//! candidates, then all descend one level at a time, each level after a pass that touches the
//! children every bin will read. The touch passes have no data-dependent branch, so the
//! misses of all bins are in flight at once instead of queueing behind each other.

use std::fmt;

use super::kernels::{self, MAX, MIN};
use super::m4::{bin_ranges, check_query, check_window, make_bin, scan_extremes};
use super::series::{buffer, for_runs, Series};
use super::{LodError, M4Bin, Sample};

/// Samples summarised by one level-0 node. 64 keeps the ragged ends of a bin within one or
/// two cache lines of `f32` (two to four of `f64`) and the pyramid at ~3.3% of the data.
pub const BLOCK: usize = 64;
/// Nodes of one level summarised by one node of the next. A descent step reads 16 pairs
/// (two cache lines of `f32`), and a query over 100M samples touches about three levels.
pub const FANOUT: usize = 16;
/// Ranges up to this many samples are scanned raw: the scan streams through memory the
/// hardware prefetches, while the pyramid jumps between levels, and measured on 100M `f32`
/// the two cost the same at about 16 blocks per bin. The tests also run with 0.
pub(super) const RAW_SCAN_MAX: usize = 16 * BLOCK;

/// The `[min, max]` of every node of one level, side by side so one cache line serves both.
#[derive(Clone)]
pub(super) struct Level<T> {
    pub(super) nodes: Vec<[T; 2]>,
}

impl<T> Level<T> {
    fn with_capacity(count: usize) -> Self {
        Level {
            nodes: Vec::with_capacity(count),
        }
    }
}

/// Reads a byte of each cache line of `xs` (see the module docs), for the caller to feed to
/// `black_box` so the reads are kept.
fn touch<X: bytemuck::Pod>(xs: &[X]) -> u8 {
    let bytes: &[u8] = bytemuck::cast_slice(xs);
    bytes.iter().step_by(64).fold(0, |acc, &b| acc ^ b) ^ bytes.last().copied().unwrap_or(0)
}

/// Node counts per level for a series of `len` samples: level 0 always (even with no
/// node), then every level with at least one node.
pub(super) fn level_counts(len: u64) -> Vec<u64> {
    level_counts_over(len, BLOCK)
}

/// [`level_counts`] for level-0 nodes of `leaf` samples (the moment tree's are larger).
pub(super) fn level_counts_over(len: u64, leaf: usize) -> Vec<u64> {
    let mut counts = vec![len / leaf as u64];
    let mut below = counts[0];
    while below >= FANOUT as u64 {
        below /= FANOUT as u64;
        counts.push(below);
    }
    counts
}

/// The first minimum and the first maximum of a range, each as `(index, value)`.
pub type MinMax<T> = ((u64, T), (u64, T));

/// A min/max pyramid over one series: level 0 summarises blocks of [`BLOCK`] samples, each
/// next level summarises [`FANOUT`] nodes of the previous one. It stores the extremes (as
/// `T`, exactly) but not their indices, which queries recover from the samples.
///
/// Memory: `2 * size_of::<T>()` bytes per node and fewer than
/// `N / BLOCK * FANOUT / (FANOUT - 1)` nodes, so at most
/// `2 / BLOCK * FANOUT / (FANOUT - 1) = 1/30 ≈ 3.3%` of the series' own bytes, whatever `T`.
#[derive(Clone)]
pub struct Pyramid<T: Sample> {
    pub(super) len: u64,
    /// Never empty: level 0 exists even when it has no node.
    pub(super) levels: Vec<Level<T>>,
}

impl<T: Sample> fmt::Debug for Pyramid<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes: Vec<usize> = self.levels.iter().map(|level| level.nodes.len()).collect();
        f.debug_struct("Pyramid")
            .field("len", &self.len)
            .field("nodes_per_level", &nodes)
            .finish()
    }
}

/// The best extreme seen so far in a range: at an exact sample, or somewhere in a node.
#[derive(Clone, Copy)]
struct Candidate<T> {
    value: T,
    /// The sample index if `node` is `None`, else the node's first sample index: the pieces
    /// of a range never overlap, so comparing these orders the occurrences.
    position: usize,
    /// `(level, index)` of the node still to descend into.
    node: Option<(usize, usize)>,
}

impl<T: Sample> Candidate<T> {
    /// Whether `self` is a better `lane` extreme than `best`: strictly beyond it, or equal
    /// and earlier.
    fn beats(&self, best: &Candidate<T>, lane: usize) -> bool {
        let beyond = if lane == MIN {
            self.value < best.value
        } else {
            self.value > best.value
        };
        beyond || (self.value == best.value && self.position < best.position)
    }
}

/// The first minimum (`[MIN]`) and first maximum (`[MAX]`) of a range, being narrowed down.
type Pending<T> = [Candidate<T>; 2];

/// Accumulates the pieces of one range into its best candidates.
struct Pieces<T> {
    best: [Option<Candidate<T>>; 2],
}

impl<T: Sample> Pieces<T> {
    fn offer(&mut self, lane: usize, candidate: Candidate<T>) {
        let best = &mut self.best[lane];
        if best.is_none_or(|b| candidate.beats(&b, lane)) {
            *best = Some(candidate);
        }
    }

    /// Offers the raw samples `[a, b)`.
    fn offer_samples<S: Series<T> + ?Sized>(&mut self, samples: &S, a: usize, b: usize) {
        for_runs(samples, a, b, |first, raw| {
            if let Some((lo, hi)) = kernels::first_min_max(raw) {
                for (lane, at) in [(MIN, lo), (MAX, hi)] {
                    self.offer(
                        lane,
                        Candidate {
                            value: raw[at],
                            position: first + at,
                            node: None,
                        },
                    );
                }
            }
        });
    }

    /// Offers the nodes `lo..hi` of level `level`.
    fn offer_nodes(&mut self, level: usize, nodes: &[[T; 2]], lo: usize, hi: usize) {
        let span = BLOCK * FANOUT.pow(level as u32);
        let run = &nodes[lo..hi];
        let found = [kernels::first_min_node(run), kernels::first_max_node(run)];
        for (lane, found) in found.into_iter().enumerate() {
            if let Some((at, value)) = found {
                self.offer(
                    lane,
                    Candidate {
                        value,
                        position: (lo + at) * span,
                        node: Some((level, lo + at)),
                    },
                );
            }
        }
    }
}

impl<T: Sample> Pyramid<T> {
    /// Builds the pyramid over `samples`: one pass over the data, O(N).
    pub fn build<S: Series<T> + ?Sized>(samples: &S) -> Pyramid<T> {
        let mut pyramid = Pyramid::with_levels_for(samples.len());
        // Never recursive: the new pyramid covers nothing and has a level 0.
        pyramid.extend(samples);
        pyramid
    }

    /// An empty pyramid with room for the levels of `len` samples.
    fn with_levels_for(len: usize) -> Pyramid<T> {
        Pyramid {
            len: 0,
            levels: level_counts(len as u64)
                .into_iter()
                // Counts are bounded by the series' length, so they fit in usize.
                .map(|count| Level::with_capacity(count as usize))
                .collect(),
        }
    }

    /// The level-0 nodes (`[min, max]` of each block of [`BLOCK`] samples) of the blocks
    /// `[from, to)` of `samples`: the bulk of a build, which callers may split across
    /// threads and hand to [`Pyramid::from_blocks`].
    pub fn block_nodes<S: Series<T> + ?Sized>(samples: &S, from: usize, to: usize) -> Vec<[T; 2]> {
        let mut nodes = Vec::with_capacity(to.saturating_sub(from));
        // RUN is a whole number of blocks, so runs from a block edge hold whole blocks.
        for_runs(samples, from * BLOCK, to * BLOCK, |_, run| {
            let (whole, _) = run.as_chunks::<BLOCK>();
            nodes.extend(whole.iter().map(|block| {
                let (lo, hi) = kernels::min_max_values(block);
                kernels::summary(lo, hi)
            }));
        });
        nodes
    }

    /// The pyramid of a series of `len` samples whose level-0 nodes are `blocks` (all
    /// `len / BLOCK` of them, in order, as [`Pyramid::block_nodes`] gives them): the same
    /// pyramid [`Pyramid::build`] makes.
    pub fn from_blocks(len: usize, blocks: Vec<[T; 2]>) -> Pyramid<T> {
        let mut pyramid = Pyramid::with_levels_for(len);
        pyramid.levels[0].nodes = blocks;
        pyramid.summarize_levels();
        pyramid.len = len as u64;
        pyramid
    }

    /// Extends the pyramid after samples were appended; `samples` is the whole, longer
    /// series. Costs O(appended + BLOCK + FANOUT * levels), not O(N), and gives the same
    /// nodes (and bytes) as [`Pyramid::build`] over `samples`. Given a series shorter than
    /// the one covered, which cannot be an append, it rebuilds from scratch.
    pub fn extend<S: Series<T> + ?Sized>(&mut self, samples: &S) {
        if (samples.len() as u64) < self.len || self.levels.is_empty() {
            *self = Self::build(samples);
            return;
        }
        let blocks = samples.len() / BLOCK;
        let done = self.levels[0].nodes.len();
        let fresh = Self::block_nodes(samples, done, blocks);
        self.levels[0].nodes.extend(fresh);
        self.summarize_levels();
        self.len = samples.len() as u64;
    }

    /// Fills every level above 0 from the one below, where complete groups are new.
    fn summarize_levels(&mut self) {
        let mut level = 1;
        loop {
            let count = self.levels[level - 1].nodes.len() / FANOUT;
            if count == 0 {
                break;
            }
            if level == self.levels.len() {
                self.levels.push(Level::with_capacity(count));
            }
            let (below, above) = self.levels.split_at_mut(level);
            let (children, this) = (&below[level - 1].nodes, &mut above[0].nodes);
            let done = this.len();
            this.extend(
                children[done * FANOUT..count * FANOUT]
                    .chunks_exact(FANOUT)
                    .map(kernels::summarize_nodes),
            );
            level += 1;
        }
    }

    /// Number of samples covered.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the pyramid covers no sample.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of memory the pyramid holds: its nodes (by capacity, `2 * size_of::<T>()`
    /// each; see [`Pyramid`] for the bound) and its small fixed parts.
    pub fn memory_bytes(&self) -> usize {
        let nodes: usize = self.levels.iter().map(|level| level.nodes.capacity()).sum();
        std::mem::size_of::<Self>()
            + self.levels.capacity() * std::mem::size_of::<Level<T>>()
            + nodes * std::mem::size_of::<[T; 2]>()
    }

    /// The M4 bins of `[start, stop)`, identical to [`m4_scan`](super::m4_scan) over the
    /// same samples: the pyramid covers whole blocks, the raw samples the ragged ends of
    /// each bin (bins of up to 16 blocks are simply scanned). Cost
    /// O(bins * (BLOCK + FANOUT * levels)), independent of the window width.
    /// `samples` must be the series the pyramid was built on: another series of the same
    /// length gives wrong answers (never a panic).
    ///
    /// # Errors
    /// [`LodError::LengthMismatch`] if `samples` is not as long as the pyramid, then as
    /// [`m4_scan`](super::m4_scan): [`LodError::ZeroBins`], [`LodError::TooManyBins`],
    /// [`LodError::ReversedWindow`], [`LodError::WindowOutOfRange`].
    pub fn m4<S: Series<T> + ?Sized>(
        &self,
        samples: &S,
        start: u64,
        stop: u64,
        bins: usize,
    ) -> Result<Vec<M4Bin>, LodError> {
        self.check_samples(samples)?;
        let (start, stop) = check_query(self.len, start, stop, bins)?;
        self.m4_ranges(samples, &bin_ranges(start, stop, bins))
    }

    /// The M4 bins of the given non-empty sample ranges `[a, b)`, in order and within the
    /// series (the bins of a time window, say), exactly as a scan gives them.
    ///
    /// # Errors
    /// [`LodError::LengthMismatch`] if `samples` is not as long as the pyramid,
    /// [`LodError::WindowOutOfRange`] for a range past its end.
    pub fn m4_ranges<S: Series<T> + ?Sized>(
        &self,
        samples: &S,
        ranges: &[(usize, usize)],
    ) -> Result<Vec<M4Bin>, LodError> {
        self.check_samples(samples)?;
        for &(a, b) in ranges {
            check_window(self.len, a as u64, b as u64)?;
        }
        let ranges: Vec<(usize, usize)> = ranges.iter().copied().filter(|(a, b)| a < b).collect();
        let extremes = self.first_min_max(samples, &ranges, RAW_SCAN_MAX);
        Ok(ranges
            .into_iter()
            .zip(extremes)
            .map(|(range, found)| make_bin(samples, range, found))
            .collect())
    }

    /// The first minimum and first maximum of `[start, stop)` as `(index, value)`, with the
    /// policy of M4 bins: NaN ignored, and both `(start, NaN)` if every sample is NaN.
    /// `None` for an empty window.
    ///
    /// # Errors
    /// [`LodError::LengthMismatch`], [`LodError::ReversedWindow`],
    /// [`LodError::WindowOutOfRange`], checked in that order.
    pub fn min_max<S: Series<T> + ?Sized>(
        &self,
        samples: &S,
        start: u64,
        stop: u64,
    ) -> Result<Option<MinMax<T>>, LodError> {
        self.check_samples(samples)?;
        let (start, stop) = check_window(self.len, start, stop)?;
        if start == stop {
            return Ok(None);
        }
        let found = self.first_min_max(samples, &[(start, stop)], RAW_SCAN_MAX);
        Ok(Some(match found.first().copied().flatten() {
            Some((lo, hi)) => (
                (lo as u64, samples.sample(lo)),
                (hi as u64, samples.sample(hi)),
            ),
            None => ((start as u64, T::NAN), (start as u64, T::NAN)),
        }))
    }

    fn check_samples<S: Series<T> + ?Sized>(&self, samples: &S) -> Result<(), LodError> {
        if samples.len() as u64 != self.len {
            return Err(LodError::LengthMismatch {
                pyramid: self.len,
                samples: samples.len() as u64,
            });
        }
        Ok(())
    }

    /// Positions of the first minimum and maximum of each non-empty range `[a, b)` of the
    /// covered series; `None` where a range is all NaN. Ranges of up to `raw_scan_max`
    /// samples are scanned raw.
    pub(super) fn first_min_max<S: Series<T> + ?Sized>(
        &self,
        samples: &S,
        ranges: &[(usize, usize)],
        raw_scan_max: usize,
    ) -> Vec<Option<(usize, usize)>> {
        self.prefetch_edges(samples, ranges, raw_scan_max);
        let mut pending: Vec<Option<Pending<T>>> = ranges
            .iter()
            .map(|&(a, b)| self.candidates(samples, a, b, raw_scan_max))
            .collect();
        // Every bin down one level per pass (see the module docs). A failed step leaves the
        // candidate in its node, which the final pass below turns into a raw scan.
        for level in (0..self.levels.len()).rev() {
            let touched = pending
                .iter()
                .flatten()
                .flatten()
                .filter_map(|candidate| candidate.node.filter(|&(at, _)| at == level))
                .fold(0, |acc, (_, index)| {
                    acc ^ self.touch_below(samples, level, index)
                });
            std::hint::black_box(touched);
            for candidate in pending.iter_mut().flatten() {
                for (lane, candidate) in candidate.iter_mut().enumerate() {
                    if candidate.node.is_some_and(|(at, _)| at == level) {
                        self.descend(samples, candidate, lane);
                    }
                }
            }
        }
        pending
            .into_iter()
            .zip(ranges)
            .map(|(found, &(a, b))| match found {
                Some([lo, hi]) if lo.node.is_none() && hi.node.is_none() => {
                    Some((lo.position, hi.position))
                }
                // Only when the samples are not the series the pyramid was built on; the
                // scan keeps the answer exact for the samples given.
                Some(_) => scan_extremes(samples, a, b),
                None => None,
            })
            .collect()
    }

    /// Touches what [`Pyramid::descend`] will read below node `index` of `level`.
    fn touch_below<S: Series<T> + ?Sized>(&self, samples: &S, level: usize, index: usize) -> u8 {
        if level > 0 {
            let first = index * FANOUT;
            self.levels[level - 1]
                .nodes
                .get(first..first + FANOUT)
                .map_or(0, touch)
        } else {
            let first = index * BLOCK;
            if first + BLOCK <= samples.len() {
                touch(samples.bytes(first, first + BLOCK))
            } else {
                0
            }
        }
    }

    /// Touches what [`Pyramid::candidates`] will read around each range edge (the raw block
    /// that holds the edge and, at each level, the group of nodes next to it), so those
    /// misses overlap. A heuristic: it decides nothing, and may miss a neighbouring group.
    fn prefetch_edges<S: Series<T> + ?Sized>(
        &self,
        samples: &S,
        ranges: &[(usize, usize)],
        raw_scan_max: usize,
    ) {
        let Some(&(_, last)) = ranges.last() else {
            return;
        };
        if ranges.iter().all(|&(a, b)| b - a <= raw_scan_max) {
            return;
        }
        let mut touched = 0;
        for edge in ranges.iter().map(|&(a, _)| a).chain([last]) {
            let block = edge / BLOCK * BLOCK;
            if block < samples.len() {
                touched ^= touch(samples.bytes(block, (block + BLOCK).min(samples.len())));
            }
            let mut node = edge / BLOCK;
            for level in &self.levels {
                let group = node / FANOUT * FANOUT;
                let end = (group + FANOUT).min(level.nodes.len());
                touched ^= level.nodes.get(group..end).map_or(0, touch);
                node /= FANOUT;
            }
        }
        std::hint::black_box(touched);
    }

    /// The best candidates of `[a, b)`: exact for short ranges, otherwise possibly nodes.
    fn candidates<S: Series<T> + ?Sized>(
        &self,
        samples: &S,
        a: usize,
        b: usize,
        raw_scan_max: usize,
    ) -> Option<Pending<T>> {
        let mut pieces = Pieces { best: [None, None] };
        let (mut lo, mut hi) = (a.div_ceil(BLOCK), b / BLOCK);
        if b - a <= raw_scan_max || lo >= hi {
            pieces.offer_samples(samples, a, b);
        } else {
            pieces.offer_samples(samples, a, lo * BLOCK);
            pieces.offer_samples(samples, hi * BLOCK, b);
            // Climb while the node range still holds a whole group of the level above.
            let mut level = 0;
            loop {
                let nodes = &self.levels[level].nodes;
                let (up_lo, up_hi) = (lo.div_ceil(FANOUT), hi / FANOUT);
                if level + 1 == self.levels.len() || up_lo >= up_hi {
                    pieces.offer_nodes(level, nodes, lo, hi);
                    break;
                }
                pieces.offer_nodes(level, nodes, lo, up_lo * FANOUT);
                pieces.offer_nodes(level, nodes, up_hi * FANOUT, hi);
                (lo, hi) = (up_lo, up_hi);
                level += 1;
            }
        }
        match pieces.best {
            [Some(lo), Some(hi)] => Some([lo, hi]),
            _ => None,
        }
    }

    /// Moves a node candidate one level down (to the first child holding its value) or, at
    /// level 0, to the first equal sample. Leaves it unchanged if the pyramid and the
    /// samples disagree.
    fn descend<S: Series<T> + ?Sized>(
        &self,
        samples: &S,
        candidate: &mut Candidate<T>,
        lane: usize,
    ) {
        let Some((level, index)) = candidate.node else {
            return;
        };
        if level > 0 {
            let first = index * FANOUT;
            let child = self.levels[level - 1]
                .nodes
                .get(first..first + FANOUT)
                .and_then(|kids| kernels::first_equal_node(kids, lane, candidate.value));
            if let Some(k) = child {
                candidate.node = Some((level - 1, first + k));
            }
        } else {
            let first = index * BLOCK;
            let mut buf = buffer::<T, BLOCK>();
            let sample = (first + BLOCK <= samples.len())
                .then(|| samples.run(first, first + BLOCK, &mut buf))
                .and_then(|block| kernels::first_equal(block, candidate.value));
            if let Some(k) = sample {
                candidate.position = first + k;
                candidate.node = None;
            }
        }
    }
}
