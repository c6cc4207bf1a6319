//! The element types a [`Pyramid`](super::Pyramid) stores natively, and the NaN-ignoring
//! comparisons every part of the module shares.
//!
//! Every numeric NumPy dtype charts as one of these, read in place: `f16`/`f32`/`f64`, the
//! eight integer types, [`Truth`] for `bool`, and [`Count`] for the `i64` counts of
//! datetime64 and timedelta64 (with NaT as their NaN). Extremes are kept in the type itself,
//! so an `i64` or a datetime is never rounded through `f64` until it is answered.

use half::f16;

/// A sample type the pyramid stores natively (exactly): block extremes are kept as `Self`,
/// never rounded through another type.
///
/// Comparisons use `PartialOrd`, so NaN (and NaT) compares false with everything (which is
/// what makes the min/max kernels skip it) and `-0.0 == 0.0`.
pub trait Sample: Copy + PartialOrd + bytemuck::Pod + Send + Sync + 'static {
    /// The value stored for a block whose samples are all NaN (types without NaN never
    /// store it: their blocks always have a value).
    const NAN: Self;
    /// Nothing is below it: the start value of a running minimum.
    const INFINITY: Self;
    /// Nothing is above it: the start value of a running maximum.
    const NEG_INFINITY: Self;
    /// The NumPy type string of the little-endian encoding, padded to four bytes with NUL,
    /// written into serialized pyramids so an `f4` cache is never read as `f8`.
    const DTYPE: [u8; 4];
    /// Bytes of one encoded sample.
    const SIZE: usize;

    /// The value as `f64` (exact for `f16`, `f32`, `f64` and integers up to 2^53).
    fn to_f64(self) -> f64;
    /// Whether the value is a NaN (or NaT).
    fn is_nan(self) -> bool;
    /// The raw bits, widened to 64, for bit-exact comparisons (a NaN keeps its payload).
    fn to_bits_u64(self) -> u64;
    /// The value with its bytes in the other order (a sample stored big-endian, read here).
    fn swapped(self) -> Self;
    /// Appends the little-endian encoding to `out`.
    fn write_le(self, out: &mut Vec<u8>) {
        let le = if cfg!(target_endian = "big") {
            self.swapped()
        } else {
            self
        };
        out.extend_from_slice(bytemuck::bytes_of(&le));
    }
    /// Decodes exactly [`Self::SIZE`](Sample::SIZE) little-endian bytes; `None` for another
    /// length.
    fn read_le(bytes: &[u8]) -> Option<Self> {
        let value: Self = bytemuck::try_pod_read_unaligned(bytes).ok()?;
        Some(if cfg!(target_endian = "big") {
            value.swapped()
        } else {
            value
        })
    }
}

macro_rules! float_sample {
    ($t:ty, $dtype:expr, $to_f64:expr) => {
        impl Sample for $t {
            const NAN: Self = <$t>::NAN;
            const INFINITY: Self = <$t>::INFINITY;
            const NEG_INFINITY: Self = <$t>::NEG_INFINITY;
            const DTYPE: [u8; 4] = *$dtype;
            const SIZE: usize = std::mem::size_of::<$t>();

            fn to_f64(self) -> f64 {
                $to_f64(self)
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn to_bits_u64(self) -> u64 {
                u64::from(self.to_bits())
            }
            fn swapped(self) -> Self {
                <$t>::from_bits(self.to_bits().swap_bytes())
            }
        }
    };
}

float_sample!(f16, b"<f2\0", f16::to_f64);
float_sample!(f32, b"<f4\0", f64::from);
float_sample!(f64, b"<f8\0", |x| x);

macro_rules! int_sample {
    ($($t:ty => $dtype:expr),* $(,)?) => {$(
        impl Sample for $t {
            // Integers have no NaN; a block always has a least and a greatest value.
            const NAN: Self = 0;
            const INFINITY: Self = <$t>::MAX;
            const NEG_INFINITY: Self = <$t>::MIN;
            const DTYPE: [u8; 4] = *$dtype;
            const SIZE: usize = std::mem::size_of::<$t>();

            fn to_f64(self) -> f64 {
                self as f64
            }
            fn is_nan(self) -> bool {
                false
            }
            fn to_bits_u64(self) -> u64 {
                self as u64
            }
            fn swapped(self) -> Self {
                self.swap_bytes()
            }
        }
    )*};
}

int_sample!(
    i8 => b"|i1\0",
    i16 => b"<i2\0",
    i32 => b"<i4\0",
    i64 => b"<i8\0",
    u8 => b"|u1\0",
    u16 => b"<u2\0",
    u32 => b"<u4\0",
    u64 => b"<u8\0",
);

/// A NumPy `bool`: one byte, any nonzero byte is true (and charts as 1).
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct Truth(pub u8);

impl Truth {
    fn value(self) -> bool {
        self.0 != 0
    }
}

impl PartialEq for Truth {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl PartialOrd for Truth {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.value().partial_cmp(&other.value())
    }
}

impl Sample for Truth {
    const NAN: Self = Truth(0);
    const INFINITY: Self = Truth(1);
    const NEG_INFINITY: Self = Truth(0);
    const DTYPE: [u8; 4] = *b"|b1\0";
    const SIZE: usize = 1;

    fn to_f64(self) -> f64 {
        f64::from(u8::from(self.value()))
    }
    fn is_nan(self) -> bool {
        false
    }
    fn to_bits_u64(self) -> u64 {
        u64::from(self.0)
    }
    fn swapped(self) -> Self {
        self
    }
}

/// The `i64` count of a datetime64 or timedelta64, whose smallest value is NaT: it behaves
/// as NaN does, comparing false with everything, itself included.
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct Count(pub i64);

impl Count {
    /// NumPy's Not a Time.
    pub const NAT: Count = Count(i64::MIN);

    fn get(self) -> Option<i64> {
        (self.0 != i64::MIN).then_some(self.0)
    }
}

impl PartialEq for Count {
    fn eq(&self, other: &Self) -> bool {
        matches!((self.get(), other.get()), (Some(a), Some(b)) if a == b)
    }
}

impl PartialOrd for Count {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.get()?.cmp(&other.get()?))
    }
}

impl Sample for Count {
    const NAN: Self = Count::NAT;
    const INFINITY: Self = Count(i64::MAX);
    // The least count that is not NaT.
    const NEG_INFINITY: Self = Count(i64::MIN + 1);
    const DTYPE: [u8; 4] = *b"<m8\0";
    const SIZE: usize = 8;

    fn to_f64(self) -> f64 {
        self.get().map_or(f64::NAN, |v| v as f64)
    }
    fn is_nan(self) -> bool {
        self.get().is_none()
    }
    fn to_bits_u64(self) -> u64 {
        self.0 as u64
    }
    fn swapped(self) -> Self {
        Count(self.0.swap_bytes())
    }
}
