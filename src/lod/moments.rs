//! Statistics of a window of a series: count, mean, RMS and standard deviation, with NaN
//! (and NaT) left out, in time independent of the window's width.
//!
//! A [`MomentTree`] keeps the [`Moments`] (count, mean, and the sum of squared deviations
//! from the mean) of every complete chunk of [`CHUNK`] samples, and above them of every
//! complete group of [`FANOUT`] nodes, like the min/max [`Pyramid`](super::Pyramid) it is
//! kept with. A window takes its ragged ends from the samples (under one chunk each) and the
//! rest from at most `2 * (FANOUT - 1)` nodes per level.
//!
//! Moments are merged with the pairwise update of Chan, Golub and LeVeque, not as raw sums
//! of squares, so a signal far from zero (28 V ± 1 mV) keeps its deviation exact to about
//! 1e-12 relative instead of losing it to cancellation. Each chunk is computed in two passes
//! (its mean, then the deviations from it) in `f64`. The results are those of
//! `np.nanmean` and `np.nanstd` (ddof 0) up to the rounding of a different summation order.
//!
//! # Disk encoding
//!
//! ```text
//! offset 0   8 bytes   magic b"DLLODMOM"
//! offset 8   u32 LE    version = 1
//! offset 12  u32 LE    CHUNK
//! offset 16  u32 LE    FANOUT
//! offset 20  u32 LE    0 (reserved)
//! offset 24  u64 LE    len: samples covered
//! then                 for each level, for each node: count (u64), mean (f64), m2 (f64), LE
//! last 8     u64 LE    checksum of every byte before it
//! ```
//!
//! The node counts of every level follow from `len`, so the reader checks the size before it
//! allocates, then the checksum, then that every node's count is its children's sum.

use super::cache::checksum;
use super::pyramid::level_counts_over;
use super::series::{for_runs, Series};
use super::{LodError, Sample, BLOCK, FANOUT};

/// Samples summarised by one level-0 node: the ragged ends of a window scanned raw are
/// under 1,024 samples each, and the tree costs 24 bytes per 1,024 samples (0.6% of `f32`).
pub const CHUNK: usize = BLOCK * FANOUT;

/// The count, mean and sum of squared deviations (`m2`) of some samples, NaN left out.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Moments {
    /// Samples that are not NaN.
    pub count: u64,
    /// Their mean (0 when there is none).
    pub mean: f64,
    /// The sum of their squared deviations from `mean`.
    pub m2: f64,
}

impl Moments {
    /// The moments of no sample.
    pub const EMPTY: Moments = Moments {
        count: 0,
        mean: 0.0,
        m2: 0.0,
    };

    /// The moments of `samples[a..b)`, read in runs (two passes over each run, which is in
    /// cache by then), merged.
    pub fn of<T: Sample, S: Series<T> + ?Sized>(samples: &S, a: usize, b: usize) -> Moments {
        let mut total = Moments::EMPTY;
        for_runs(samples, a, b, |_, run| {
            total = total.merge(Moments::of_run(run))
        });
        total
    }

    fn of_run<T: Sample>(run: &[T]) -> Moments {
        let (mut count, mut sum) = (0u64, 0.0f64);
        for &x in run {
            let v = x.to_f64();
            let keep = !v.is_nan();
            count += u64::from(keep);
            sum += if keep { v } else { 0.0 };
        }
        if count == 0 {
            return Moments::EMPTY;
        }
        let mean = sum / count as f64;
        let m2 = run
            .iter()
            .map(|&x| x.to_f64() - mean)
            .filter(|d| !d.is_nan())
            .map(|d| d * d)
            .sum();
        Moments { count, mean, m2 }
    }

    /// The moments of both sets of samples together.
    #[must_use]
    pub fn merge(self, other: Moments) -> Moments {
        if other.count == 0 {
            return self;
        }
        if self.count == 0 {
            return other;
        }
        let count = self.count + other.count;
        let (na, nb, n) = (self.count as f64, other.count as f64, count as f64);
        let delta = other.mean - self.mean;
        Moments {
            count,
            mean: self.mean + delta * (nb / n),
            m2: self.m2 + other.m2 + delta * delta * (na * nb / n),
        }
    }

    /// The population variance (ddof 0); NaN with no sample.
    pub fn variance(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            (self.m2 / self.count as f64).max(0.0)
        }
    }

    /// The standard deviation (ddof 0); NaN with no sample.
    pub fn std(&self) -> f64 {
        self.variance().sqrt()
    }

    /// The mean; NaN with no sample.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.mean
        }
    }

    /// The root mean square, `sqrt(mean² + variance)`; NaN with no sample.
    pub fn rms(&self) -> f64 {
        (self.mean() * self.mean() + self.variance()).sqrt()
    }
}

/// Node counts per level for `len` samples: chunks, then groups of [`FANOUT`].
fn level_counts(len: u64) -> Vec<u64> {
    level_counts_over(len, CHUNK)
}

/// The [`Moments`] of every complete chunk of a series, and of every complete group of
/// nodes above (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct MomentTree {
    len: u64,
    /// Never empty: level 0 exists even when it has no node.
    levels: Vec<Vec<Moments>>,
}

impl MomentTree {
    /// The tree of `samples`, in one pass.
    pub fn build<T: Sample, S: Series<T> + ?Sized>(samples: &S) -> MomentTree {
        let chunks = samples.len() / CHUNK;
        MomentTree::from_chunks(samples.len(), MomentTree::chunk_nodes(samples, 0, chunks))
    }

    /// The level-0 nodes of chunks `[from, to)` (so a build can be split across threads).
    pub fn chunk_nodes<T: Sample, S: Series<T> + ?Sized>(
        samples: &S,
        from: usize,
        to: usize,
    ) -> Vec<Moments> {
        (from..to)
            .map(|c| Moments::of(samples, c * CHUNK, (c + 1) * CHUNK))
            .collect()
    }

    /// The tree of a series of `len` samples from all its level-0 nodes.
    pub fn from_chunks(len: usize, chunks: Vec<Moments>) -> MomentTree {
        let mut tree = MomentTree {
            len: len as u64,
            levels: vec![chunks],
        };
        tree.summarize_levels();
        tree
    }

    /// Follow an append: `samples` is the series grown (its first `len` samples unchanged).
    /// Only the new complete chunks and the nodes above them are computed.
    pub fn extend<T: Sample, S: Series<T> + ?Sized>(&mut self, samples: &S) {
        let (have, want) = (self.levels[0].len(), samples.len() / CHUNK);
        let fresh = MomentTree::chunk_nodes(samples, have, want);
        self.levels[0].extend(fresh);
        self.len = samples.len() as u64;
        self.summarize_levels();
    }

    /// Adds the nodes each level is missing, from the level below.
    fn summarize_levels(&mut self) {
        let counts = level_counts(self.len);
        for (level, &count) in counts.iter().enumerate().skip(1) {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let have = self.levels[level].len();
            let fresh: Vec<Moments> = (have..count as usize)
                .map(|node| {
                    self.levels[level - 1][node * FANOUT..(node + 1) * FANOUT]
                        .iter()
                        .fold(Moments::EMPTY, |acc, &m| acc.merge(m))
                })
                .collect();
            self.levels[level].extend(fresh);
        }
    }

    /// Samples covered.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it covers no sample.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of memory the nodes hold.
    pub fn memory_bytes(&self) -> usize {
        self.levels
            .iter()
            .map(|l| l.capacity() * std::mem::size_of::<Moments>())
            .sum()
    }

    /// The moments of `samples[start..stop)`, which must be the series this tree covers.
    ///
    /// # Errors
    /// [`LodError::LengthMismatch`], [`LodError::ReversedWindow`],
    /// [`LodError::WindowOutOfRange`].
    pub fn query<T: Sample, S: Series<T> + ?Sized>(
        &self,
        samples: &S,
        start: u64,
        stop: u64,
    ) -> Result<Moments, LodError> {
        if samples.len() as u64 != self.len {
            return Err(LodError::LengthMismatch {
                pyramid: self.len,
                samples: samples.len() as u64,
            });
        }
        if start > stop {
            return Err(LodError::ReversedWindow { start, stop });
        }
        if stop > self.len {
            return Err(LodError::WindowOutOfRange {
                stop,
                len: self.len,
            });
        }
        let (start, stop) = (start as usize, stop as usize);
        let (lo, hi) = (start.div_ceil(CHUNK), stop / CHUNK);
        if lo >= hi {
            return Ok(Moments::of(samples, start, stop));
        }
        let edges =
            Moments::of(samples, start, lo * CHUNK).merge(Moments::of(samples, hi * CHUNK, stop));
        Ok(edges.merge(self.nodes(lo, hi)))
    }

    /// The moments of the level-0 nodes `[lo, hi)`, from as few nodes as the levels allow.
    fn nodes(&self, mut lo: usize, mut hi: usize) -> Moments {
        let sum = |nodes: &[Moments]| nodes.iter().fold(Moments::EMPTY, |acc, &m| acc.merge(m));
        let mut total = Moments::EMPTY;
        for (level, nodes) in self.levels.iter().enumerate() {
            let (up_lo, up_hi) = (lo.div_ceil(FANOUT), hi / FANOUT);
            if level + 1 == self.levels.len() || up_lo >= up_hi {
                return total.merge(sum(&nodes[lo..hi]));
            }
            total = total
                .merge(sum(&nodes[lo..up_lo * FANOUT]))
                .merge(sum(&nodes[up_hi * FANOUT..hi]));
            (lo, hi) = (up_lo, up_hi);
        }
        total
    }
}

/// The eight bytes every cached moment tree starts with.
const MAGIC: &[u8; 8] = b"DLLODMOM";
const VERSION: u32 = 1;
const FIXED_LEN: usize = 32;
const NODE_LEN: usize = 24;

impl MomentTree {
    /// Serializes the tree for the disk cache (layout in the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let nodes: usize = self.levels.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(FIXED_LEN + nodes * NODE_LEN + 8);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(CHUNK as u32).to_le_bytes());
        out.extend_from_slice(&(FANOUT as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        for node in self.levels.iter().flatten() {
            out.extend_from_slice(&node.count.to_le_bytes());
            out.extend_from_slice(&node.mean.to_le_bytes());
            out.extend_from_slice(&node.m2.to_le_bytes());
        }
        let sum = checksum(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Loads a tree written by [`MomentTree::to_bytes`] for a series of `expected_len`
    /// samples; hostile bytes give an error, never a panic or an allocation larger than them.
    ///
    /// # Errors
    /// [`LodError::CacheHeader`] for another magic, version or layout, [`LodError::CacheStale`],
    /// [`LodError::CacheSize`], [`LodError::CacheChecksum`], and
    /// [`LodError::CacheInconsistent`] where a node's count is not its children's.
    pub fn from_bytes(bytes: &[u8], expected_len: u64) -> Result<MomentTree, LodError> {
        let word = |at: usize| -> [u8; 8] {
            let mut out = [0; 8];
            out.copy_from_slice(&bytes[at..at + 8]);
            out
        };
        let half = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        if bytes.len() < FIXED_LEN + 8 {
            return Err(LodError::CacheSize {
                expected: (FIXED_LEN + 8) as u64,
                found: bytes.len(),
            });
        }
        if &word(0) != MAGIC || half(8) != VERSION {
            return Err(LodError::CacheHeader("it is not a version 1 moment tree"));
        }
        if (half(12), half(16), half(20)) != (CHUNK as u32, FANOUT as u32, 0) {
            return Err(LodError::CacheHeader(
                "its chunk size or fan-out is not this build's",
            ));
        }
        let len = u64::from_le_bytes(word(24));
        if len != expected_len {
            return Err(LodError::CacheStale {
                cached: len,
                expected: expected_len,
            });
        }
        let counts = level_counts(len);
        let expected = counts
            .iter()
            .try_fold(0u64, |sum, &c| {
                c.checked_mul(NODE_LEN as u64)?.checked_add(sum)
            })
            .and_then(|n| n.checked_add((FIXED_LEN + 8) as u64));
        if expected != Some(bytes.len() as u64) {
            return Err(LodError::CacheSize {
                expected: expected.unwrap_or(u64::MAX),
                found: bytes.len(),
            });
        }
        let body = &bytes[..bytes.len() - 8];
        if checksum(body) != u64::from_le_bytes(word(bytes.len() - 8)) {
            return Err(LodError::CacheChecksum);
        }
        let mut nodes = body[FIXED_LEN..].chunks_exact(NODE_LEN).map(|n| {
            let field = |at: usize| {
                let mut out = [0; 8];
                out.copy_from_slice(&n[at..at + 8]);
                out
            };
            Moments {
                count: u64::from_le_bytes(field(0)),
                mean: f64::from_le_bytes(field(8)),
                m2: f64::from_le_bytes(field(16)),
            }
        });
        let levels: Vec<Vec<Moments>> = counts
            .iter()
            .map(|&c| nodes.by_ref().take(c as usize).collect())
            .collect();
        for (level, pair) in levels.windows(2).enumerate() {
            for (node, parent) in pair[1].iter().enumerate() {
                let children: u64 = pair[0][node * FANOUT..(node + 1) * FANOUT]
                    .iter()
                    .map(|m| m.count)
                    .sum();
                if children != parent.count {
                    return Err(LodError::CacheInconsistent {
                        level: level + 1,
                        node,
                    });
                }
            }
        }
        if let Some(node) = levels[0].iter().position(|m| m.count > CHUNK as u64) {
            return Err(LodError::CacheInconsistent { level: 0, node });
        }
        Ok(MomentTree { len, levels })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NumPy's nanmean/nanstd, computed plainly in f64.
    fn reference(xs: &[f64]) -> (u64, f64, f64, f64) {
        let kept: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
        let n = kept.len() as f64;
        let mean = kept.iter().sum::<f64>() / n;
        let var = kept.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let rms = (kept.iter().map(|x| x * x).sum::<f64>() / n).sqrt();
        (kept.len() as u64, mean, var.sqrt(), rms)
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn windows_match_a_plain_computation() {
        // 28 V with millivolt noise, some NaN: the cancellation case.
        let xs: Vec<f32> = (0..300_000u32)
            .map(|i| {
                if i % 977 == 5 {
                    f32::NAN
                } else {
                    28.0 + ((i * 7919) % 1000) as f32 * 1e-6
                }
            })
            .collect();
        let tree = MomentTree::build(&xs);
        let wide: Vec<f64> = xs.iter().map(|&x| f64::from(x)).collect();
        for (a, b) in [
            (0, 300_000),
            (1, 299_999),
            (1023, 1025),
            (5000, 250_003),
            (7, 7),
            (100, 1124),
        ] {
            let m = tree.query(&xs, a, b).unwrap();
            if a == b {
                assert_eq!(m, Moments::EMPTY);
                assert!(m.mean().is_nan());
                continue;
            }
            let (n, mean, std, rms) = reference(&wide[a as usize..b as usize]);
            assert_eq!(m.count, n, "[{a}, {b})");
            assert!(
                close(m.mean(), mean, 1e-12),
                "mean [{a}, {b}): {} vs {mean}",
                m.mean()
            );
            assert!(
                close(m.std(), std, 1e-6),
                "std [{a}, {b}): {} vs {std}",
                m.std()
            );
            assert!(close(m.rms(), rms, 1e-12), "rms [{a}, {b})");
        }
    }

    #[test]
    fn extend_equals_a_fresh_build_and_bytes_round_trip() {
        let xs: Vec<i16> = (0..100_000)
            .map(|i| ((i * 37) % 4096 - 2048) as i16)
            .collect();
        let mut tree = MomentTree::build(&xs[..40_000].to_vec());
        tree.extend(&xs);
        assert_eq!(tree, MomentTree::build(&xs));
        let bytes = tree.to_bytes();
        assert_eq!(MomentTree::from_bytes(&bytes, 100_000).unwrap(), tree);
        assert!(matches!(
            MomentTree::from_bytes(&bytes, 100_001),
            Err(LodError::CacheStale { .. })
        ));
        let mut damaged = bytes.clone();
        damaged[40] ^= 1;
        assert_eq!(
            MomentTree::from_bytes(&damaged, 100_000),
            Err(LodError::CacheChecksum)
        );
        assert!(MomentTree::from_bytes(&bytes[..30], 100_000).is_err());
        assert!(MomentTree::from_bytes(&bytes[..bytes.len() - 1], 100_000).is_err());
    }

    #[test]
    fn all_nan_and_infinite_windows() {
        let xs = vec![f64::NAN; 5000];
        let tree = MomentTree::build(&xs);
        let m = tree.query(&xs, 0, 5000).unwrap();
        assert_eq!(m.count, 0);
        assert!(m.std().is_nan() && m.rms().is_nan());
        let ys = vec![1.0, f64::INFINITY, 2.0];
        assert!(Moments::of(&ys, 0, 3).mean().is_infinite());
        assert!(tree.query(&xs, 10, 5001).is_err());
        assert!(tree.query(&xs, 10, 5).is_err());
    }
}
