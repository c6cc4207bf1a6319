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

use std::collections::HashSet;

use super::pyliteral::{self, PyValue};
use super::WireError;

/// Largest item size accepted, as NumPy's own limit (a C `int`); keeps every offset sum far
/// from overflow on 32-bit wasm too.
pub const MAX_ITEMSIZE: usize = i32::MAX as usize;

/// Deepest record nesting accepted from JSON; the npy header is bounded by the literal parser.
const MAX_RECORD_DEPTH: usize = 32;

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
    bool8 => Bool, NotApplicable, 1;
    /// `|i1`
    i1 => Int, NotApplicable, 1;
    /// `|u1`
    u1 => UInt, NotApplicable, 1;
    /// `<i2`
    i2_le => Int, Little, 2;
    /// `<i4`
    i4_le => Int, Little, 4;
    /// `<i8`
    i8_le => Int, Little, 8;
    /// `<u2`
    u2_le => UInt, Little, 2;
    /// `<u4`
    u4_le => UInt, Little, 4;
    /// `<u8`
    u8_le => UInt, Little, 8;
    /// `<f2`
    f2_le => Float, Little, 2;
    /// `<f4`
    f4_le => Float, Little, 4;
    /// `<f8`
    f8_le => Float, Little, 8;
    /// `>f4`
    f4_be => Float, Big, 4;
    /// `>f8`
    f8_be => Float, Big, 8;
    /// `<c8`
    c8_le => Complex, Little, 8;
    /// `<c16`
    c16_le => Complex, Little, 16;
}

impl ScalarType {
    /// `f8` in the machine's own order, the type charts decode into.
    pub const fn f8_native() -> ScalarType {
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

    /// Parse a type string (no records): `<f4`, `|b1`, `?`, `f8`, `<M8[ns]`, `|S10`, ...
    ///
    /// # Errors
    /// [`WireError::ObjectDtype`] for `O`, [`WireError::BadDescr`] for anything else unknown,
    /// [`WireError::ItemsizeTooLarge`] past [`MAX_ITEMSIZE`].
    pub fn parse(text: &str) -> Result<ScalarType, WireError> {
        let bad = |reason| WireError::BadDescr {
            descr: pyliteral::repr_str(text),
            reason,
        };
        let (given_order, rest) = match text.as_bytes().first() {
            Some(b'<') => (Some(ByteOrder::Little), &text[1..]),
            Some(b'>') => (Some(ByteOrder::Big), &text[1..]),
            Some(b'=') => (Some(ByteOrder::NATIVE), &text[1..]),
            Some(b'|') => (Some(ByteOrder::NotApplicable), &text[1..]),
            _ => (None, text),
        };
        let mut chars = rest.chars();
        let Some(kind_char) = chars.next() else {
            return Err(bad("it is empty"));
        };
        let tail = chars.as_str();
        let (kind, size, unit) = match kind_char {
            'O' => return Err(WireError::ObjectDtype),
            '?' if tail.is_empty() => (ScalarKind::Bool, 1, None),
            'b' if tail == "1" => (ScalarKind::Bool, 1, None),
            'b' => return Err(bad("booleans are spelled b1 or ?")),
            'i' | 'u' | 'f' | 'c' => {
                let size = parse_size(tail).ok_or_else(|| bad("the size is not a number"))?;
                let (kind, allowed): (ScalarKind, &[usize]) = match kind_char {
                    'i' => (ScalarKind::Int, &[1, 2, 4, 8]),
                    'u' => (ScalarKind::UInt, &[1, 2, 4, 8]),
                    'f' => (ScalarKind::Float, &[2, 4, 8, 16]),
                    _ => (ScalarKind::Complex, &[8, 16, 32]),
                };
                if !allowed.contains(&size) {
                    return Err(bad("that size does not exist for this kind"));
                }
                (kind, size, None)
            }
            'M' | 'm' => {
                let kind = if kind_char == 'M' {
                    ScalarKind::DateTime
                } else {
                    ScalarKind::TimeDelta
                };
                let units = tail.strip_prefix('8').unwrap_or(tail);
                let unit = parse_time_unit(units).ok_or_else(|| {
                    bad("datetimes are spelled M8 or M8[unit] with a NumPy unit such as ns")
                })?;
                (kind, 8, Some(unit))
            }
            'S' | 'a' | 'V' | 'U' => {
                let count = parse_size(tail).ok_or_else(|| bad("the size is not a number"))?;
                let kind = match kind_char {
                    'U' => ScalarKind::Unicode,
                    'V' => ScalarKind::Void,
                    _ => ScalarKind::Bytes,
                };
                let size = if kind == ScalarKind::Unicode {
                    count.checked_mul(4).ok_or(WireError::ItemsizeTooLarge {
                        limit: MAX_ITEMSIZE,
                    })?
                } else {
                    count
                };
                (kind, size, None)
            }
            _ => return Err(bad("the kind character is not one of ?biufcMmSUV")),
        };
        if size > MAX_ITEMSIZE {
            return Err(WireError::ItemsizeTooLarge {
                limit: MAX_ITEMSIZE,
            });
        }
        let scalar = ScalarType {
            kind,
            order: ByteOrder::NotApplicable,
            size,
            unit,
        };
        // NumPy normalises the same way: `<u1` is `|u1`, `|i4` and `i4` are native.
        let order = given_order.unwrap_or(ByteOrder::NATIVE);
        Ok(scalar.with_order(order))
    }
}

/// A decimal item size: ASCII digits only, no sign, no overflow.
fn parse_size(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `""` (generic) or `[unit]` / `[Nunit]`.
fn parse_time_unit(text: &str) -> Option<(TimeUnit, u32)> {
    if text.is_empty() {
        return Some((TimeUnit::Generic, 1));
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    let digits_end = inner
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(inner.len());
    let (digits, name) = inner.split_at(digits_end);
    let multiplier = if digits.is_empty() {
        1
    } else {
        digits.parse::<u32>().ok().filter(|&m| m > 0)?
    };
    let unit = TimeUnit::from_abbreviation(name)?;
    if unit == TimeUnit::Generic && multiplier != 1 {
        return None;
    }
    Some((unit, multiplier))
}

impl DType {
    /// Parse a plain type string (`<f4`, `|S10`, `<M8[ns]`, ...); never a record.
    ///
    /// # Errors
    /// As [`ScalarType::parse`].
    pub fn parse_descr(s: &str) -> Result<DType, WireError> {
        ScalarType::parse(s).map(DType::Scalar)
    }

    /// Interpret the `descr` value of an `.npy` header: a string or a list of fields.
    ///
    /// # Errors
    /// [`WireError::BadDescr`] for a malformed description, [`WireError::ObjectDtype`],
    /// [`WireError::FieldTitle`], [`WireError::DuplicateField`], [`WireError::NegativeDimension`],
    /// [`WireError::ItemsizeTooLarge`].
    pub fn from_descr_value(v: &PyValue) -> Result<DType, WireError> {
        Self::from_descr_value_at(v, 0)
    }

    fn from_descr_value_at(v: &PyValue, depth: usize) -> Result<DType, WireError> {
        let bad = |reason| WireError::BadDescr {
            descr: describe_value(v),
            reason,
        };
        let items = match v {
            PyValue::Str(text) => return DType::parse_descr(text),
            PyValue::List(items) => items,
            _ => return Err(bad("a descr must be a type string or a list of fields")),
        };
        if depth >= MAX_RECORD_DEPTH {
            return Err(bad("records nest too deeply"));
        }
        let mut fields: Vec<Field> = Vec::with_capacity(items.len());
        // A set, not a scan of `fields`, so a hostile list of many fields stays linear.
        let mut names: HashSet<String> = HashSet::with_capacity(items.len());
        let mut offset: usize = 0;
        for item in items {
            let parts = match item {
                PyValue::Tuple(parts) | PyValue::List(parts) => parts.as_slice(),
                _ => {
                    return Err(bad(
                        "each field must be a (name, descr) or (name, descr, shape) tuple",
                    ))
                }
            };
            let (name, descr, shape) = match parts {
                [name, descr] => (name, descr, None),
                [name, descr, shape] => (name, descr, Some(shape)),
                _ => {
                    return Err(bad(
                        "each field must be a (name, descr) or (name, descr, shape) tuple",
                    ))
                }
            };
            let name = match name {
                PyValue::Str(name) => name.clone(),
                PyValue::Tuple(_) | PyValue::List(_) => {
                    return Err(WireError::FieldTitle(describe_value(name)))
                }
                _ => return Err(bad("a field name must be a string")),
            };
            let dtype = DType::from_descr_value_at(descr, depth + 1)?;
            let shape = match shape {
                None => Vec::new(),
                Some(shape) => subarray_shape(shape)
                    .ok_or_else(|| bad("a field shape must be a tuple of non-negative integers"))?,
            };
            let count = shape
                .iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                .ok_or(WireError::ItemsizeTooLarge {
                    limit: MAX_ITEMSIZE,
                })?;
            let field_size = count
                .checked_mul(dtype.itemsize())
                .filter(|&s| s <= MAX_ITEMSIZE)
                .ok_or(WireError::ItemsizeTooLarge {
                    limit: MAX_ITEMSIZE,
                })?;
            if !name.is_empty() && !names.insert(name.clone()) {
                return Err(WireError::DuplicateField(name));
            }
            fields.push(Field {
                name,
                dtype,
                offset,
                shape,
            });
            offset = offset
                .checked_add(field_size)
                .filter(|&s| s <= MAX_ITEMSIZE)
                .ok_or(WireError::ItemsizeTooLarge {
                    limit: MAX_ITEMSIZE,
                })?;
        }
        Ok(DType::Record {
            fields,
            itemsize: offset,
        })
    }

    /// The Python literal NumPy writes in an `.npy` header: `'<f4'` or `[('x', '<f4'), ...]`.
    pub fn descr_literal(&self) -> String {
        match self {
            DType::Scalar(scalar) => pyliteral::repr_str(&scalar.descr()),
            DType::Record { fields, .. } => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|field| {
                        let name = pyliteral::repr_str(&field.name);
                        let descr = field.dtype.descr_literal();
                        if field.shape.is_empty() {
                            format!("({name}, {descr})")
                        } else {
                            format!("({name}, {descr}, {})", shape_literal(&field.shape))
                        }
                    })
                    .collect();
                format!("[{}]", parts.join(", "))
            }
        }
    }

    /// The spelling for JSON values and HTTP headers: `<f4` for scalars, the Python literal
    /// for records.
    pub fn descr_string(&self) -> String {
        match self {
            DType::Scalar(scalar) => scalar.descr(),
            DType::Record { .. } => self.descr_literal(),
        }
    }

    /// JSON form: `"<f4"`, or `[["x","<f4"],["y","<i2",[3]]]` for records.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            DType::Scalar(scalar) => Value::String(scalar.descr()),
            DType::Record { fields, .. } => Value::Array(
                fields
                    .iter()
                    .map(|field| {
                        let mut entry =
                            vec![Value::String(field.name.clone()), field.dtype.to_json()];
                        if !field.shape.is_empty() {
                            entry.push(Value::Array(
                                field.shape.iter().map(|&d| Value::from(d)).collect(),
                            ));
                        }
                        Value::Array(entry)
                    })
                    .collect(),
            ),
        }
    }

    /// Inverse of [`DType::to_json`]; also accepts anything `from_descr_value` would.
    ///
    /// # Errors
    /// As [`DType::from_descr_value`], plus [`WireError::BadDescr`] for JSON that is not a
    /// string, a list, or a non-negative integer inside a shape.
    pub fn from_json(value: &serde_json::Value) -> Result<DType, WireError> {
        DType::from_descr_value(&json_to_py(value, 0)?)
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

fn subarray_shape(value: &PyValue) -> Option<Vec<usize>> {
    let dim = |v: &PyValue| match v {
        PyValue::Int(d) => usize::try_from(*d).ok(),
        _ => None,
    };
    match value {
        PyValue::Int(_) => Some(vec![dim(value)?]),
        PyValue::Tuple(dims) | PyValue::List(dims) => dims.iter().map(dim).collect(),
        _ => None,
    }
}

/// A short rendering of a descr value for error messages, cut so a hostile header cannot
/// make the message huge.
fn describe_value(value: &PyValue) -> String {
    const MAX_CHARS: usize = 80;
    let text = match value {
        PyValue::Str(s) => pyliteral::repr_str(s),
        other => format!("{other:?}"),
    };
    if text.chars().count() > MAX_CHARS {
        let cut: String = text.chars().take(MAX_CHARS).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn json_to_py(value: &serde_json::Value, depth: usize) -> Result<PyValue, WireError> {
    use serde_json::Value;
    let bad = |reason| WireError::BadDescr {
        descr: {
            let text = value.to_string();
            if text.len() > 80 {
                format!("{}...", text.chars().take(80).collect::<String>())
            } else {
                text
            }
        },
        reason,
    };
    if depth > 2 * MAX_RECORD_DEPTH + 2 {
        return Err(bad("records nest too deeply"));
    }
    Ok(match value {
        Value::String(s) => PyValue::Str(s.clone()),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => PyValue::Int(i128::from(u)),
            (None, Some(i)) => PyValue::Int(i128::from(i)),
            _ => return Err(bad("dimensions must be integers")),
        },
        Value::Array(items) => PyValue::List(
            items
                .iter()
                .map(|item| json_to_py(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Bool(_) | Value::Null | Value::Object(_) => {
            return Err(bad("a JSON dtype must be a string or a list of fields"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scalar(text: &str) -> ScalarType {
        match ScalarType::parse(text) {
            Ok(s) => s,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    fn native(c: char) -> String {
        format!("{}{c}", ByteOrder::NATIVE.as_char())
    }

    #[test]
    fn numpy_spellings_round_trip() {
        for text in [
            "<f4", ">i2", "|u1", "|b1", "<f2", "<c8", "<c16", "<M8[ns]", ">m8[s]", "<M8", "|S10",
            "<U5", "|V8", "<i8", "|i1", "<f16", "<c32", "<M8[10s]", ">u8", "<m8[D]", "|S0", "|V0",
            "<M8[Y]", "<M8[as]",
        ] {
            assert_eq!(scalar(text).descr(), text, "{text}");
            assert_eq!(
                DType::parse_descr(text)
                    .map(|d| d.descr_string())
                    .as_deref(),
                Ok(text)
            );
        }
    }

    #[test]
    fn short_forms_normalise_like_numpy() {
        assert_eq!(scalar("?"), ScalarType::bool8());
        assert_eq!(scalar("b1"), ScalarType::bool8());
        assert_eq!(scalar("<b1"), ScalarType::bool8());
        assert_eq!(scalar("<u1"), ScalarType::u1());
        assert_eq!(scalar("i1"), ScalarType::i1());
        assert_eq!(scalar("f8").descr(), native('f') + "8");
        assert_eq!(scalar("=i4").descr(), native('i') + "4");
        assert_eq!(scalar("|i4").descr(), native('i') + "4");
        assert_eq!(scalar("i4").descr(), native('i') + "4");
        assert_eq!(scalar("<S3").descr(), "|S3");
        assert_eq!(scalar("a3").descr(), "|S3");
        assert_eq!(scalar("|U2").descr(), native('U') + "2");
        assert_eq!(scalar("<M8[generic]").descr(), "<M8");
        assert_eq!(scalar("<M8[1ns]").descr(), "<M8[ns]");
        assert_eq!(scalar("<M[us]").descr(), "<M8[us]");
        assert_eq!(scalar("<U5").size, 20);
        assert_eq!(scalar("<M8[10s]").unit, Some((TimeUnit::Second, 10)));
    }

    #[test]
    fn refuses_unknown_and_object() {
        assert_eq!(ScalarType::parse("O"), Err(WireError::ObjectDtype));
        assert_eq!(ScalarType::parse("|O"), Err(WireError::ObjectDtype));
        assert_eq!(ScalarType::parse("<O8"), Err(WireError::ObjectDtype));
        for text in [
            "",
            "<",
            "<f3",
            "<i16",
            "<x4",
            "b",
            "<f",
            "<M8[parsec]",
            "<M8[0s]",
            "<M4",
            "<M8[ns",
            "f4 ",
            "<f+4",
            "<i-1",
            "<U",
            "<c4",
            "<f99999999999999999999999",
            "<M8[10generic]",
        ] {
            assert!(
                matches!(ScalarType::parse(text), Err(WireError::BadDescr { .. })),
                "{text:?}"
            );
        }
        assert_eq!(
            ScalarType::parse("|S99999999999"),
            Err(WireError::ItemsizeTooLarge {
                limit: MAX_ITEMSIZE
            })
        );
    }

    #[test]
    fn records_parse_with_offsets() {
        let literal = "[('x', '<f4'), ('', '|V4'), ('y', '<i2', (3,)), ('z', [('a', '|u1'), ('b', '<M8[ns]', (2, 2))])]";
        let dtype = pyliteral::parse(literal)
            .and_then(|v| DType::from_descr_value(&v))
            .expect("valid record");
        let DType::Record { fields, itemsize } = &dtype else {
            panic!("not a record");
        };
        let offsets: Vec<usize> = fields.iter().map(|f| f.offset).collect();
        assert_eq!(offsets, [0, 4, 8, 14]);
        assert_eq!(*itemsize, 14 + 1 + 32);
        assert!(fields[1].is_padding());
        assert_eq!(fields[2].shape, [3]);
        assert_eq!(dtype.descr_literal(), literal);
        assert_eq!(dtype.descr_string(), literal);
    }

    #[test]
    fn golden_record_literal() {
        let dtype = pyliteral::parse("[('x', '<f4'), ('y', '<i2', (3,))]")
            .and_then(|v| DType::from_descr_value(&v))
            .expect("valid record");
        assert_eq!(dtype.descr_literal(), "[('x', '<f4'), ('y', '<i2', (3,))]");
        assert_eq!(dtype.itemsize(), 10);
        assert_eq!(dtype.to_json(), json!([["x", "<f4"], ["y", "<i2", [3]]]));
    }

    #[test]
    fn json_round_trips() {
        let value = json!([
            ["x", "<f4"],
            ["y", "<i2", [3]],
            ["z", [["a", "|u1"]]],
            ["é", ">c16", [2, 0]]
        ]);
        let dtype = DType::from_json(&value).expect("valid");
        assert_eq!(dtype.to_json(), value);
        assert!(!dtype.needs_utf8());
        assert_eq!(DType::from_json(&json!("<f8")), DType::parse_descr("<f8"));
        assert!(matches!(
            DType::from_json(&json!({"a": 1})),
            Err(WireError::BadDescr { .. })
        ));
        assert!(matches!(
            DType::from_json(&json!([["x", "<f4", [-1]]])),
            Err(WireError::BadDescr { .. })
        ));
        assert!(matches!(
            DType::from_json(&json!([["x"]])),
            Err(WireError::BadDescr { .. })
        ));
        assert!(matches!(
            DType::from_json(&json!(3.5)),
            Err(WireError::BadDescr { .. })
        ));
        assert_eq!(
            DType::from_json(&json!([["o", "|O"]])),
            Err(WireError::ObjectDtype)
        );
    }

    #[test]
    fn record_errors() {
        let parse = |text: &str| pyliteral::parse(text).and_then(|v| DType::from_descr_value(&v));
        assert_eq!(
            parse("[('a', '<f4'), ('a', '<f4')]"),
            Err(WireError::DuplicateField("a".into()))
        );
        assert!(matches!(
            parse("[(('t', 'a'), '<f4')]"),
            Err(WireError::FieldTitle(_))
        ));
        assert!(matches!(parse("[('a',)]"), Err(WireError::BadDescr { .. })));
        assert!(matches!(
            parse("[('a', '<f4', (1, 2), 3)]"),
            Err(WireError::BadDescr { .. })
        ));
        assert!(matches!(
            parse("[(1, '<f4')]"),
            Err(WireError::BadDescr { .. })
        ));
        assert!(matches!(parse("3"), Err(WireError::BadDescr { .. })));
        assert!(matches!(
            parse("[('a', '<f8', (99999, 99999, 99999))]"),
            Err(WireError::ItemsizeTooLarge { .. })
        ));
        assert_eq!(parse("[('a', '|O')]"), Err(WireError::ObjectDtype));
        assert_eq!(
            parse("[]"),
            Ok(DType::Record {
                fields: vec![],
                itemsize: 0
            })
        );
        assert_eq!(
            parse("[('a', '<f4', 3)]").map(|d| d.descr_literal()),
            Ok("[('a', '<f4', (3,))]".to_string())
        );
        assert_eq!(
            parse("[('a', '<f4', ())]").map(|d| d.descr_literal()),
            Ok("[('a', '<f4')]".to_string())
        );
    }

    #[test]
    fn order_helpers() {
        let f4 = ScalarType::f4_le();
        assert_eq!(f4.clone().with_order(ByteOrder::Big), ScalarType::f4_be());
        assert_eq!(
            ScalarType::u1().with_order(ByteOrder::Big),
            ScalarType::u1()
        );
        assert_eq!(f4.is_native_order(), ByteOrder::NATIVE == ByteOrder::Little);
        assert!(ScalarType::u1().is_native_order());
        assert!(ScalarType::f2_le().is_numeric());
        assert!(ScalarType::datetime_le(TimeUnit::Nano).is_numeric());
        assert!(!ScalarType::c8_le().is_numeric());
        assert!(!scalar("<f16").is_numeric());
        assert!(!ScalarType::bytes(3).is_numeric());
    }
}
