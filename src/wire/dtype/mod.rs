//! NumPy dtypes as Downlink understands them: scalar types with an explicit byte order, and
//! records (structured dtypes) made of named fields at fixed offsets.
//!
//! Three spellings meet here. The `.npy` header holds a Python literal (`'<f4'` or a list of
//! `(name, descr[, shape])` tuples); HTTP headers and JSON hold the plain type string (`<f4`)
//! or, for records, a JSON list of lists that `numpy.lib.format.descr_to_dtype` accepts. All
//! three are produced byte for byte the way NumPy writes them, so that a header Downlink
//! writes is indistinguishable from one NumPy wrote.
//!
//! Object dtypes (`O`) are refused outright: their bytes are pickles, and Downlink never
//! unpickles anything.
//!
//! Names follow Rust's types, never NumPy's byte counts: [`ScalarType::i64_le`] is NumPy's
//! `<i8`, [`ScalarType::u8`] its `|u1`. Only descr strings (`"<i8"`) keep NumPy's spelling.
//!
//! - `parse`: the type string and the record list of an `.npy` header.
//! - `json`: the JSON spelling of the listing and bundle headers.

mod json;
mod parse;
#[cfg(test)]
mod tests;

use super::pyliteral;

/// Largest item size accepted, as NumPy's own limit (a C `int`); keeps every offset sum far
/// from overflow on 32-bit wasm too.
pub const MAX_ITEMSIZE: usize = i32::MAX as usize;

/// Byte order of a scalar type, as NumPy's first descr character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// `<`
    Little,
    /// `>`
    Big,
    /// `|`: single bytes, byte strings and void, where order means nothing.
    NotApplicable,
}

impl ByteOrder {
    /// The order of the machine this code runs on (what `=` means).
    pub const NATIVE: ByteOrder = native_order();

    /// The descr character: `<`, `>` or `|`.
    pub fn as_char(self) -> char {
        match self {
            ByteOrder::Little => '<',
            ByteOrder::Big => '>',
            ByteOrder::NotApplicable => '|',
        }
    }
}

/// `cfg!` rather than a `cfg` attribute keeps one code path for every target.
const fn native_order() -> ByteOrder {
    if cfg!(target_endian = "big") {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    }
}

/// Unit of a `datetime64`/`timedelta64`, spelled as NumPy does inside the brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// `Y`
    Year,
    /// `M`
    Month,
    /// `W`
    Week,
    /// `D`
    Day,
    /// `h`
    Hour,
    /// `m`
    Minute,
    /// `s`
    Second,
    /// `ms`
    Milli,
    /// `us`
    Micro,
    /// `ns`
    Nano,
    /// `ps`
    Pico,
    /// `fs`
    Femto,
    /// `as`
    Atto,
    /// No unit (`M8` without brackets); only NaT is meaningful in it.
    Generic,
}

impl TimeUnit {
    /// NumPy's abbreviation (`ns`, `D`, ...); `generic` for [`TimeUnit::Generic`].
    pub fn abbreviation(self) -> &'static str {
        match self {
            TimeUnit::Year => "Y",
            TimeUnit::Month => "M",
            TimeUnit::Week => "W",
            TimeUnit::Day => "D",
            TimeUnit::Hour => "h",
            TimeUnit::Minute => "m",
            TimeUnit::Second => "s",
            TimeUnit::Milli => "ms",
            TimeUnit::Micro => "us",
            TimeUnit::Nano => "ns",
            TimeUnit::Pico => "ps",
            TimeUnit::Femto => "fs",
            TimeUnit::Atto => "as",
            TimeUnit::Generic => "generic",
        }
    }

    /// The unit for an abbreviation, if it is one NumPy knows.
    pub fn from_abbreviation(text: &str) -> Option<TimeUnit> {
        Some(match text {
            "Y" => TimeUnit::Year,
            "M" => TimeUnit::Month,
            "W" => TimeUnit::Week,
            "D" => TimeUnit::Day,
            "h" => TimeUnit::Hour,
            "m" => TimeUnit::Minute,
            "s" => TimeUnit::Second,
            "ms" => TimeUnit::Milli,
            "us" | "μs" => TimeUnit::Micro,
            "ns" => TimeUnit::Nano,
            "ps" => TimeUnit::Pico,
            "fs" => TimeUnit::Femto,
            "as" => TimeUnit::Atto,
            "generic" => TimeUnit::Generic,
            _ => return None,
        })
    }
}

/// What a scalar's bytes mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarKind {
    /// `b1`/`?`: one byte, nonzero is true.
    Bool,
    /// `i1 i2 i4 i8`
    Int,
    /// `u1 u2 u4 u8`
    UInt,
    /// `f2 f4 f8`, and `f16` (long double: served and byte-swapped, never converted).
    Float,
    /// `c8 c16`, and `c32` (long double pair).
    Complex,
    /// `M8[unit]`: i64 count of units since 1970-01-01, `i64::MIN` is NaT.
    DateTime,
    /// `m8[unit]`: i64 count of units, `i64::MIN` is NaT.
    TimeDelta,
    /// `S<n>`: n bytes, NUL-padded.
    Bytes,
    /// `U<n>`: n UCS-4 code units (4n bytes), NUL-padded.
    Unicode,
    /// `V<n>`: n opaque bytes.
    Void,
}

impl ScalarKind {
    /// The descr kind character (`b`, `i`, `u`, `f`, `c`, `M`, `m`, `S`, `U`, `V`).
    pub fn as_char(self) -> char {
        match self {
            ScalarKind::Bool => 'b',
            ScalarKind::Int => 'i',
            ScalarKind::UInt => 'u',
            ScalarKind::Float => 'f',
            ScalarKind::Complex => 'c',
            ScalarKind::DateTime => 'M',
            ScalarKind::TimeDelta => 'm',
            ScalarKind::Bytes => 'S',
            ScalarKind::Unicode => 'U',
            ScalarKind::Void => 'V',
        }
    }
}

/// One scalar type: kind, byte order, item size in bytes and, for datetimes, the unit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScalarType {
    /// What the bytes mean.
    pub kind: ScalarKind,
    /// Byte order; [`ByteOrder::NotApplicable`] for one-byte and byte-string types.
    pub order: ByteOrder,
    /// Item size in bytes (4 × characters for `U`).
    pub size: usize,
    /// `(unit, multiplier)` for `M8`/`m8`, `None` otherwise.
    pub unit: Option<(TimeUnit, u32)>,
}

/// One field of a record dtype.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// Field name; `''` with a `V` dtype is NumPy's spelling of padding.
    pub name: String,
    /// The field's element type.
    pub dtype: DType,
    /// Byte offset within the record.
    pub offset: usize,
    /// Subarray shape, empty for a scalar field.
    pub shape: Vec<usize>,
}

/// A NumPy dtype: a scalar, or a record of fields.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DType {
    /// A plain scalar type.
    Scalar(ScalarType),
    /// A structured dtype with consecutive fields.
    Record {
        /// Fields in declaration order, padding included.
        fields: Vec<Field>,
        /// Record size in bytes.
        itemsize: usize,
    },
}

macro_rules! scalar_constructors {
    ($($(#[$doc:meta])* $name:ident => $kind:ident, $order:ident, $size:expr;)*) => {
        impl ScalarType {
            $(
                $(#[$doc])*
                pub const fn $name() -> ScalarType {
                    ScalarType { kind: ScalarKind::$kind, order: ByteOrder::$order, size: $size, unit: None }
                }
            )*
        }
    };
}

scalar_constructors! {
    /// `|b1`
    bool => Bool, NotApplicable, 1;
    /// `|i1`
    i8 => Int, NotApplicable, 1;
    /// `|u1`
    u8 => UInt, NotApplicable, 1;
    /// `<i2`
    i16_le => Int, Little, 2;
    /// `<i4`
    i32_le => Int, Little, 4;
    /// `<i8`
    i64_le => Int, Little, 8;
    /// `<u2`
    u16_le => UInt, Little, 2;
    /// `<u4`
    u32_le => UInt, Little, 4;
    /// `<u8`
    u64_le => UInt, Little, 8;
    /// `<f2`
    f16_le => Float, Little, 2;
    /// `<f4`
    f32_le => Float, Little, 4;
    /// `<f8`
    f64_le => Float, Little, 8;
    /// `>f4`
    f32_be => Float, Big, 4;
    /// `>f8`
    f64_be => Float, Big, 8;
    /// `<c8`
    c64_le => Complex, Little, 8;
    /// `<c16`
    c128_le => Complex, Little, 16;
}

impl ScalarType {
    /// `f8` in the machine's own order, the type charts decode into.
    pub const fn f64_native() -> ScalarType {
        ScalarType {
            kind: ScalarKind::Float,
            order: ByteOrder::NATIVE,
            size: 8,
            unit: None,
        }
    }

    /// `M8[unit]` (little-endian) with multiplier 1.
    pub const fn datetime_le(unit: TimeUnit) -> ScalarType {
        ScalarType {
            kind: ScalarKind::DateTime,
            order: ByteOrder::Little,
            size: 8,
            unit: Some((unit, 1)),
        }
    }

    /// `m8[unit]` (little-endian) with multiplier 1.
    pub const fn timedelta_le(unit: TimeUnit) -> ScalarType {
        ScalarType {
            kind: ScalarKind::TimeDelta,
            order: ByteOrder::Little,
            size: 8,
            unit: Some((unit, 1)),
        }
    }

    /// `|S<n>`
    pub const fn bytes(n: usize) -> ScalarType {
        ScalarType {
            kind: ScalarKind::Bytes,
            order: ByteOrder::NotApplicable,
            size: n,
            unit: None,
        }
    }

    /// `<U<chars>`; `None` if the item size would overflow.
    pub fn unicode_le(chars: usize) -> Option<ScalarType> {
        Some(ScalarType {
            kind: ScalarKind::Unicode,
            order: ByteOrder::Little,
            size: chars.checked_mul(4)?,
            unit: None,
        })
    }

    /// `|V<n>`
    pub const fn void(n: usize) -> ScalarType {
        ScalarType {
            kind: ScalarKind::Void,
            order: ByteOrder::NotApplicable,
            size: n,
            unit: None,
        }
    }

    /// The type string NumPy writes: `<f4`, `|u1`, `<M8[ns]`, `|S10`, `<U5`.
    pub fn descr(&self) -> String {
        let order = self.order.as_char();
        let kind = self.kind.as_char();
        match self.kind {
            ScalarKind::Unicode => format!("{order}{kind}{}", self.size / 4),
            ScalarKind::DateTime | ScalarKind::TimeDelta => match self.unit {
                None | Some((TimeUnit::Generic, _)) => format!("{order}{kind}8"),
                Some((unit, 1)) => format!("{order}{kind}8[{}]", unit.abbreviation()),
                Some((unit, multiplier)) => {
                    format!("{order}{kind}8[{multiplier}{}]", unit.abbreviation())
                }
            },
            _ => format!("{order}{kind}{}", self.size),
        }
    }

    /// The same type in another byte order; one-byte and byte-string types stay `|`.
    pub fn with_order(self, order: ByteOrder) -> ScalarType {
        let order = if self.order_matters() {
            match order {
                ByteOrder::NotApplicable => ByteOrder::NATIVE,
                other => other,
            }
        } else {
            ByteOrder::NotApplicable
        };
        ScalarType { order, ..self }
    }

    /// Whether the bytes are already in the machine's order (always true where order is moot).
    pub fn is_native_order(&self) -> bool {
        self.order == ByteOrder::NotApplicable || self.order == ByteOrder::NATIVE
    }

    /// Whether the type is a plain number: bool, int, uint, f2/f4/f8, datetime or timedelta.
    pub fn is_numeric(&self) -> bool {
        match self.kind {
            ScalarKind::Bool => self.size == 1,
            ScalarKind::Int | ScalarKind::UInt => matches!(self.size, 1 | 2 | 4 | 8),
            ScalarKind::Float => matches!(self.size, 2 | 4 | 8),
            ScalarKind::DateTime | ScalarKind::TimeDelta => self.size == 8,
            ScalarKind::Complex | ScalarKind::Bytes | ScalarKind::Unicode | ScalarKind::Void => {
                false
            }
        }
    }

    /// Whether byte order means anything for this type.
    pub fn order_matters(&self) -> bool {
        match self.kind {
            ScalarKind::Bool | ScalarKind::Bytes | ScalarKind::Void => false,
            ScalarKind::Unicode => true,
            _ => self.size > 1,
        }
    }

    /// Same kind, size and unit, whatever the byte order.
    pub fn same_type_as(&self, other: &ScalarType) -> bool {
        self.kind == other.kind && self.size == other.size && self.unit == other.unit
    }
}

impl DType {
    /// The Python literal NumPy writes in an `.npy` header: `'<f4'` or `[('x', '<f4'), ...]`.
    pub fn descr_literal(&self) -> String {
        match self {
            DType::Scalar(scalar) => pyliteral::repr_str(&scalar.descr()),
            DType::Record { .. } => self.record_literal(pyliteral::repr_str),
        }
    }

    /// A record's field list as a Python literal, each name quoted by `quote`.
    fn record_literal(&self, quote: fn(&str) -> String) -> String {
        let DType::Record { fields, .. } = self else {
            return quote(&self.descr_string());
        };
        let parts: Vec<String> = fields
            .iter()
            .map(|field| {
                let name = quote(&field.name);
                let descr = match &field.dtype {
                    DType::Scalar(scalar) => pyliteral::repr_str(&scalar.descr()),
                    record => record.record_literal(quote),
                };
                if field.shape.is_empty() {
                    format!("({name}, {descr})")
                } else {
                    format!("({name}, {descr}, {})", shape_literal(&field.shape))
                }
            })
            .collect();
        format!("[{}]", parts.join(", "))
    }

    /// The plain spelling: `<f4` for scalars, the Python literal for records.
    pub fn descr_string(&self) -> String {
        match self {
            DType::Scalar(scalar) => scalar.descr(),
            DType::Record { .. } => self.descr_literal(),
        }
    }

    /// [`DType::descr_string`] in ASCII only, for HTTP headers (whose values must be ASCII):
    /// field names are written as Python's `ascii()` writes them (`'t\xe9mp'`, `'\u6e29'`),
    /// so `ast.literal_eval` of the header value gives back the exact names.
    pub fn descr_ascii(&self) -> String {
        match self {
            DType::Scalar(scalar) => scalar.descr(),
            DType::Record { .. } => self.record_literal(pyliteral::ascii_str),
        }
    }

    /// Bytes per element.
    pub fn itemsize(&self) -> usize {
        match self {
            DType::Scalar(scalar) => scalar.size,
            DType::Record { itemsize, .. } => *itemsize,
        }
    }

    /// The scalar type, if this is not a record.
    pub fn as_scalar(&self) -> Option<&ScalarType> {
        match self {
            DType::Scalar(scalar) => Some(scalar),
            DType::Record { .. } => None,
        }
    }

    /// Whether any text in the description needs more than Latin-1 (so `.npy` version 3).
    pub fn needs_utf8(&self) -> bool {
        match self {
            DType::Scalar(_) => false,
            DType::Record { fields, .. } => fields
                .iter()
                .any(|f| f.name.chars().any(|c| u32::from(c) > 0xff) || f.dtype.needs_utf8()),
        }
    }
}

impl Field {
    /// NumPy's padding: an unnamed void field, skipped when showing values.
    pub fn is_padding(&self) -> bool {
        self.name.is_empty()
            && matches!(&self.dtype, DType::Scalar(s) if s.kind == ScalarKind::Void)
    }

    /// Elements in the subarray (1 for a scalar field).
    pub fn element_count(&self) -> usize {
        // Checked when the field was built; saturating keeps hand-made fields harmless.
        self.shape
            .iter()
            .fold(1usize, |acc, &d| acc.saturating_mul(d))
    }
}

/// `()`, `(3,)`, `(2, 3)`: Python's tuple repr.
pub(crate) fn shape_literal<T: std::fmt::Display>(shape: &[T]) -> String {
    match shape {
        [] => "()".to_string(),
        [only] => format!("({only},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(ToString::to_string).collect();
            format!("({})", parts.join(", "))
        }
    }
}
