//! Where a series' samples are read from: a slice, or raw bytes read in place (a column of
//! an (N, C) array, a big-endian file, a misaligned `.npz` member) without a converted copy.
//!
//! The kernels want a slice of native values, so a view that is not one hands out short runs
//! of it, copied into a buffer on the stack of whoever asks ([`Series::run`]): memory stays
//! O([`RUN`]) per query or build, whatever the length of the series.

use std::marker::PhantomData;

use super::Sample;

/// Most samples one [`Series::run`] copies: 1024 keeps the buffer within 8 KB on the stack
/// and covers every raw scan of a pyramid query in one run.
pub const RUN: usize = 1024;

/// The samples of one series.
pub trait Series<T: Sample>: Sync {
    /// Number of samples.
    fn len(&self) -> usize;

    /// Whether there is no sample.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sample `i` (which must be below [`Series::len`]).
    fn sample(&self, i: usize) -> T;

    /// The samples `[a, b)`: borrowed when they lie in memory as native values, else
    /// copied into `buf`, which must hold at least `b - a` (callers keep runs to [`RUN`]).
    fn run<'s>(&'s self, a: usize, b: usize, buf: &'s mut [T]) -> &'s [T];

    /// The bytes holding the samples `[a, b)`, to touch them ahead of their reads.
    fn bytes(&self, a: usize, b: usize) -> &[u8];
}

impl<T: Sample> Series<T> for [T] {
    fn len(&self) -> usize {
        <[T]>::len(self)
    }
    fn sample(&self, i: usize) -> T {
        self[i]
    }
    fn run<'s>(&'s self, a: usize, b: usize, _: &'s mut [T]) -> &'s [T] {
        &self[a..b]
    }
    fn bytes(&self, a: usize, b: usize) -> &[u8] {
        bytemuck::cast_slice(&self[a..b])
    }
}

/// Arrays and vectors of samples are series too (tests and small callers).
impl<T: Sample, const N: usize> Series<T> for [T; N] {
    fn len(&self) -> usize {
        N
    }
    fn sample(&self, i: usize) -> T {
        self[i]
    }
    fn run<'s>(&'s self, a: usize, b: usize, _: &'s mut [T]) -> &'s [T] {
        &self[a..b]
    }
    fn bytes(&self, a: usize, b: usize) -> &[u8] {
        bytemuck::cast_slice(&self[a..b])
    }
}

impl<T: Sample> Series<T> for Vec<T> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn sample(&self, i: usize) -> T {
        self[i]
    }
    fn run<'s>(&'s self, a: usize, b: usize, _: &'s mut [T]) -> &'s [T] {
        &self[a..b]
    }
    fn bytes(&self, a: usize, b: usize) -> &[u8] {
        bytemuck::cast_slice(&self[a..b])
    }
}

/// Samples in raw bytes: sample `i` is the `T` at byte `i * stride`, in the machine's order
/// or (`swap`) the other one, at any alignment.
#[derive(Debug, Clone, Copy)]
pub struct Strided<'a, T> {
    bytes: &'a [u8],
    len: usize,
    stride: usize,
    swap: bool,
    _sample: PhantomData<T>,
}

impl<'a, T: Sample> Strided<'a, T> {
    /// `len` samples of `bytes`, `stride` bytes apart; `None` unless `bytes` holds them all.
    pub fn new(bytes: &'a [u8], len: usize, stride: usize, swap: bool) -> Option<Strided<'a, T>> {
        let needed = match len {
            0 => 0,
            n => (n - 1).checked_mul(stride)?.checked_add(T::SIZE)?,
        };
        if stride < T::SIZE || needed > bytes.len() {
            return None;
        }
        Some(Strided {
            bytes: &bytes[..needed],
            len,
            stride,
            swap,
            _sample: PhantomData,
        })
    }
}

impl<T: Sample> Series<T> for Strided<'_, T> {
    fn len(&self) -> usize {
        self.len
    }

    fn sample(&self, i: usize) -> T {
        let at = i * self.stride;
        let value: T = bytemuck::pod_read_unaligned(&self.bytes[at..at + T::SIZE]);
        if self.swap {
            value.swapped()
        } else {
            value
        }
    }

    fn run<'s>(&'s self, a: usize, b: usize, buf: &'s mut [T]) -> &'s [T] {
        let out = &mut buf[..b - a];
        let (size, stride) = (T::SIZE, self.stride);
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(out);
        if stride == size {
            bytes.copy_from_slice(&self.bytes[a * size..b * size]);
        } else {
            for (k, slot) in bytes.chunks_exact_mut(size).enumerate() {
                let at = (a + k) * stride;
                slot.copy_from_slice(&self.bytes[at..at + size]);
            }
        }
        if self.swap {
            for value in out.iter_mut() {
                *value = value.swapped();
            }
        }
        out
    }

    fn bytes(&self, a: usize, b: usize) -> &[u8] {
        if a >= b {
            return &[];
        }
        &self.bytes[a * self.stride..(b - 1) * self.stride + T::SIZE]
    }
}

/// Either kind of series, chosen once per array: a slice where the bytes are native and
/// aligned, a strided view elsewhere.
#[derive(Debug, Clone, Copy)]
pub enum View<'a, T> {
    /// Native values in place.
    Slice(&'a [T]),
    /// Values read through [`Strided`].
    Strided(Strided<'a, T>),
}

impl<'a, T: Sample> View<'a, T> {
    /// The view of `len` samples at `stride` bytes in `bytes` (`swap`: stored in the other
    /// byte order): a slice when that reads them as they are; `None` unless `bytes` holds
    /// them all.
    pub fn new(bytes: &'a [u8], len: usize, stride: usize, swap: bool) -> Option<View<'a, T>> {
        let strided = Strided::new(bytes, len, stride, swap)?;
        if stride == T::SIZE && !swap {
            if let Ok(slice) = bytemuck::try_cast_slice(strided.bytes) {
                return Some(View::Slice(slice));
            }
        }
        Some(View::Strided(strided))
    }
}

impl<T: Sample> Series<T> for View<'_, T> {
    fn len(&self) -> usize {
        match self {
            View::Slice(s) => s.len(),
            View::Strided(s) => s.len,
        }
    }
    fn sample(&self, i: usize) -> T {
        match self {
            View::Slice(s) => s[i],
            View::Strided(s) => s.sample(i),
        }
    }
    fn run<'s>(&'s self, a: usize, b: usize, buf: &'s mut [T]) -> &'s [T] {
        match self {
            View::Slice(s) => &s[a..b],
            View::Strided(s) => s.run(a, b, buf),
        }
    }
    fn bytes(&self, a: usize, b: usize) -> &[u8] {
        match self {
            View::Slice(s) => Series::bytes(*s, a, b),
            View::Strided(s) => s.bytes(a, b),
        }
    }
}

/// A stack buffer for [`Series::run`] of `N` samples.
pub(super) fn buffer<T: Sample, const N: usize>() -> [T; N] {
    [<T as bytemuck::Zeroable>::zeroed(); N]
}

/// Calls `each` with consecutive runs of `[a, b)` (each at most [`RUN`] samples) and the
/// index of its first sample.
pub(super) fn for_runs<T: Sample, S: Series<T> + ?Sized>(
    series: &S,
    a: usize,
    b: usize,
    mut each: impl FnMut(usize, &[T]),
) {
    let mut buf = buffer::<T, RUN>();
    let mut at = a;
    while at < b {
        let end = (at + RUN).min(b);
        each(at, series.run(at, end, &mut buf));
        at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_views_read_columns_in_either_byte_order() {
        // A (4, 3) big-endian i16 array; column 1 is 10, 11, 12, 13.
        let values: Vec<i16> = (0..4).flat_map(|r| [r, 10 + r, 20 + r]).collect();
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        let column = View::<i16>::new(&bytes[2..], 4, 6, cfg!(target_endian = "little")).unwrap();
        assert!(matches!(column, View::Strided(_)));
        assert_eq!(
            (0..4).map(|i| column.sample(i)).collect::<Vec<_>>(),
            [10, 11, 12, 13]
        );
        let mut buf = buffer::<i16, 4>();
        assert_eq!(column.run(1, 4, &mut buf), [11, 12, 13]);
        assert_eq!(column.bytes(0, 2).len(), 6 + 2);
        // Too short for the samples asked for.
        assert!(View::<i16>::new(&bytes[2..], 5, 6, false).is_none());
    }

    #[test]
    fn native_aligned_bytes_are_used_in_place() {
        let values: Vec<f32> = (0..3000).map(|i| i as f32).collect();
        let bytes: &[u8] = bytemuck::cast_slice(&values);
        let view = View::<f32>::new(bytes, 3000, 4, false).unwrap();
        assert!(matches!(view, View::Slice(_)));
        // Misaligned: the same values through the strided path.
        let mut shifted = vec![0u8; bytes.len() + 1];
        shifted[1..].copy_from_slice(bytes);
        let moved = View::<f32>::new(&shifted[1..], 3000, 4, false).unwrap();
        assert!(matches!(moved, View::Strided(_)));
        let mut seen = Vec::new();
        for_runs(&moved, 5, 2500, |at, run| {
            assert_eq!(run[0], at as f32);
            seen.extend_from_slice(run);
        });
        assert_eq!(seen, values[5..2500]);
    }
}
