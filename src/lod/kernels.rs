//! The inner loops every query and build spends its time in: NaN-ignoring minima and maxima,
//! and first-occurrence searches.
//!
//! The running extremes are kept in [`LANES`] independent accumulators updated with
//! `if x < acc { x } else { acc }`. That select is exactly the semantics of the SSE/NEON/wasm
//! `min` instructions when `x` is NaN (the accumulator survives), and the lanes break the
//! loop-carried dependency, so the loops vectorize without fast-math and NaN is skipped for
//! free. Searches build a bit mask of the matches in a chunk without branching and take its
//! lowest bit, so where a match falls (unpredictable by nature) costs no misprediction.

use super::Sample;

/// Independent accumulators per loop: four SSE (two AVX) registers of `f32`.
const LANES: usize = 16;

/// `x` if it is below `acc`, else `acc` (so a NaN `x` is skipped).
#[inline(always)]
fn keep_less<T: Sample>(x: T, acc: T) -> T {
    if x < acc {
        x
    } else {
        acc
    }
}

/// `x` if it is above `acc`, else `acc` (so a NaN `x` is skipped).
#[inline(always)]
fn keep_greater<T: Sample>(x: T, acc: T) -> T {
    if x > acc {
        x
    } else {
        acc
    }
}

/// Both extremes of `xs` in one pass: `(+inf, -inf)` when every value is NaN or `xs` is empty.
#[inline]
pub(super) fn min_max_values<T: Sample>(xs: &[T]) -> (T, T) {
    let (chunks, rest) = xs.as_chunks::<LANES>();
    let mut lo = [T::INFINITY; LANES];
    let mut hi = [T::NEG_INFINITY; LANES];
    for chunk in chunks {
        for ((l, h), &x) in lo.iter_mut().zip(hi.iter_mut()).zip(chunk) {
            *l = keep_less(x, *l);
            *h = keep_greater(x, *h);
        }
    }
    for ((l, h), &x) in lo.iter_mut().zip(hi.iter_mut()).zip(rest) {
        *l = keep_less(x, *l);
        *h = keep_greater(x, *h);
    }
    (
        lo.into_iter().fold(T::INFINITY, |m, x| keep_less(x, m)),
        hi.into_iter()
            .fold(T::NEG_INFINITY, |m, x| keep_greater(x, m)),
    )
}

/// Bit `i` set where `xs[i] == value`; `xs` has at most 32 elements.
#[inline(always)]
fn equal_mask<T: Sample>(xs: &[T], value: T) -> u32 {
    xs.iter()
        .enumerate()
        .fold(0, |mask, (i, &x)| mask | (u32::from(x == value) << i))
}

/// Position of the first element equal to `value` (so `0.0` finds `-0.0`; NaN finds nothing).
#[inline]
pub(super) fn first_equal<T: Sample>(xs: &[T], value: T) -> Option<usize> {
    let (chunks, rest) = xs.as_chunks::<LANES>();
    for (c, chunk) in chunks.iter().enumerate() {
        let mask = equal_mask(chunk, value);
        if mask != 0 {
            return Some(c * LANES + mask.trailing_zeros() as usize);
        }
    }
    let mask = equal_mask(rest, value);
    (mask != 0).then(|| chunks.len() * LANES + mask.trailing_zeros() as usize)
}

/// Positions of the first minimum and the first maximum of `xs`, NaN ignored; `None` when
/// `xs` is empty or all NaN.
#[inline]
pub(super) fn first_min_max<T: Sample>(xs: &[T]) -> Option<(usize, usize)> {
    let (lo, hi) = min_max_values(xs);
    // With no non-NaN value the extremes are still ±inf, which a NaN never equals.
    Some((first_equal(xs, lo)?, first_equal(xs, hi)?))
}

/// Index of the minimum in a `[min, max]` node pair.
pub(super) const MIN: usize = 0;
/// Index of the maximum in a `[min, max]` node pair.
pub(super) const MAX: usize = 1;

/// The `[min, max]` summary of nodes (or samples) whose extremes are `lo` and `hi` as the
/// kernels return them: both NaN if no value was seen.
#[inline]
pub(super) fn summary<T: Sample>(lo: T, hi: T) -> [T; 2] {
    // Without a non-NaN value the accumulators are still +inf and -inf.
    if lo > hi {
        [T::NAN, T::NAN]
    } else {
        [lo, hi]
    }
}

/// The `[min, max]` summary of a group of nodes.
#[inline]
pub(super) fn summarize_nodes<T: Sample>(nodes: &[[T; 2]]) -> [T; 2] {
    let (lo, hi) = nodes
        .iter()
        .fold((T::INFINITY, T::NEG_INFINITY), |(lo, hi), node| {
            (keep_less(node[MIN], lo), keep_greater(node[MAX], hi))
        });
    summary(lo, hi)
}

/// Position of the first node whose `lane` extreme equals `value`, branch-free per group
/// of 32 nodes.
#[inline]
pub(super) fn first_equal_node<T: Sample>(
    nodes: &[[T; 2]],
    lane: usize,
    value: T,
) -> Option<usize> {
    nodes.chunks(32).enumerate().find_map(|(c, group)| {
        let mask = group.iter().enumerate().fold(0u32, |mask, (i, node)| {
            mask | (u32::from(node[lane] == value) << i)
        });
        (mask != 0).then(|| c * 32 + mask.trailing_zeros() as usize)
    })
}

/// Position and value of the first least node minimum, NaN ignored.
#[inline]
pub(super) fn first_min_node<T: Sample>(nodes: &[[T; 2]]) -> Option<(usize, T)> {
    let lo = nodes
        .iter()
        .fold(T::INFINITY, |lo, node| keep_less(node[MIN], lo));
    first_equal_node(nodes, MIN, lo).map(|i| (i, lo))
}

/// Position and value of the first greatest node maximum, NaN ignored.
#[inline]
pub(super) fn first_max_node<T: Sample>(nodes: &[[T; 2]]) -> Option<(usize, T)> {
    let hi = nodes
        .iter()
        .fold(T::NEG_INFINITY, |hi, node| keep_greater(node[MAX], hi));
    first_equal_node(nodes, MAX, hi).map(|i| (i, hi))
}
