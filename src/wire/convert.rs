//! Bulk conversion between scalar dtypes, and reordering Fortran-order data into C order.
//!
//! Conversions are decided once per call: the `(from, to)` pair is matched to a plan, and the
//! plan runs a loop monomorphized for that exact pair of element types, with no per-element
//! dispatch. The loop works in blocks: a block of source bytes is copied into an aligned
//! native buffer (so misaligned input costs one memcpy, never a fault), byte-swapped in place
//! if the source order is foreign, cast element by element, swapped again if the target order
//! is foreign, and copied out. Each of those steps is a straight loop over a slice of one type,
//! which the compiler vectorizes. Same type and same order is a single memcpy; same type in
//! the other order is one pass that reverses each unit.
//!
//! Casting follows Rust's `as`: integers wrap, floats to integers round toward zero and
//! saturate at the target's range, and NaN becomes 0 (NumPy leaves those cases undefined and
//! in practice yields platform-specific garbage). Conversion to bool is `!= 0` (so NaN is
//! true, as in NumPy). `f2` goes through `half`, rounding to nearest.
//!
//! Supported pairs ([`can_convert`]): among bool, `i1`–`i8`, `u1`–`u8`, `f2`/`f4`/`f8` in any
//! byte order; `M8`/`m8` as sources of those (their raw `i64` count); any scalar to itself in
//! another byte order (`S`/`V` unchanged, `U` swaps each 4-byte code unit, long doubles swap
//! as a whole, complex numbers per component); `c8` ↔ `c16`.

use half::f16;
use num_traits::{AsPrimitive, One, Zero};

use super::dtype::{ByteOrder, ScalarKind, ScalarType};
use super::WireError;

/// Elements per block of the conversion loop; 256 × 8 bytes keeps both buffers in L1.
const BLOCK: usize = 256;
/// NumPy's NaT: the smallest `i64`.
pub const NAT: i64 = i64::MIN;

/// Convert `src` (elements of `from`) into a new buffer of `to` elements.
///
/// # Errors
/// [`WireError::UnsupportedConversion`] for a pair [`can_convert`] refuses,
/// [`WireError::RaggedBuffer`] if `src` is not a whole number of elements.
pub fn convert(src: &[u8], from: &ScalarType, to: &ScalarType) -> Result<Vec<u8>, WireError> {
    let plan = Plan::new(from, to)?;
    let count = element_count(src, from)?;
    let len = count
        .checked_mul(to.size)
        .ok_or(WireError::LengthMismatch {
            expected: u64::MAX,
            found: src.len(),
        })?;
    let mut dst = vec![0u8; len];
    plan.run(src, &mut dst);
    Ok(dst)
}

/// Same into a caller-provided buffer of exactly count × `to.size` bytes.
///
/// # Errors
/// As [`convert`], plus [`WireError::LengthMismatch`] if `dst` has the wrong length.
pub fn convert_into(
    src: &[u8],
    from: &ScalarType,
    to: &ScalarType,
    dst: &mut [u8],
) -> Result<(), WireError> {
    let plan = Plan::new(from, to)?;
    let count = element_count(src, from)?;
    let expected = (count as u64).saturating_mul(to.size as u64);
    if dst.len() as u64 != expected {
        return Err(WireError::LengthMismatch {
            expected,
            found: dst.len(),
        });
    }
    plan.run(src, dst);
    Ok(())
}

/// Reorder a Fortran-order (column-major) buffer of `shape` into C order. The caller
/// guarantees `data` holds product(shape) × `itemsize` bytes (a stored array's data does).
pub fn fortran_to_c(data: &[u8], shape: &[u64], itemsize: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for element in fortran_elements(data, shape, itemsize) {
        out.extend_from_slice(element);
    }
    out
}

/// The elements of a Fortran-order buffer of `shape`, in C order, each `itemsize` bytes of
/// `data`: a reordering that needs no second buffer. Requires what [`fortran_to_c`] does.
pub fn fortran_elements<'a>(
    data: &'a [u8],
    shape: &[u64],
    itemsize: usize,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    // The data length bounds the product, so none of this overflows.
    let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    let count: usize = if dims.contains(&0) {
        0
    } else {
        dims.iter().product()
    };
    // Fortran strides (in elements): the first axis varies fastest.
    let mut f_strides = vec![1usize; dims.len()];
    for axis in 1..dims.len() {
        f_strides[axis] = f_strides[axis - 1] * dims[axis - 1];
    }
    let mut index = vec![0usize; dims.len()];
    (0..count).map(move |_| {
        let f_pos: usize = index.iter().zip(&f_strides).map(|(i, s)| i * s).sum();
        // Advance the C-order multi-index (last axis fastest).
        for axis in (0..dims.len()).rev() {
            index[axis] += 1;
            if index[axis] < dims[axis] {
                break;
            }
            index[axis] = 0;
        }
        &data[f_pos * itemsize..(f_pos + 1) * itemsize]
    })
}

/// Whether [`convert`] supports this pair.
pub fn can_convert(from: &ScalarType, to: &ScalarType) -> bool {
    Plan::new(from, to).is_ok()
}

/// Decode any numeric scalar array into `f64` values: bool as 0/1, integers and floats by
/// value, datetimes and timedeltas as their `i64` count with NaT as NaN.
///
/// # Errors
/// [`WireError::UnsupportedConversion`] for non-numeric types (see
/// [`ScalarType::is_numeric`]), [`WireError::RaggedBuffer`] for a partial element.
pub fn to_f64_vec(src: &[u8], from: &ScalarType) -> Result<Vec<f64>, WireError> {
    let target = ScalarType::f64_native();
    if !from.is_numeric() {
        return Err(unsupported(from, &target));
    }
    let count = element_count(src, from)?;
    if matches!(from.kind, ScalarKind::DateTime | ScalarKind::TimeDelta) {
        let mut counts = vec![0i64; count];
        let native_i64 = ScalarType::i64_le().with_order(ByteOrder::NATIVE);
        convert_into(
            src,
            from,
            &native_i64,
            bytemuck::cast_slice_mut(&mut counts),
        )?;
        return Ok(counts
            .into_iter()
            .map(|v| if v == NAT { f64::NAN } else { v as f64 })
            .collect());
    }
    let mut values = vec![0f64; count];
    convert_into(src, from, &target, bytemuck::cast_slice_mut(&mut values))?;
    Ok(values)
}

fn element_count(src: &[u8], from: &ScalarType) -> Result<usize, WireError> {
    if from.size == 0 {
        return if src.is_empty() {
            Ok(0)
        } else {
            Err(WireError::RaggedBuffer {
                len: src.len(),
                itemsize: 0,
            })
        };
    }
    if !src.len().is_multiple_of(from.size) {
        return Err(WireError::RaggedBuffer {
            len: src.len(),
            itemsize: from.size,
        });
    }
    Ok(src.len() / from.size)
}

fn unsupported(from: &ScalarType, to: &ScalarType) -> WireError {
    WireError::UnsupportedConversion {
        from: from.descr(),
        to: to.descr(),
    }
}

/// Whether the bytes of `t` are in the opposite order to this machine's.
fn is_foreign(t: &ScalarType) -> bool {
    t.order_matters() && t.order != ByteOrder::NotApplicable && t.order != ByteOrder::NATIVE
}

/// The element types the numeric loops are instantiated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F16,
    F32,
    F64,
}

impl Lane {
    /// The lane a numeric type is read as; datetimes read as their `i64` count.
    fn of_source(t: &ScalarType) -> Option<Lane> {
        match (t.kind, t.size) {
            (ScalarKind::DateTime | ScalarKind::TimeDelta, 8) => Some(Lane::I64),
            _ => Lane::of_target(t),
        }
    }

    /// The lane a numeric type is written as; datetimes are not numeric targets.
    fn of_target(t: &ScalarType) -> Option<Lane> {
        Some(match (t.kind, t.size) {
            (ScalarKind::Bool, 1) => Lane::Bool,
            (ScalarKind::Int, 1) => Lane::I8,
            (ScalarKind::Int, 2) => Lane::I16,
            (ScalarKind::Int, 4) => Lane::I32,
            (ScalarKind::Int, 8) => Lane::I64,
            (ScalarKind::UInt, 1) => Lane::U8,
            (ScalarKind::UInt, 2) => Lane::U16,
            (ScalarKind::UInt, 4) => Lane::U32,
            (ScalarKind::UInt, 8) => Lane::U64,
            (ScalarKind::Float, 2) => Lane::F16,
            (ScalarKind::Float, 4) => Lane::F32,
            (ScalarKind::Float, 8) => Lane::F64,
            _ => return None,
        })
    }

    /// The component lane of `c8`/`c16`.
    fn of_complex(t: &ScalarType) -> Option<Lane> {
        match (t.kind, t.size) {
            (ScalarKind::Complex, 8) => Some(Lane::F32),
            (ScalarKind::Complex, 16) => Some(Lane::F64),
            _ => None,
        }
    }
}

/// What one call of [`convert_into`] does, decided before touching the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Same bytes out as in.
    Copy,
    /// Reverse every `unit`-byte group.
    Swap { unit: usize },
    /// Cast lane to lane, swapping on the way in and out as the orders demand.
    Cast {
        from: Lane,
        to: Lane,
        swap_in: bool,
        swap_out: bool,
    },
}

impl Plan {
    fn new(from: &ScalarType, to: &ScalarType) -> Result<Plan, WireError> {
        let swap_in = is_foreign(from);
        let swap_out = is_foreign(to);
        if from.same_type_as(to) {
            let unit = match from.kind {
                ScalarKind::Bool | ScalarKind::Bytes | ScalarKind::Void => 1,
                ScalarKind::Unicode => 4,
                ScalarKind::Complex => from.size / 2,
                _ => from.size,
            };
            return Ok(if swap_in == swap_out || unit <= 1 {
                Plan::Copy
            } else {
                Plan::Swap { unit }
            });
        }
        let lanes = match (Lane::of_source(from), Lane::of_target(to)) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => Lane::of_complex(from).zip(Lane::of_complex(to)),
        };
        match lanes {
            Some((from, to)) => Ok(Plan::Cast {
                from,
                to,
                swap_in,
                swap_out,
            }),
            None => Err(unsupported(from, to)),
        }
    }

    /// `src` and `dst` hold the same number of elements (checked by the callers).
    fn run(self, src: &[u8], dst: &mut [u8]) {
        match self {
            Plan::Copy => dst.copy_from_slice(src),
            Plan::Swap { unit } => {
                dst.copy_from_slice(src);
                match unit {
                    2 => reverse_units::<2>(dst),
                    4 => reverse_units::<4>(dst),
                    8 => reverse_units::<8>(dst),
                    16 => reverse_units::<16>(dst),
                    _ => dst.chunks_exact_mut(unit).for_each(<[u8]>::reverse),
                }
            }
            Plan::Cast {
                from,
                to,
                swap_in,
                swap_out,
            } => {
                let io = Io {
                    src,
                    dst,
                    swap_in,
                    swap_out,
                    truthy: from == Lane::Bool,
                };
                match from {
                    Lane::Bool | Lane::U8 => cast_from::<u8>(to, io),
                    Lane::I8 => cast_from::<i8>(to, io),
                    Lane::I16 => cast_from::<i16>(to, io),
                    Lane::I32 => cast_from::<i32>(to, io),
                    Lane::I64 => cast_from::<i64>(to, io),
                    Lane::U16 => cast_from::<u16>(to, io),
                    Lane::U32 => cast_from::<u32>(to, io),
                    Lane::U64 => cast_from::<u64>(to, io),
                    Lane::F16 => cast_from::<f16>(to, io),
                    Lane::F32 => cast_from::<f32>(to, io),
                    Lane::F64 => cast_from::<f64>(to, io),
                }
            }
        }
    }
}

/// A constant unit size lets the compiler turn each reverse into a byte-swap instruction.
fn reverse_units<const N: usize>(buf: &mut [u8]) {
    for unit in buf.chunks_exact_mut(N) {
        unit.reverse();
    }
}

/// The buffers and byte-order decisions of one cast.
struct Io<'a> {
    src: &'a [u8],
    dst: &'a mut [u8],
    swap_in: bool,
    swap_out: bool,
    /// The source is `bool`, read as `u8`: any nonzero byte is true, so it casts as 1.
    truthy: bool,
}

/// Plain-old-data storage for a lane, with its byte swap and the `0`/`1` a bool reads as.
trait Elem: bytemuck::Pod + PartialEq + Zero + One {
    fn swapped(self) -> Self;
}

macro_rules! elem_int {
    ($($t:ty),*) => {$(
        impl Elem for $t {
            #[inline(always)]
            fn swapped(self) -> Self {
                self.swap_bytes()
            }
        }
    )*};
}
elem_int!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! elem_float {
    ($($t:ty),*) => {$(
        impl Elem for $t {
            #[inline(always)]
            fn swapped(self) -> Self {
                <$t>::from_bits(self.to_bits().swap_bytes())
            }
        }
    )*};
}
elem_float!(f16, f32, f64);

/// A source lane: `as` into every numeric lane (num-traits' `AsPrimitive`, with half's
/// impls for `f16`), and `!= 0` into bool.
trait Source:
    Elem
    + AsPrimitive<i8>
    + AsPrimitive<i16>
    + AsPrimitive<i32>
    + AsPrimitive<i64>
    + AsPrimitive<u8>
    + AsPrimitive<u16>
    + AsPrimitive<u32>
    + AsPrimitive<u64>
    + AsPrimitive<f16>
    + AsPrimitive<f32>
    + AsPrimitive<f64>
{
}

impl<T> Source for T where
    T: Elem
        + AsPrimitive<i8>
        + AsPrimitive<i16>
        + AsPrimitive<i32>
        + AsPrimitive<i64>
        + AsPrimitive<u8>
        + AsPrimitive<u16>
        + AsPrimitive<u32>
        + AsPrimitive<u64>
        + AsPrimitive<f16>
        + AsPrimitive<f32>
        + AsPrimitive<f64>
{
}

fn cast_from<S: Source>(to: Lane, io: Io<'_>) {
    match to {
        // Stored as a byte: NaN is nonzero, so true, as in NumPy.
        Lane::Bool => cast_blocks::<S, u8>(io, |v| u8::from(v != S::zero())),
        Lane::I8 => cast_blocks::<S, i8>(io, S::as_),
        Lane::I16 => cast_blocks::<S, i16>(io, S::as_),
        Lane::I32 => cast_blocks::<S, i32>(io, S::as_),
        Lane::I64 => cast_blocks::<S, i64>(io, S::as_),
        Lane::U8 => cast_blocks::<S, u8>(io, S::as_),
        Lane::U16 => cast_blocks::<S, u16>(io, S::as_),
        Lane::U32 => cast_blocks::<S, u32>(io, S::as_),
        Lane::U64 => cast_blocks::<S, u64>(io, S::as_),
        Lane::F16 => cast_blocks::<S, f16>(io, S::as_),
        Lane::F32 => cast_blocks::<S, f32>(io, S::as_),
        Lane::F64 => cast_blocks::<S, f64>(io, S::as_),
    }
}

/// The hot loop for one pair. `io.src` holds whole `S` elements and `io.dst` room for the
/// same number of `D` elements.
fn cast_blocks<S: Elem, D: Elem>(io: Io<'_>, cast: impl Fn(S) -> D) {
    let src_size = std::mem::size_of::<S>();
    let dst_size = std::mem::size_of::<D>();
    let mut src_block = [S::zeroed(); BLOCK];
    let mut dst_block = [D::zeroed(); BLOCK];
    let src_chunks = io.src.chunks(BLOCK * src_size);
    let dst_chunks = io.dst.chunks_mut(BLOCK * dst_size);
    for (src_bytes, dst_bytes) in src_chunks.zip(dst_chunks) {
        let count = src_bytes.len() / src_size;
        let src_values = &mut src_block[..count];
        let dst_values = &mut dst_block[..count];
        bytemuck::cast_slice_mut::<S, u8>(src_values).copy_from_slice(src_bytes);
        if io.swap_in {
            for value in src_values.iter_mut() {
                *value = value.swapped();
            }
        }
        if io.truthy {
            for value in src_values.iter_mut() {
                if *value != S::zero() {
                    *value = S::one();
                }
            }
        }
        for (out, &value) in dst_values.iter_mut().zip(src_values.iter()) {
            *out = cast(value);
        }
        if io.swap_out {
            for value in dst_values.iter_mut() {
                *value = value.swapped();
            }
        }
        dst_bytes.copy_from_slice(bytemuck::cast_slice::<D, u8>(dst_values));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::dtype::TimeUnit;

    /// Every numeric type in both orders, as convert() sources and targets.
    fn numeric_types() -> Vec<ScalarType> {
        let mut types = Vec::new();
        for descr in [
            "|b1", "|i1", "|u1", "i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8",
        ] {
            for order in ["<", ">"] {
                let spelled = if descr.starts_with('|') {
                    descr.to_string()
                } else {
                    format!("{order}{descr}")
                };
                let t = ScalarType::parse(&spelled).expect("valid");
                if !types.contains(&t) {
                    types.push(t);
                }
            }
        }
        types
    }

    fn time_types() -> Vec<ScalarType> {
        ["<M8[ns]", ">M8[ns]", "<m8[s]", ">m8[s]", "<M8[D]"]
            .iter()
            .map(|d| ScalarType::parse(d).expect("valid"))
            .collect()
    }

    fn other_types() -> Vec<ScalarType> {
        [
            "<c8", ">c8", "<c16", ">c16", "<c32", ">c32", "<f16", ">f16", "|S3", "<U2", ">U2",
            "|V4",
        ]
        .iter()
        .map(|d| ScalarType::parse(d).expect("valid"))
        .collect()
    }

    /// A value as the reference sees it: exact integers, exact floats, or a bool.
    #[derive(Debug, Clone, Copy)]
    enum Ref {
        Int(i128),
        Float(f64),
        Bool(bool),
    }

    fn ordered<const N: usize>(mut bytes: [u8; N], t: &ScalarType) -> Vec<u8> {
        if t.order == ByteOrder::Big {
            bytes.reverse();
        }
        bytes.to_vec()
    }

    fn unordered<const N: usize>(bytes: &[u8], t: &ScalarType) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        if t.order == ByteOrder::Big {
            out.reverse();
        }
        out
    }

    /// Encode with Rust's `as` directly on primitives, independent of the module's loops.
    fn encode(value: Ref, t: &ScalarType) -> Vec<u8> {
        macro_rules! to {
            ($ty:ty) => {{
                let v: $ty = match value {
                    Ref::Int(i) => i as $ty,
                    Ref::Float(f) => f as $ty,
                    Ref::Bool(b) => u8::from(b) as $ty,
                };
                ordered(v.to_le_bytes(), t)
            }};
        }
        match (t.kind, t.size) {
            (ScalarKind::Bool, _) => vec![u8::from(match value {
                Ref::Int(i) => i != 0,
                Ref::Float(f) => f != 0.0,
                Ref::Bool(b) => b,
            })],
            (ScalarKind::Int, 1) => to!(i8),
            (ScalarKind::Int, 2) => to!(i16),
            (ScalarKind::Int, 4) => to!(i32),
            (ScalarKind::Int | ScalarKind::DateTime | ScalarKind::TimeDelta, 8) => to!(i64),
            (ScalarKind::UInt, 1) => to!(u8),
            (ScalarKind::UInt, 2) => to!(u16),
            (ScalarKind::UInt, 4) => to!(u32),
            (ScalarKind::UInt, 8) => to!(u64),
            (ScalarKind::Float, 2) => {
                let v = match value {
                    Ref::Int(i) => f16::from_f64(i as f64),
                    Ref::Float(f) => f16::from_f64(f),
                    Ref::Bool(b) => f16::from_f64(f64::from(u8::from(b))),
                };
                ordered(v.to_le_bytes(), t)
            }
            (ScalarKind::Float, 4) => to!(f32),
            (ScalarKind::Float, 8) => to!(f64),
            _ => panic!("no reference encoding for {}", t.descr()),
        }
    }

    fn decode(bytes: &[u8], t: &ScalarType) -> Ref {
        match (t.kind, t.size) {
            (ScalarKind::Bool, _) => Ref::Bool(bytes[0] != 0),
            (ScalarKind::Int, 1) => Ref::Int(i128::from(bytes[0] as i8)),
            (ScalarKind::Int, 2) => Ref::Int(i16::from_le_bytes(unordered(bytes, t)).into()),
            (ScalarKind::Int, 4) => Ref::Int(i32::from_le_bytes(unordered(bytes, t)).into()),
            (ScalarKind::Int | ScalarKind::DateTime | ScalarKind::TimeDelta, 8) => {
                Ref::Int(i64::from_le_bytes(unordered(bytes, t)).into())
            }
            (ScalarKind::UInt, 1) => Ref::Int(bytes[0].into()),
            (ScalarKind::UInt, 2) => Ref::Int(u16::from_le_bytes(unordered(bytes, t)).into()),
            (ScalarKind::UInt, 4) => Ref::Int(u32::from_le_bytes(unordered(bytes, t)).into()),
            (ScalarKind::UInt, 8) => Ref::Int(u64::from_le_bytes(unordered(bytes, t)).into()),
            (ScalarKind::Float, 2) => Ref::Float(f16::from_le_bytes(unordered(bytes, t)).to_f64()),
            (ScalarKind::Float, 4) => Ref::Float(f32::from_le_bytes(unordered(bytes, t)).into()),
            (ScalarKind::Float, 8) => Ref::Float(f64::from_le_bytes(unordered(bytes, t))),
            _ => panic!("no reference decoding for {}", t.descr()),
        }
    }

    fn same(a: Ref, b: Ref) -> bool {
        match (a, b) {
            (Ref::Int(x), Ref::Int(y)) => x == y,
            (Ref::Bool(x), Ref::Bool(y)) => x == y,
            (Ref::Float(x), Ref::Float(y)) => {
                (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
            }
            _ => false,
        }
    }

    fn seeds() -> Vec<Ref> {
        let mut seeds: Vec<Ref> = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            2.5,
            -2.5,
            127.0,
            128.0,
            -129.0,
            255.0,
            256.0,
            65504.0,
            70000.0,
            3e9,
            -1e10,
            1e19,
            1e30,
            -1e30,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]
        .into_iter()
        .map(Ref::Float)
        .collect();
        seeds.extend(
            [
                i128::from(i64::MIN),
                i128::from(i64::MAX),
                i128::from(u64::MAX),
                123_456_789,
                -40_000,
                300,
            ]
            .map(Ref::Int),
        );
        seeds.extend([Ref::Bool(true), Ref::Bool(false)]);
        seeds
    }

    fn sample(t: &ScalarType, repeat: usize) -> Vec<u8> {
        let seeds = seeds();
        (0..repeat)
            .flat_map(|_| seeds.iter().flat_map(|&s| encode(s, t)))
            .collect()
    }

    #[test]
    fn fortran_reorders_to_c() {
        // np.arange(6).reshape(2, 3, order='F') holds 0..6 column-major: C order is 0 2 4 1 3 5.
        let data: Vec<u8> = (0u8..6).collect();
        assert_eq!(fortran_to_c(&data, &[2, 3], 1), vec![0, 2, 4, 1, 3, 5]);
        assert_eq!(fortran_to_c(&data, &[2, 0], 1), Vec::<u8>::new());
    }

    #[test]
    fn numeric_pairs_match_reference() {
        let sources: Vec<ScalarType> = numeric_types().into_iter().chain(time_types()).collect();
        let mut pairs = 0;
        for from in &sources {
            // Longer than one block, so the chunking is exercised too.
            let src = sample(from, 20);
            for to in &numeric_types() {
                let out = convert(&src, from, to)
                    .unwrap_or_else(|e| panic!("{} -> {}: {e}", from.descr(), to.descr()));
                assert_eq!(out.len(), src.len() / from.size * to.size);
                for (i, (s, o)) in src
                    .chunks_exact(from.size)
                    .zip(out.chunks_exact(to.size))
                    .enumerate()
                {
                    let expected = decode(&encode(decode(s, from), to), to);
                    assert!(
                        same(decode(o, to), expected),
                        "{} -> {} element {i}: {:?} gave {:?}, expected {:?}",
                        from.descr(),
                        to.descr(),
                        decode(s, from),
                        decode(o, to),
                        expected
                    );
                }
                pairs += 1;
            }
        }
        assert_eq!(pairs, 26 * 21);
    }

    #[test]
    fn misaligned_buffers_convert_the_same() {
        for from in numeric_types() {
            let src = sample(&from, 3);
            for to in numeric_types() {
                let aligned = convert(&src, &from, &to).expect("supported");
                let mut shifted = vec![0u8; src.len() + 1];
                shifted[1..].copy_from_slice(&src);
                let mut out = vec![0u8; aligned.len() + 1];
                convert_into(&shifted[1..], &from, &to, &mut out[1..]).expect("supported");
                assert_eq!(
                    &out[1..],
                    &aligned[..],
                    "{} -> {}",
                    from.descr(),
                    to.descr()
                );
            }
        }
    }

    #[test]
    fn complex_pairs() {
        let values = [(1.5f64, -2.0f64), (f64::NAN, f64::INFINITY), (1e40, 0.1)];
        let c16: Vec<u8> = values
            .iter()
            .flat_map(|&(re, im)| [re.to_le_bytes(), im.to_le_bytes()].concat())
            .collect();
        let c16_le = ScalarType::c128_le();
        let c8_be = ScalarType::parse(">c8").expect("valid");
        let narrowed = convert(&c16, &c16_le, &c8_be).expect("supported");
        let expected: Vec<u8> = values
            .iter()
            .flat_map(|&(re, im)| [(re as f32).to_be_bytes(), (im as f32).to_be_bytes()].concat())
            .collect();
        assert_eq!(narrowed, expected);
        let widened = convert(&narrowed, &c8_be, &c16_le).expect("supported");
        let back: Vec<f64> = widened
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(unordered(c, &c16_le)))
            .collect();
        assert_eq!(back[0], 1.5);
        assert_eq!(back[1], -2.0);
        assert!(back[2].is_nan());
        assert_eq!(back[4], f64::INFINITY);
    }

    #[test]
    fn byte_order_round_trips_for_every_type() {
        let all: Vec<ScalarType> = numeric_types()
            .into_iter()
            .chain(time_types())
            .chain(other_types())
            .collect();
        for t in all {
            let le = t.clone().with_order(ByteOrder::Little);
            let be = t.clone().with_order(ByteOrder::Big);
            let src: Vec<u8> = (0..le.size * 37).map(|i| (i * 31 + 7) as u8).collect();
            let swapped = convert(&src, &le, &be).expect("same type");
            let back = convert(&swapped, &be, &le).expect("same type");
            assert_eq!(back, src, "{}", t.descr());
            let unit = match t.kind {
                ScalarKind::Bool | ScalarKind::Bytes | ScalarKind::Void => 1,
                ScalarKind::Unicode => 4,
                ScalarKind::Complex => t.size / 2,
                _ => t.size,
            };
            let manual: Vec<u8> = src
                .chunks_exact(unit)
                .flat_map(|c| c.iter().rev().copied())
                .collect();
            assert_eq!(swapped, manual, "{}", t.descr());
            assert_eq!(convert(&src, &le, &le).as_ref(), Ok(&src), "{}", t.descr());
        }
    }

    #[test]
    fn unsupported_pairs_are_refused() {
        let numeric = numeric_types();
        let times = time_types();
        let others = other_types();
        for from in numeric.iter().chain(&times).chain(&others) {
            for to in numeric.iter().chain(&times).chain(&others) {
                let expected = from.same_type_as(to)
                    || (from.is_numeric()
                        && to.is_numeric()
                        && !matches!(to.kind, ScalarKind::DateTime | ScalarKind::TimeDelta))
                    || (matches!(from.size, 8 | 16)
                        && matches!(to.size, 8 | 16)
                        && from.kind == ScalarKind::Complex
                        && to.kind == ScalarKind::Complex);
                assert_eq!(
                    can_convert(from, to),
                    expected,
                    "{} -> {}",
                    from.descr(),
                    to.descr()
                );
                let result = convert(&[], from, to);
                if expected {
                    assert_eq!(result, Ok(vec![]));
                } else {
                    assert_eq!(
                        result,
                        Err(WireError::UnsupportedConversion {
                            from: from.descr(),
                            to: to.descr()
                        })
                    );
                }
            }
        }
        let ns = ScalarType::datetime_le(TimeUnit::Nano);
        let us = ScalarType::datetime_le(TimeUnit::Micro);
        assert!(!can_convert(&ns, &us));
        assert!(!can_convert(&ScalarType::f64_le(), &ns));
        assert!(can_convert(&ns, &ScalarType::f64_le()));
    }

    #[test]
    fn length_errors() {
        let f4 = ScalarType::f32_le();
        let f8 = ScalarType::f64_le();
        assert_eq!(
            convert(&[0; 7], &f4, &f8),
            Err(WireError::RaggedBuffer {
                len: 7,
                itemsize: 4
            })
        );
        let mut dst = [0u8; 15];
        assert_eq!(
            convert_into(&[0; 8], &f4, &f8, &mut dst),
            Err(WireError::LengthMismatch {
                expected: 16,
                found: 15
            })
        );
        let s0 = ScalarType::bytes(0);
        assert_eq!(convert(&[], &s0, &s0), Ok(vec![]));
        assert!(convert(&[1], &s0, &s0).is_err());
    }

    #[test]
    fn f64_vectors() {
        let i2_be = ScalarType::parse(">i2").expect("valid");
        assert_eq!(to_f64_vec(&[0xff, 0xfe, 0, 3], &i2_be), Ok(vec![-2.0, 3.0]));
        assert_eq!(
            to_f64_vec(&[0, 1, 2], &ScalarType::bool()),
            Ok(vec![0.0, 1.0, 1.0])
        );
        let f2 = ScalarType::f16_le();
        assert_eq!(
            to_f64_vec(&f16::from_f32(1.5).to_le_bytes(), &f2),
            Ok(vec![1.5])
        );
        let ns = ScalarType::datetime_le(TimeUnit::Nano);
        let mut times = 5i64.to_le_bytes().to_vec();
        times.extend_from_slice(&NAT.to_le_bytes());
        let decoded = to_f64_vec(&times, &ns).expect("numeric");
        assert_eq!(decoded[0], 5.0);
        assert!(decoded[1].is_nan());
        assert!(matches!(
            to_f64_vec(&[0; 8], &ScalarType::c64_le()),
            Err(WireError::UnsupportedConversion { .. })
        ));
        assert!(to_f64_vec(&[0; 3], &ScalarType::bytes(3)).is_err());
        // Misaligned input.
        let values: Vec<u8> = [1.25f64, -3.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut shifted = [0u8; 17];
        shifted[1..].copy_from_slice(&values);
        assert_eq!(
            to_f64_vec(&shifted[1..], &ScalarType::f64_le()),
            Ok(vec![1.25, -3.0])
        );
    }
}
