//! The element types a [`Pyramid`](super::Pyramid) stores natively, and the NaN-ignoring
//! comparisons every part of the module shares.

/// A sample type the pyramid stores natively (exactly): block extremes are kept as `Self`,
/// never rounded through another type.
///
/// Comparisons use `PartialOrd`, so NaN compares false with everything (which is what
/// makes the min/max kernels skip it) and `-0.0 == 0.0`.
pub trait Sample: Copy + PartialOrd + bytemuck::Pod + Send + Sync + 'static {
    /// The quiet NaN stored for a block whose samples are all NaN.
    const NAN: Self;
    /// Positive infinity: the start value of a running minimum.
    const INFINITY: Self;
    /// Negative infinity: the start value of a running maximum.
    const NEG_INFINITY: Self;
    /// The NumPy type string of the little-endian encoding, padded to four bytes with NUL,
    /// written into serialized pyramids so an `f4` cache is never read as `f8`.
    const DTYPE: [u8; 4];
    /// Bytes of one encoded sample.
    const SIZE: usize;

    /// The value as `f64` (exact for `f32` and `f64`).
    fn to_f64(self) -> f64;
    /// Whether the value is a NaN.
    fn is_nan(self) -> bool;
    /// The raw bits, widened to 64, for bit-exact comparisons (a NaN keeps its payload).
    fn to_bits_u64(self) -> u64;
    /// Appends the little-endian encoding to `out`.
    fn write_le(self, out: &mut Vec<u8>);
    /// Decodes exactly [`Self::SIZE`](Sample::SIZE) little-endian bytes; `None` for another
    /// length.
    fn read_le(bytes: &[u8]) -> Option<Self>;
}

impl Sample for f32 {
    const NAN: Self = f32::NAN;
    const INFINITY: Self = f32::INFINITY;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
    const DTYPE: [u8; 4] = *b"<f4\0";
    const SIZE: usize = 4;

    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    fn to_bits_u64(self) -> u64 {
        u64::from(self.to_bits())
    }
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(f32::from_le_bytes)
    }
}

impl Sample for f64 {
    const NAN: Self = f64::NAN;
    const INFINITY: Self = f64::INFINITY;
    const NEG_INFINITY: Self = f64::NEG_INFINITY;
    const DTYPE: [u8; 4] = *b"<f8\0";
    const SIZE: usize = 8;

    fn to_f64(self) -> f64 {
        self
    }
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
    fn to_bits_u64(self) -> u64 {
        self.to_bits()
    }
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(f64::from_le_bytes)
    }
}
