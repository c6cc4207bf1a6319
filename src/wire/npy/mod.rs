//! The `.npy` container: magic, version, a Python-literal header, then the raw array bytes.
//!
//! Reading treats every byte as hostile: the header length is checked against
//! [`MAX_HEADER_LEN`] and against the bytes present before any text is looked at, the element
//! count and byte length are computed with checked arithmetic and must fit `usize`, and
//! nothing is allocated from a length the input claims. Writing reproduces NumPy's own output
//! byte for byte (key order, `repr` spacing, the 21-digit growth room after the shape, space
//! padding to [`ALIGN`] and the final `\n`), so files Downlink writes diff cleanly against
//! files NumPy writes.

use super::dtype::{shape_literal, DType};
use super::pyliteral::{self, PyValue};
use super::WireError;

#[cfg(test)]
mod tests;

/// The six bytes every `.npy` document starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// NumPy pads magic + header so the data starts on a multiple of this.
pub const ALIGN: usize = 64;
/// NumPy's default `max_header_size` for `np.load`; longer headers are refused unread.
pub const MAX_HEADER_LEN: usize = 10_000;
/// The most bytes before an array's data: magic, version, a 4-byte length and the longest
/// header. Reading this many bytes is always enough to parse a header.
pub const MAX_DATA_OFFSET: usize = MAGIC.len() + 2 + 4 + MAX_HEADER_LEN;
/// NumPy leaves room after the shape for a growing axis of this many digits.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;
/// Magic plus the two version bytes.
const VERSION_END: usize = MAGIC.len() + 2;

/// `.npy` format version, which fixes the width of the header length and the header encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// 1.0: `u16` length, Latin-1 header.
    V1,
    /// 2.0: `u32` length, Latin-1 header.
    V2,
    /// 3.0: `u32` length, UTF-8 header.
    V3,
}

impl Version {
    /// The two version bytes.
    pub fn bytes(self) -> [u8; 2] {
        match self {
            Version::V1 => [1, 0],
            Version::V2 => [2, 0],
            Version::V3 => [3, 0],
        }
    }

    /// Bytes from the start of the document to the start of the header text.
    pub fn prefix_len(self) -> usize {
        match self {
            Version::V1 => VERSION_END + 2,
            Version::V2 | Version::V3 => VERSION_END + 4,
        }
    }
}

/// What an `.npy` header says about the array that follows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NpyHeader {
    /// Format version read from, or to be written to, the file.
    pub version: Version,
    /// Element type.
    pub dtype: DType,
    /// Whether the data is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// Dimensions; empty for a 0-d array.
    pub shape: Vec<u64>,
}

/// What to do with bytes after the array data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trailing {
    /// Refuse them.
    Reject,
    /// Ignore them.
    Allow,
}

/// A whole .npy document viewed in place: header plus the exact data slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyView<'a> {
    /// The parsed header.
    pub header: NpyHeader,
    /// Where the data starts in the document.
    pub data_offset: usize,
    /// Exactly `header.data_len()` bytes.
    pub data: &'a [u8],
}

impl NpyHeader {
    /// Parse magic + header from the start of `bytes`; returns the header and the data offset.
    /// Only the header bytes need to be present.
    ///
    /// # Errors
    /// [`WireError::BadMagic`], [`WireError::UnsupportedVersion`], [`WireError::HeaderTruncated`],
    /// [`WireError::HeaderTooLong`], [`WireError::HeaderNotUtf8`], syntax errors from the
    /// literal parser, key and value errors, dtype errors and [`WireError::ShapeOverflow`].
    pub fn parse(bytes: &[u8]) -> Result<(NpyHeader, usize), WireError> {
        let magic_len = MAGIC.len().min(bytes.len());
        if bytes[..magic_len] != MAGIC[..magic_len] {
            return Err(WireError::BadMagic);
        }
        let version = match bytes.get(MAGIC.len()..VERSION_END) {
            Some([1, 0]) => Version::V1,
            Some([2, 0]) => Version::V2,
            Some([3, 0]) => Version::V3,
            Some(&[major, minor]) => return Err(WireError::UnsupportedVersion { major, minor }),
            // `get` of a two-byte range is two bytes or nothing.
            _ => {
                return Err(WireError::HeaderTruncated {
                    needed: VERSION_END as u64,
                    available: bytes.len(),
                })
            }
        };
        let prefix_len = version.prefix_len();
        let header_len: u64 = match bytes.get(VERSION_END..prefix_len) {
            Some(&[a, b]) => u64::from(u16::from_le_bytes([a, b])),
            Some(&[a, b, c, d]) => u64::from(u32::from_le_bytes([a, b, c, d])),
            _ => {
                return Err(WireError::HeaderTruncated {
                    needed: prefix_len as u64,
                    available: bytes.len(),
                })
            }
        };
        if header_len > MAX_HEADER_LEN as u64 {
            return Err(WireError::HeaderTooLong {
                len: header_len,
                limit: MAX_HEADER_LEN,
            });
        }
        // Bounded by MAX_HEADER_LEN above, so this cannot overflow or truncate.
        let data_offset = prefix_len + header_len as usize;
        let Some(raw) = bytes.get(prefix_len..data_offset) else {
            return Err(WireError::HeaderTruncated {
                needed: data_offset as u64,
                available: bytes.len(),
            });
        };
        let text: String = match version {
            // Latin-1 maps each byte to the code point of the same value.
            Version::V1 | Version::V2 => raw.iter().map(|&b| char::from(b)).collect(),
            Version::V3 => match std::str::from_utf8(raw) {
                Ok(text) => text.to_owned(),
                Err(e) => {
                    return Err(WireError::HeaderNotUtf8 {
                        position: e.valid_up_to(),
                    })
                }
            },
        };
        let header = Self::from_literal(version, &pyliteral::parse(&text)?)?;
        header.data_len()?;
        Ok((header, data_offset))
    }

    fn from_literal(version: Version, literal: &PyValue) -> Result<NpyHeader, WireError> {
        let PyValue::Dict(entries) = literal else {
            return Err(WireError::HeaderNotDict {
                found: literal.kind_name(),
            });
        };
        let mut descr = None;
        let mut fortran = None;
        let mut shape = None;
        for (key, value) in entries {
            let slot = match key {
                PyValue::Str(k) if k == "descr" => &mut descr,
                PyValue::Str(k) if k == "fortran_order" => &mut fortran,
                PyValue::Str(k) if k == "shape" => &mut shape,
                PyValue::Str(k) => return Err(WireError::ExtraKey(pyliteral::repr_str(k))),
                other => return Err(WireError::ExtraKey(other.kind_name().to_string())),
            };
            if slot.replace(value).is_some() {
                let name = match key {
                    PyValue::Str(k) => k.clone(),
                    _ => String::new(),
                };
                return Err(WireError::DuplicateKey(name));
            }
        }
        let descr = descr.ok_or(WireError::MissingKey("descr"))?;
        let fortran = fortran.ok_or(WireError::MissingKey("fortran_order"))?;
        let shape = shape.ok_or(WireError::MissingKey("shape"))?;

        let fortran_order = match fortran {
            PyValue::Bool(b) => *b,
            _ => {
                return Err(WireError::BadHeaderValue {
                    key: "fortran_order",
                    expected: "True or False",
                })
            }
        };
        let PyValue::Tuple(dims) = shape else {
            return Err(WireError::BadHeaderValue {
                key: "shape",
                expected: "a tuple of integers",
            });
        };
        let mut shape = Vec::with_capacity(dims.len());
        for (index, dim) in dims.iter().enumerate() {
            match dim {
                PyValue::Int(value) if *value < 0 => {
                    return Err(WireError::NegativeDimension {
                        index,
                        value: *value,
                    })
                }
                PyValue::Int(value) => match u64::try_from(*value) {
                    Ok(d) => shape.push(d),
                    Err(_) => return Err(WireError::ShapeOverflow { shape, itemsize: 0 }),
                },
                _ => {
                    return Err(WireError::BadHeaderValue {
                        key: "shape",
                        expected: "a tuple of integers",
                    })
                }
            }
        }
        Ok(NpyHeader {
            version,
            dtype: DType::from_descr_value(descr)?,
            fortran_order,
            shape,
        })
    }

    /// Number of elements (product of shape; 1 for 0-d), checked.
    ///
    /// # Errors
    /// [`WireError::ShapeOverflow`] if the product does not fit `u64`.
    pub fn element_count(&self) -> Result<u64, WireError> {
        self.shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| self.overflow())
    }

    /// Bytes of data = element_count * itemsize, checked; also fits `usize`.
    ///
    /// # Errors
    /// [`WireError::ShapeOverflow`] if it does not fit `u64` or this machine's `usize`.
    pub fn data_len(&self) -> Result<u64, WireError> {
        let len = self
            .element_count()?
            .checked_mul(self.dtype.itemsize() as u64)
            .ok_or_else(|| self.overflow())?;
        usize::try_from(len).map_err(|_| self.overflow())?;
        Ok(len)
    }

    fn overflow(&self) -> WireError {
        WireError::ShapeOverflow {
            shape: self.shape.clone(),
            itemsize: self.dtype.itemsize() as u64,
        }
    }

    /// The header dict as NumPy writes it, growth room included, without padding.
    fn dict_text(&self) -> String {
        let shape = shape_literal(&self.shape);
        let mut text = format!(
            "{{'descr': {}, 'fortran_order': {}, 'shape': {}, }}",
            self.dtype.descr_literal(),
            if self.fortran_order { "True" } else { "False" },
            shape,
        );
        let growth_axis = if self.fortran_order {
            self.shape.last()
        } else {
            self.shape.first()
        };
        if let Some(axis) = growth_axis {
            let digits = axis.to_string().len();
            let room = GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits);
            text.extend(std::iter::repeat_n(' ', room));
        }
        text
    }

    /// Encode magic + header, padded with spaces and a final `\n` so the data starts on a
    /// multiple of [`ALIGN`]; picks the lowest version that can hold it, unless
    /// `self.version` is higher.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_bytes_with_capacity(0)
    }

    /// As [`NpyHeader::to_bytes`], but at least `min_total` bytes long (still a multiple of
    /// [`ALIGN`]), so a growing shape can be rewritten later without moving the data.
    pub fn to_bytes_with_capacity(&self, min_total: usize) -> Vec<u8> {
        let text = self.dict_text();
        let lowest = if self.dtype.needs_utf8() {
            Version::V3
        } else {
            Version::V1
        };
        let mut version = lowest.max(self.version);
        let encoded: Vec<u8> = if version == Version::V3 {
            text.into_bytes()
        } else {
            // Every char is <= U+00FF below version 3, so the narrowing is exact Latin-1.
            text.chars().map(|c| u32::from(c) as u8).collect()
        };
        loop {
            let prefix_len = version.prefix_len();
            // Text plus the final newline, then NumPy's padding of 1..=ALIGN spaces.
            let unpadded = prefix_len + encoded.len() + 1;
            let natural = unpadded + (ALIGN - unpadded % ALIGN);
            let total = natural.max(min_total.div_ceil(ALIGN).saturating_mul(ALIGN));
            let header_len = total - prefix_len;
            let length_field: Vec<u8> = match version {
                Version::V1 => match u16::try_from(header_len) {
                    Ok(len) => len.to_le_bytes().to_vec(),
                    Err(_) => {
                        version = Version::V2;
                        continue;
                    }
                },
                // A header over 4 GiB is not something any caller builds; saturate rather
                // than fail, the reader's MAX_HEADER_LEN refuses it either way.
                Version::V2 | Version::V3 => u32::try_from(header_len)
                    .unwrap_or(u32::MAX)
                    .to_le_bytes()
                    .to_vec(),
            };
            let mut out = Vec::with_capacity(total);
            out.extend_from_slice(MAGIC);
            out.extend_from_slice(&version.bytes());
            out.extend_from_slice(&length_field);
            out.extend_from_slice(&encoded);
            out.resize(total - 1, b' ');
            out.push(b'\n');
            return out;
        }
    }
}

/// Parse a whole `.npy` document; the data must be exactly `data_len` bytes
/// ([`Trailing::Reject`]) or at least that many ([`Trailing::Allow`], the rest ignored).
///
/// # Errors
/// Anything [`NpyHeader::parse`] returns, [`WireError::DataTruncated`], and
/// [`WireError::TrailingBytes`] under [`Trailing::Reject`].
pub fn parse_npy(bytes: &[u8], trailing: Trailing) -> Result<NpyView<'_>, WireError> {
    let (header, data_offset) = NpyHeader::parse(bytes)?;
    let expected = header.data_len()?;
    let available = bytes.len().saturating_sub(data_offset);
    // data_len() has checked that expected fits usize.
    let len = usize::try_from(expected).map_err(|_| WireError::ShapeOverflow {
        shape: header.shape.clone(),
        itemsize: header.dtype.itemsize() as u64,
    })?;
    if available < len {
        return Err(WireError::DataTruncated {
            expected,
            found: available,
        });
    }
    if trailing == Trailing::Reject && available > len {
        return Err(WireError::TrailingBytes {
            expected,
            found: available,
        });
    }
    let data = &bytes[data_offset..data_offset + len];
    Ok(NpyView {
        header,
        data_offset,
        data,
    })
}

/// Build a whole `.npy` document from a header and exactly `data_len` bytes of data.
///
/// # Errors
/// [`WireError::ShapeOverflow`], or [`WireError::LengthMismatch`] if `data` is not
/// `data_len` bytes.
pub fn write_npy(header: &NpyHeader, data: &[u8]) -> Result<Vec<u8>, WireError> {
    let expected = header.data_len()?;
    if data.len() as u64 != expected {
        return Err(WireError::LengthMismatch {
            expected,
            found: data.len(),
        });
    }
    let mut out = header.to_bytes();
    out.extend_from_slice(data);
    Ok(out)
}

/// Validate an uploaded `.npy` from its first bytes and its total length, without holding
/// the whole body: the header must parse (at most [`MAX_HEADER_LEN`], no object dtype) and
/// the data must be exactly as long as the shape says. `prefix` must hold at least the whole
/// header (the first `MAX_HEADER_LEN + 12` bytes suffice), or all of a shorter body.
///
/// # Errors
/// Anything [`NpyHeader::parse`] returns, [`WireError::DataTruncated`] for a short body and
/// [`WireError::TrailingBytes`] for a long one.
pub fn check_upload(prefix: &[u8], total_len: u64) -> Result<(NpyHeader, usize), WireError> {
    let (header, data_offset) = NpyHeader::parse(prefix)?;
    let expected = header.data_len()?;
    if total_len < data_offset as u64 {
        // The body ends inside the header the prefix showed (a lying or cut-off length).
        return Err(WireError::DataTruncated { expected, found: 0 });
    }
    let found = total_len - data_offset as u64;
    if found < expected {
        return Err(WireError::DataTruncated {
            expected,
            found: usize::try_from(found).unwrap_or(usize::MAX),
        });
    }
    if found > expected {
        return Err(WireError::TrailingBytes {
            expected,
            found: usize::try_from(found).unwrap_or(usize::MAX),
        });
    }
    Ok((header, data_offset))
}
