//! Bulk conversion between scalar dtypes, and text previews of array elements.
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

use super::dtype::{ByteOrder, DType, ScalarKind, ScalarType, TimeUnit};
use super::pyliteral::repr_str;
use super::WireError;

/// Elements per block of the conversion loop; 256 × 8 bytes keeps both buffers in L1.
const BLOCK: usize = 256;
/// Longest text shown for one string value in a preview, in characters.
const MAX_TEXT_PREVIEW: usize = 256;
/// Most subarray elements shown for one record field in a preview.
const MAX_SUBARRAY_PREVIEW: usize = 64;
/// NumPy's NaT: the smallest `i64`.
const NAT: i64 = i64::MIN;
const SECONDS_PER_DAY: i128 = 86_400;

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
    let target = ScalarType::f8_native();
    if !from.is_numeric() {
        return Err(unsupported(from, &target));
    }
    let count = element_count(src, from)?;
    if matches!(from.kind, ScalarKind::DateTime | ScalarKind::TimeDelta) {
        let mut counts = vec![0i64; count];
        let native_i8 = ScalarType::i8_le().with_order(ByteOrder::NATIVE);
        convert_into(src, from, &native_i8, bytemuck::cast_slice_mut(&mut counts))?;
        return Ok(counts
            .into_iter()
            .map(|v| if v == NAT { f64::NAN } else { v as f64 })
            .collect());
    }
    let mut values = vec![0f64; count];
    convert_into(src, from, &target, bytemuck::cast_slice_mut(&mut values))?;
    Ok(values)
}

/// Format the first `limit` elements as NumPy-like text for a preview (any dtype, records
/// included). Bytes past the last whole element are ignored; zero-size dtypes give nothing.
pub fn format_elements(data: &[u8], dtype: &DType, limit: usize) -> Vec<String> {
    let itemsize = dtype.itemsize();
    if itemsize == 0 {
        return Vec::new();
    }
    data.chunks_exact(itemsize)
        .take(limit)
        .map(|element| format_value(element, dtype))
        .collect()
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
                };
                match from {
                    Lane::Bool => cast_from::<bool>(to, io),
                    Lane::I8 => cast_from::<i8>(to, io),
                    Lane::I16 => cast_from::<i16>(to, io),
                    Lane::I32 => cast_from::<i32>(to, io),
                    Lane::I64 => cast_from::<i64>(to, io),
                    Lane::U8 => cast_from::<u8>(to, io),
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
}

/// Plain-old-data storage for a lane, with its byte swap.
trait Elem: bytemuck::Pod {
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

impl Elem for f16 {
    #[inline(always)]
    fn swapped(self) -> Self {
        f16::from_bits(self.to_bits().swap_bytes())
    }
}

impl Elem for f32 {
    #[inline(always)]
    fn swapped(self) -> Self {
        f32::from_bits(self.to_bits().swap_bytes())
    }
}

impl Elem for f64 {
    #[inline(always)]
    fn swapped(self) -> Self {
        f64::from_bits(self.to_bits().swap_bytes())
    }
}

/// A value type of the cast loop and how it is stored (`bool` is stored as a `u8`, because
/// not every byte is a valid `bool`).
trait Value: Copy {
    type Store: Elem;
    fn load(stored: Self::Store) -> Self;
    fn store(self) -> Self::Store;
}

impl Value for bool {
    type Store = u8;
    #[inline(always)]
    fn load(stored: u8) -> bool {
        stored != 0
    }
    #[inline(always)]
    fn store(self) -> u8 {
        u8::from(self)
    }
}

macro_rules! value_identity {
    ($($t:ty),*) => {$(
        impl Value for $t {
            type Store = $t;
            #[inline(always)]
            fn load(stored: $t) -> $t {
                stored
            }
            #[inline(always)]
            fn store(self) -> $t {
                self
            }
        }
    )*};
}
value_identity!(i8, i16, i32, i64, u8, u16, u32, u64, f16, f32, f64);

/// The element cast of one (from, to) pair.
trait CastTo<D> {
    fn cast(self) -> D;
}

macro_rules! cast_as {
    ($($s:ty),*) => {$(
        cast_as!(@to $s; i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);
    )*};
    (@to $s:ty; $($d:ty),*) => {$(
        #[allow(clippy::unnecessary_cast)]
        impl CastTo<$d> for $s {
            #[inline(always)]
            fn cast(self) -> $d {
                self as $d
            }
        }
    )*};
}
cast_as!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

macro_rules! cast_bool {
    ($($t:ty),*) => {$(
        impl CastTo<$t> for bool {
            #[inline(always)]
            fn cast(self) -> $t {
                <$t>::from(u8::from(self))
            }
        }
        impl CastTo<bool> for $t {
            #[inline(always)]
            fn cast(self) -> bool {
                self != <$t>::default()
            }
        }
    )*};
}
cast_bool!(i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl CastTo<i8> for bool {
    #[inline(always)]
    fn cast(self) -> i8 {
        i8::from(self)
    }
}

impl CastTo<bool> for i8 {
    #[inline(always)]
    fn cast(self) -> bool {
        self != 0
    }
}

impl CastTo<bool> for bool {
    #[inline(always)]
    fn cast(self) -> bool {
        self
    }
}

macro_rules! cast_f16_int {
    ($($t:ty),*) => {$(
        impl CastTo<$t> for f16 {
            #[inline(always)]
            fn cast(self) -> $t {
                self.to_f32() as $t
            }
        }
        impl CastTo<f16> for $t {
            #[inline(always)]
            fn cast(self) -> f16 {
                // Exact for every integer below 2^53; anything larger is infinite in f16.
                f16::from_f64(self as f64)
            }
        }
    )*};
}
cast_f16_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl CastTo<f16> for f16 {
    #[inline(always)]
    fn cast(self) -> f16 {
        self
    }
}

impl CastTo<f32> for f16 {
    #[inline(always)]
    fn cast(self) -> f32 {
        self.to_f32()
    }
}

impl CastTo<f64> for f16 {
    #[inline(always)]
    fn cast(self) -> f64 {
        self.to_f64()
    }
}

impl CastTo<f16> for f32 {
    #[inline(always)]
    fn cast(self) -> f16 {
        f16::from_f32(self)
    }
}

impl CastTo<f16> for f64 {
    #[inline(always)]
    fn cast(self) -> f16 {
        f16::from_f64(self)
    }
}

impl CastTo<bool> for f16 {
    #[inline(always)]
    fn cast(self) -> bool {
        self.to_f32() != 0.0
    }
}

impl CastTo<f16> for bool {
    #[inline(always)]
    fn cast(self) -> f16 {
        if self {
            f16::ONE
        } else {
            f16::ZERO
        }
    }
}

/// A lane that casts to every lane.
trait Source:
    Value
    + CastTo<bool>
    + CastTo<i8>
    + CastTo<i16>
    + CastTo<i32>
    + CastTo<i64>
    + CastTo<u8>
    + CastTo<u16>
    + CastTo<u32>
    + CastTo<u64>
    + CastTo<f16>
    + CastTo<f32>
    + CastTo<f64>
{
}

impl<T> Source for T where
    T: Value
        + CastTo<bool>
        + CastTo<i8>
        + CastTo<i16>
        + CastTo<i32>
        + CastTo<i64>
        + CastTo<u8>
        + CastTo<u16>
        + CastTo<u32>
        + CastTo<u64>
        + CastTo<f16>
        + CastTo<f32>
        + CastTo<f64>
{
}

fn cast_from<S: Source>(to: Lane, io: Io<'_>) {
    match to {
        Lane::Bool => cast_blocks::<S, bool>(io),
        Lane::I8 => cast_blocks::<S, i8>(io),
        Lane::I16 => cast_blocks::<S, i16>(io),
        Lane::I32 => cast_blocks::<S, i32>(io),
        Lane::I64 => cast_blocks::<S, i64>(io),
        Lane::U8 => cast_blocks::<S, u8>(io),
        Lane::U16 => cast_blocks::<S, u16>(io),
        Lane::U32 => cast_blocks::<S, u32>(io),
        Lane::U64 => cast_blocks::<S, u64>(io),
        Lane::F16 => cast_blocks::<S, f16>(io),
        Lane::F32 => cast_blocks::<S, f32>(io),
        Lane::F64 => cast_blocks::<S, f64>(io),
    }
}

/// The hot loop for one pair. `io.src` holds whole `S` elements and `io.dst` room for the
/// same number of `D` elements.
fn cast_blocks<S: Value + CastTo<D>, D: Value>(io: Io<'_>) {
    let src_size = std::mem::size_of::<S::Store>();
    let dst_size = std::mem::size_of::<D::Store>();
    let mut src_block = [<S::Store as bytemuck::Zeroable>::zeroed(); BLOCK];
    let mut dst_block = [<D::Store as bytemuck::Zeroable>::zeroed(); BLOCK];
    let src_chunks = io.src.chunks(BLOCK * src_size);
    let dst_chunks = io.dst.chunks_mut(BLOCK * dst_size);
    for (src_bytes, dst_bytes) in src_chunks.zip(dst_chunks) {
        let count = src_bytes.len() / src_size;
        let src_values = &mut src_block[..count];
        let dst_values = &mut dst_block[..count];
        bytemuck::cast_slice_mut::<S::Store, u8>(src_values).copy_from_slice(src_bytes);
        if io.swap_in {
            for value in src_values.iter_mut() {
                *value = value.swapped();
            }
        }
        for (out, &value) in dst_values.iter_mut().zip(src_values.iter()) {
            *out = S::load(value).cast().store();
        }
        if io.swap_out {
            for value in dst_values.iter_mut() {
                *value = value.swapped();
            }
        }
        dst_bytes.copy_from_slice(bytemuck::cast_slice::<D::Store, u8>(dst_values));
    }
}

// ---- Previews -------------------------------------------------------------------------------

fn format_value(bytes: &[u8], dtype: &DType) -> String {
    match dtype {
        DType::Scalar(scalar) => format_scalar(bytes, scalar),
        DType::Record { fields, .. } => {
            let mut parts = Vec::with_capacity(fields.len());
            for field in fields.iter().filter(|f| !f.is_padding()) {
                let size = field.dtype.itemsize();
                let count = field.element_count();
                let span = field
                    .offset
                    .checked_add(size.saturating_mul(count))
                    .and_then(|end| bytes.get(field.offset..end));
                let Some(span) = span else {
                    parts.push("?".to_string());
                    continue;
                };
                if field.shape.is_empty() {
                    parts.push(format_value(span, &field.dtype));
                } else {
                    parts.push(format_subarray(span, &field.dtype, &field.shape));
                }
            }
            match parts.as_slice() {
                // Python's one-element tuple keeps its comma.
                [only] => format!("({only},)"),
                _ => format!("({})", parts.join(", ")),
            }
        }
    }
}

/// `[[a, b], [c, d]]` for small subarrays, a flat `[a, b, ...]` past the preview cap.
fn format_subarray(bytes: &[u8], dtype: &DType, shape: &[usize]) -> String {
    let size = dtype.itemsize();
    let count = shape.iter().fold(1usize, |acc, &d| acc.saturating_mul(d));
    if size == 0 || count == 0 {
        return nest(&[], shape);
    }
    let shown: Vec<String> = bytes
        .chunks_exact(size)
        .take(count.min(MAX_SUBARRAY_PREVIEW))
        .map(|element| format_value(element, dtype))
        .collect();
    if count > MAX_SUBARRAY_PREVIEW {
        format!("[{}, ...]", shown.join(", "))
    } else {
        nest(&shown, shape)
    }
}

fn nest(items: &[String], shape: &[usize]) -> String {
    match shape {
        [] => items.first().cloned().unwrap_or_default(),
        [_] => format!("[{}]", items.join(", ")),
        [first, rest @ ..] => {
            let inner = rest.iter().fold(1usize, |acc, &d| acc.saturating_mul(d));
            let parts: Vec<String> = if inner == 0 {
                (0..*first).map(|_| nest(&[], rest)).collect()
            } else {
                items.chunks(inner).map(|chunk| nest(chunk, rest)).collect()
            };
            format!("[{}]", parts.join(", "))
        }
    }
}

fn format_scalar(bytes: &[u8], t: &ScalarType) -> String {
    let little = !matches!(t.order, ByteOrder::Big);
    match (t.kind, t.size) {
        (ScalarKind::Bool, _) => {
            if bytes.iter().any(|&b| b != 0) {
                "True".to_string()
            } else {
                "False".to_string()
            }
        }
        (ScalarKind::Int, 1..=8) => read_int(bytes, little).to_string(),
        (ScalarKind::UInt, 1..=8) => read_uint(bytes, little).to_string(),
        (ScalarKind::Float, 2) => float_text_f16(f16::from_bits(read_uint(bytes, little) as u16)),
        (ScalarKind::Float, 4) => float_text(f32::from_bits(read_uint(bytes, little) as u32)),
        (ScalarKind::Float, 8) => float_text(f64::from_bits(read_uint(bytes, little))),
        (ScalarKind::Complex, 8 | 16) => {
            let (re, im) = bytes.split_at(t.size / 2);
            let (re, im) = if t.size == 8 {
                (
                    f64::from(f32::from_bits(read_uint(re, little) as u32)),
                    f64::from(f32::from_bits(read_uint(im, little) as u32)),
                )
            } else {
                (
                    f64::from_bits(read_uint(re, little)),
                    f64::from_bits(read_uint(im, little)),
                )
            };
            complex_text(re, im, t.size == 8)
        }
        (ScalarKind::DateTime, 8) => datetime_text(read_int(bytes, little), t.unit),
        (ScalarKind::TimeDelta, 8) => timedelta_text(read_int(bytes, little), t.unit),
        (ScalarKind::Bytes, _) => {
            let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            repr_bytes(&bytes[..end])
        }
        (ScalarKind::Void, _) => repr_bytes(bytes),
        (ScalarKind::Unicode, _) => {
            let text: String = bytes
                .chunks_exact(4)
                .map(|unit| {
                    let code = read_uint(unit, little) as u32;
                    char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
                })
                .collect();
            let text = text.trim_end_matches('\0');
            repr_str(&truncate_text(text))
        }
        // Long doubles have a platform-specific layout; show their bits, most significant
        // byte first.
        _ => {
            let mut ordered = bytes.to_vec();
            if little {
                ordered.reverse();
            }
            let hex: String = ordered.iter().map(|b| format!("{b:02x}")).collect();
            format!("0x{hex}")
        }
    }
}

fn read_uint(bytes: &[u8], little: bool) -> u64 {
    let fold = |acc: u64, &b: &u8| (acc << 8) | u64::from(b);
    if little {
        bytes.iter().rev().fold(0, fold)
    } else {
        bytes.iter().fold(0, fold)
    }
}

fn read_int(bytes: &[u8], little: bool) -> i64 {
    let bits = bytes.len().clamp(1, 8) * 8;
    let shift = 64 - bits as u32;
    // Move the sign bit to the top, then shift back arithmetically to extend it.
    ((read_uint(bytes, little) << shift) as i64) >> shift
}

fn truncate_text(text: &str) -> String {
    if text.chars().count() > MAX_TEXT_PREVIEW {
        let mut cut: String = text.chars().take(MAX_TEXT_PREVIEW).collect();
        cut.push('…');
        cut
    } else {
        text.to_string()
    }
}

/// Python's `bytes` repr: `b'abc\x00'`.
fn repr_bytes(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(MAX_TEXT_PREVIEW)];
    let quote = if shown.contains(&b'\'') && !shown.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::from("b");
    out.push(char::from(quote));
    for &b in shown {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b if b == quote => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(char::from(quote));
    if shown.len() < bytes.len() {
        out.push('…');
    }
    out
}

/// Floats that format their shortest round-trip digits with `{:e}`.
trait ShortestExp: std::fmt::LowerExp + Copy {
    fn classify(self) -> std::num::FpCategory;
    fn negative(self) -> bool;
}

impl ShortestExp for f32 {
    fn classify(self) -> std::num::FpCategory {
        f32::classify(self)
    }
    fn negative(self) -> bool {
        self.is_sign_negative()
    }
}

impl ShortestExp for f64 {
    fn classify(self) -> std::num::FpCategory {
        f64::classify(self)
    }
    fn negative(self) -> bool {
        self.is_sign_negative()
    }
}

/// Python's float `repr`: shortest digits, `1.0`, `0.0001`, `1e-05`, `1e+16`, `nan`, `inf`.
fn float_text<F: ShortestExp>(value: F) -> String {
    match value.classify() {
        std::num::FpCategory::Nan => return "nan".to_string(),
        std::num::FpCategory::Infinite => {
            return if value.negative() { "-inf" } else { "inf" }.to_string()
        }
        _ => {}
    }
    python_float_from_exp(&format!("{value:e}"))
}

/// `f16` has no shortest formatter of its own: find the fewest digits that read back as
/// the same `f16`.
fn float_text_f16(value: f16) -> String {
    let wide = value.to_f32();
    if !wide.is_finite() {
        return float_text(wide);
    }
    for precision in 0..8 {
        let text = format!("{wide:.precision$e}");
        if text.parse::<f32>().map(f16::from_f32) == Ok(value) {
            return python_float_from_exp(&text);
        }
    }
    float_text(wide)
}

/// Turn Rust's `{:e}` output (`-1.2345e-7`) into Python's repr layout.
fn python_float_from_exp(text: &str) -> String {
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return text.to_string();
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return text.to_string();
    };
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if (-4..16).contains(&exponent) {
        if exponent >= 0 {
            let int_len = exponent as usize + 1;
            let (int_part, frac_part) = if digits.len() > int_len {
                (digits[..int_len].to_string(), digits[int_len..].to_string())
            } else {
                (format!("{digits:0<int_len$}"), "0".to_string())
            };
            format!("{sign}{int_part}.{frac_part}")
        } else {
            let zeros = "0".repeat((-exponent - 1) as usize);
            format!("{sign}0.{zeros}{digits}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{sign}{first}{point}e{exp_sign}{:02}",
            exponent.unsigned_abs()
        )
    }
}

/// Python's complex repr without parentheses: `1+2j`, `1.5-0.5j`, `nan+infj`.
fn complex_text(re: f64, im: f64, single: bool) -> String {
    let part = |v: f64| {
        let text = if single {
            float_text(v as f32)
        } else {
            float_text(v)
        };
        match text.strip_suffix(".0") {
            Some(short) => short.to_string(),
            None => text,
        }
    };
    let imaginary = part(im);
    let sign = if imaginary.starts_with('-') { "" } else { "+" };
    format!("{}{sign}{imaginary}j", part(re))
}

fn timedelta_text(count: i64, unit: Option<(TimeUnit, u32)>) -> String {
    if count == NAT {
        return "NaT".to_string();
    }
    match unit {
        None | Some((TimeUnit::Generic, _)) => count.to_string(),
        Some((unit, multiplier)) => format!(
            "{} {}",
            i128::from(count) * i128::from(multiplier),
            unit.abbreviation()
        ),
    }
}

/// ISO 8601 text at the unit's precision, as NumPy prints datetimes:
/// `2024-01-01T00:00:00.000000000` for `ns`, `2024-01` for `M`.
fn datetime_text(count: i64, unit: Option<(TimeUnit, u32)>) -> String {
    if count == NAT {
        return "NaT".to_string();
    }
    let Some((unit, multiplier)) = unit else {
        return count.to_string();
    };
    let total = i128::from(count) * i128::from(multiplier);
    let (seconds_per_tick, fraction_digits): (i128, u32) = match unit {
        TimeUnit::Generic => return count.to_string(),
        TimeUnit::Year => return year_text(1970 + total),
        TimeUnit::Month => {
            let year = 1970 + total.div_euclid(12);
            return format!("{}-{:02}", year_text(year), total.rem_euclid(12) + 1);
        }
        TimeUnit::Week => return date_text(total * 7),
        TimeUnit::Day => return date_text(total),
        TimeUnit::Hour => (3600, 0),
        TimeUnit::Minute => (60, 0),
        TimeUnit::Second => (1, 0),
        TimeUnit::Milli => (0, 3),
        TimeUnit::Micro => (0, 6),
        TimeUnit::Nano => (0, 9),
        TimeUnit::Pico => (0, 12),
        TimeUnit::Femto => (0, 15),
        TimeUnit::Atto => (0, 18),
    };
    let (seconds, fraction) = if fraction_digits == 0 {
        (total * seconds_per_tick, 0)
    } else {
        let per_second = 10i128.pow(fraction_digits);
        (total.div_euclid(per_second), total.rem_euclid(per_second))
    };
    let day = seconds.div_euclid(SECONDS_PER_DAY);
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (hour, minute, second) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
    let date = date_text(day);
    match unit {
        TimeUnit::Hour => format!("{date}T{hour:02}"),
        TimeUnit::Minute => format!("{date}T{hour:02}:{minute:02}"),
        TimeUnit::Second => format!("{date}T{hour:02}:{minute:02}:{second:02}"),
        _ => format!(
            "{date}T{hour:02}:{minute:02}:{second:02}.{fraction:0width$}",
            width = fraction_digits as usize
        ),
    }
}

fn year_text(year: i128) -> String {
    if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    }
}

/// `YYYY-MM-DD` for a count of days since 1970-01-01 (proleptic Gregorian, Howard Hinnant's
/// `civil_from_days`).
fn date_text(days: i128) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    format!("{}-{month:02}-{day:02}", year_text(year))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let c16_le = ScalarType::c16_le();
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
        assert!(!can_convert(&ScalarType::f8_le(), &ns));
        assert!(can_convert(&ns, &ScalarType::f8_le()));
    }

    #[test]
    fn length_errors() {
        let f4 = ScalarType::f4_le();
        let f8 = ScalarType::f8_le();
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
            to_f64_vec(&[0, 1, 2], &ScalarType::bool8()),
            Ok(vec![0.0, 1.0, 1.0])
        );
        let f2 = ScalarType::f2_le();
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
            to_f64_vec(&[0; 8], &ScalarType::c8_le()),
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
            to_f64_vec(&shifted[1..], &ScalarType::f8_le()),
            Ok(vec![1.25, -3.0])
        );
    }

    fn preview(bytes: &[u8], descr: &str) -> Vec<String> {
        format_elements(bytes, &DType::parse_descr(descr).expect("valid"), 100)
    }

    #[test]
    fn previews_look_like_numpy() {
        assert_eq!(preview(&[0, 1, 7], "|b1"), ["False", "True", "True"]);
        assert_eq!(preview(&[0xff, 0xff, 0, 1], ">i2"), ["-1", "1"]);
        assert_eq!(preview(&[0xff, 0xff], "<u2"), ["65535"]);
        let floats: Vec<u8> = [
            1.0f64,
            0.1,
            -2.5,
            1e16,
            1.5e-7,
            123456.0,
            f64::NAN,
            f64::NEG_INFINITY,
            1e-4,
        ]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
        assert_eq!(
            preview(&floats, "<f8"),
            ["1.0", "0.1", "-2.5", "1e+16", "1.5e-07", "123456.0", "nan", "-inf", "0.0001"]
        );
        assert_eq!(preview(&0.1f32.to_be_bytes(), ">f4"), ["0.1"]);
        assert_eq!(preview(&f16::from_f32(0.1).to_le_bytes(), "<f2"), ["0.1"]);
        assert_eq!(preview(&f16::from_f32(-3.0).to_le_bytes(), "<f2"), ["-3.0"]);
        let complex: Vec<u8> = [1.0f32, 2.0, 1.5, -0.5]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(preview(&complex, "<c8"), ["1+2j", "1.5-0.5j"]);
        let ns = 1_704_067_200_000_000_001i64;
        assert_eq!(
            preview(&ns.to_le_bytes(), "<M8[ns]"),
            ["2024-01-01T00:00:00.000000001"]
        );
        assert_eq!(preview(&NAT.to_le_bytes(), "<M8[ns]"), ["NaT"]);
        assert_eq!(preview(&(-1i64).to_le_bytes(), "<M8[D]"), ["1969-12-31"]);
        assert_eq!(preview(&(-1i64).to_le_bytes(), "<M8[W]"), ["1969-12-25"]);
        assert_eq!(
            preview(&3i64.to_le_bytes(), "<M8[10s]"),
            ["1970-01-01T00:00:30"]
        );
        assert_eq!(
            preview(&(54 * 12 + 1i64).to_le_bytes(), "<M8[M]"),
            ["2024-02"]
        );
        assert_eq!(preview(&(-3i64).to_be_bytes(), ">M8[h]"), ["1969-12-31T21"]);
        assert_eq!(
            preview(&(-1i64).to_le_bytes(), "<M8[ms]"),
            ["1969-12-31T23:59:59.999"]
        );
        assert_eq!(preview(&5i64.to_le_bytes(), "<m8[10s]"), ["50 s"]);
        assert_eq!(preview(b"ab\0cd\0\0", "|S7"), ["b'ab\\x00cd'"]);
        assert_eq!(preview(b"\x01\x02", "|V2"), ["b'\\x01\\x02'"]);
        let text: Vec<u8> = "hé\0"
            .chars()
            .flat_map(|c| u32::from(c).to_be_bytes())
            .collect();
        assert_eq!(preview(&text, ">U3"), ["'hé'"]);
        assert_eq!(preview(&[1, 2, 3], "|u1").len(), 3);
        assert_eq!(
            format_elements(&[1, 2, 3], &DType::parse_descr("|u1").expect("valid"), 2),
            ["1", "2"]
        );
        assert_eq!(preview(&[1, 2, 3], "<u2"), ["513"]);
        let long_double = [0u8; 16];
        assert_eq!(
            preview(&long_double, "<f16"),
            [format!("0x{}", "0".repeat(32))]
        );
    }

    #[test]
    fn record_previews() {
        let dtype = crate::wire::pyliteral::parse(
            "[('x', '<f4'), ('', '|V2'), ('y', '<i2', (2, 2)), ('z', [('a', '|u1')])]",
        )
        .and_then(|v| DType::from_descr_value(&v))
        .expect("valid");
        let mut element = 1.5f32.to_le_bytes().to_vec();
        element.extend_from_slice(&[9, 9]);
        for v in [1i16, 2, 3, 4] {
            element.extend_from_slice(&v.to_le_bytes());
        }
        element.push(7);
        assert_eq!(element.len(), dtype.itemsize());
        assert_eq!(
            format_elements(&element, &dtype, 10),
            ["(1.5, [[1, 2], [3, 4]], (7,))"]
        );
        let big = crate::wire::pyliteral::parse("[('v', '|u1', (100,))]")
            .and_then(|v| DType::from_descr_value(&v))
            .expect("valid");
        let text = &format_elements(&[0; 100], &big, 1)[0];
        assert!(text.ends_with(", ...],)"), "{text}");
        let empty = crate::wire::pyliteral::parse("[('v', '<f4', (2, 0))]")
            .and_then(|v| DType::from_descr_value(&v))
            .expect("valid");
        assert_eq!(format_elements(&[], &empty, 10), Vec::<String>::new());
    }

    #[test]
    fn python_float_layout() {
        for (value, text) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (100.0, "100.0"),
            (1e15, "1000000000000000.0"),
            (1.5e15, "1500000000000000.0"),
            (1e16, "1e+16"),
            (1.25e-5, "1.25e-05"),
            (0.000123, "0.000123"),
            (1e300, "1e+300"),
            (12.375, "12.375"),
        ] {
            assert_eq!(float_text(value), text, "{value}");
        }
    }
}
