//! Reading the two spellings of a dtype NumPy writes in an `.npy` header: the type string
//! (`<f4`, `|S10`, `<M8[ns]`) and the list of `(name, descr[, shape])` fields of a record.

use std::collections::HashSet;

use super::{ByteOrder, DType, Field, ScalarKind, ScalarType, TimeUnit, MAX_ITEMSIZE};
use crate::wire::pyliteral::{self, PyValue};
use crate::wire::WireError;

/// Deepest record nesting accepted; the npy header is also bounded by the literal parser.
pub(super) const MAX_RECORD_DEPTH: usize = 32;

impl ScalarType {
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
