//! The inner loops every query and build spends its time in: NaN-ignoring minima and maxima,
//! and first-occurrence searches.
//!
//! The running extremes are kept in [`LANES`] independent accumulators updated with
//! `if x < acc { x } else { acc }`. That select is exactly the semantics of the SSE/NEON/wasm
//! `min` instructions when `x` is NaN (the accumulator survives), and the lanes break the
//! loop-carried dependency, so the loops vectorize without fast-math and NaN is skipped for
//! free. Searches test a whole chunk with a branch-free `|` fold before looking inside it.

use super::Sample;

/// Independent accumulators per loop: four SSE (two AVX) registers of `f32`.
const LANES: usize = 16;

#[inline(always)]
fn keep_less<T: Sample>(x: T, acc: T) -> T {
    if x < acc {
        x
    } else {
        acc
    }
}

#[inline(always)]
fn keep_greater<T: Sample>(x: T, acc: T) -> T {
    if x > acc {
        x
    } else {
        acc
    }
}

/// The least non-NaN value of `xs`; `+inf` when there is none.
#[inline]
pub(super) fn min_value<T: Sample>(xs: &[T]) -> T {
    let (chunks, rest) = xs.as_chunks::<LANES>();
    let mut acc = [T::INFINITY; LANES];
    for chunk in chunks {
        for (a, &x) in acc.iter_mut().zip(chunk) {
            *a = keep_less(x, *a);
        }
    }
    for (a, &x) in acc.iter_mut().zip(rest) {
        *a = keep_less(x, *a);
    }
    acc.into_iter().fold(T::INFINITY, |m, x| keep_less(x, m))
}

/// The greatest non-NaN value of `xs`; `-inf` when there is none.
#[inline]
pub(super) fn max_value<T: Sample>(xs: &[T]) -> T {
    let (chunks, rest) = xs.as_chunks::<LANES>();
    let mut acc = [T::NEG_INFINITY; LANES];
    for chunk in chunks {
        for (a, &x) in acc.iter_mut().zip(chunk) {
            *a = keep_greater(x, *a);
        }
    }
    for (a, &x) in acc.iter_mut().zip(rest) {
        *a = keep_greater(x, *a);
    }
    acc.into_iter().fold(T::NEG_INFINITY, |m, x| keep_greater(x, m))
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
        hi.into_iter().fold(T::NEG_INFINITY, |m, x| keep_greater(x, m)),
    )
}

/// Position of the first element equal to `value` (so `0.0` finds `-0.0`; NaN finds nothing).
#[inline]
pub(super) fn first_equal<T: Sample>(xs: &[T], value: T) -> Option<usize> {
    let (chunks, rest) = xs.as_chunks::<LANES>();
    for (c, chunk) in chunks.iter().enumerate() {
        if chunk.iter().fold(false, |hit, &x| hit | (x == value)) {
            return chunk
                .iter()
                .position(|&x| x == value)
                .map(|i| c * LANES + i);
        }
    }
    rest.iter()
        .position(|&x| x == value)
        .map(|i| chunks.len() * LANES + i)
}

/// Positions of the first minimum and the first maximum of `xs`, NaN ignored; `None` when
/// `xs` is empty or all NaN.
#[inline]
pub(super) fn first_min_max<T: Sample>(xs: &[T]) -> Option<(usize, usize)> {
    let (lo, hi) = min_max_values(xs);
    // With no non-NaN value the extremes are still ±inf, which a NaN never equals.
    Some((first_equal(xs, lo)?, first_equal(xs, hi)?))
}

/// Position and value of the first minimum of `xs`, NaN ignored.
#[inline]
pub(super) fn first_min<T: Sample>(xs: &[T]) -> Option<(usize, T)> {
    let lo = min_value(xs);
    first_equal(xs, lo).map(|i| (i, lo))
}

/// Position and value of the first maximum of `xs`, NaN ignored.
#[inline]
pub(super) fn first_max<T: Sample>(xs: &[T]) -> Option<(usize, T)> {
    let hi = max_value(xs);
    first_equal(xs, hi).map(|i| (i, hi))
}
