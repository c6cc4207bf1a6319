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

/// The six bytes every `.npy` document starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// NumPy pads magic + header so the data starts on a multiple of this.
pub const ALIGN: usize = 64;
/// NumPy's default `max_header_size` for `np.load`; longer headers are refused unread.
pub const MAX_HEADER_LEN: usize = 10_000;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::dtype::ScalarType;
    use proptest::prelude::*;

    /// `np.save(f, np.arange(3, dtype='<f4'))` with NumPy 2.x.
    const GOLDEN_ARANGE3_F4: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }                                                            \n\x00\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x40";

    /// `np.save(f, np.zeros(2, [('x', '<f4'), ('y', '<i2', (3,))]))`, header only.
    const GOLDEN_RECORD_HEADER: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': [('x', '<f4'), ('y', '<i2', (3,))], 'fortran_order': False, 'shape': (2,), }                               \n";

    fn header(dtype: &str, shape: &[u64]) -> NpyHeader {
        NpyHeader {
            version: Version::V1,
            dtype: DType::parse_descr(dtype).expect("valid descr"),
            fortran_order: false,
            shape: shape.to_vec(),
        }
    }

    fn record(literal: &str) -> DType {
        pyliteral::parse(literal)
            .and_then(|v| DType::from_descr_value(&v))
            .expect("valid record")
    }

    /// Magic, version 1.0 and a correct length around arbitrary header text.
    fn v1_with_text(text: &str) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(text.len() as u16).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        out
    }

    fn all_dtypes() -> Vec<DType> {
        let mut dtypes: Vec<DType> = [
            "|b1",
            "|i1",
            "<i2",
            ">i2",
            "<i4",
            ">i4",
            "<i8",
            ">i8",
            "|u1",
            "<u2",
            ">u2",
            "<u4",
            ">u4",
            "<u8",
            ">u8",
            "<f2",
            ">f2",
            "<f4",
            ">f4",
            "<f8",
            ">f8",
            "<f16",
            "<c8",
            ">c8",
            "<c16",
            ">c16",
            "<c32",
            "<M8[ns]",
            ">M8[s]",
            "<M8",
            "<M8[10ms]",
            "<m8[D]",
            ">m8[us]",
            "|S10",
            "|S1",
            "<U5",
            ">U1",
            "|V8",
            "|S0",
        ]
        .iter()
        .map(|d| DType::parse_descr(d).expect("valid"))
        .collect();
        dtypes.push(record("[('x', '<f4'), ('y', '<i2', (3,))]"));
        dtypes.push(record(
            "[('a', [('b', '>f8'), ('', '|V3')]), ('t', '<M8[ns]', (2, 2)), ('s', '|S3')]",
        ));
        dtypes.push(record("[('é', '<u2'), (\"it's\", '|b1')]"));
        dtypes.push(record("[('日本', '<f4')]"));
        dtypes
    }

    #[test]
    fn golden_arange_f4() {
        let h = header("<f4", &[3]);
        let data: Vec<u8> = [0.0f32, 1.0, 2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(h.to_bytes(), &GOLDEN_ARANGE3_F4[..128]);
        assert_eq!(write_npy(&h, &data).as_deref(), Ok(GOLDEN_ARANGE3_F4));
        let view = parse_npy(GOLDEN_ARANGE3_F4, Trailing::Reject).expect("golden parses");
        assert_eq!(view.header, h);
        assert_eq!(view.data_offset, 128);
        assert_eq!(view.data, &data[..]);
    }

    #[test]
    fn golden_record_header() {
        let h = NpyHeader {
            version: Version::V1,
            dtype: record("[('x', '<f4'), ('y', '<i2', (3,))]"),
            fortran_order: false,
            shape: vec![2],
        };
        assert_eq!(h.to_bytes(), GOLDEN_RECORD_HEADER);
        assert_eq!(NpyHeader::parse(GOLDEN_RECORD_HEADER), Ok((h, 128)));
    }

    #[test]
    fn round_trips_every_dtype_version_order_and_shape() {
        let shapes: [&[u64]; 7] = [&[], &[0], &[3, 0], &[5], &[2, 3], &[2, 1, 3], &[1, 2, 1, 2]];
        let mut cases = 0;
        for dtype in all_dtypes() {
            for version in [Version::V1, Version::V2, Version::V3] {
                for fortran_order in [false, true] {
                    for shape in shapes {
                        let h = NpyHeader {
                            version,
                            dtype: dtype.clone(),
                            fortran_order,
                            shape: shape.to_vec(),
                        };
                        let len = h.data_len().expect("small") as usize;
                        let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                        let bytes = write_npy(&h, &data).expect("writes");
                        let view = parse_npy(&bytes, Trailing::Reject).expect("parses");
                        let expected_version = if dtype.needs_utf8() {
                            version.max(Version::V3)
                        } else {
                            version
                        };
                        assert_eq!(view.header.version, expected_version, "{h:?}");
                        assert_eq!(
                            NpyHeader {
                                version,
                                ..view.header.clone()
                            },
                            h
                        );
                        assert_eq!(view.data, &data[..], "{h:?}");
                        assert_eq!(view.data_offset % ALIGN, 0, "{h:?}");
                        assert_eq!(bytes[view.data_offset - 1], b'\n');
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, all_dtypes().len() * 3 * 2 * shapes.len());
    }

    #[test]
    fn capacity_reserves_room_and_grows_version() {
        let h = header("<f8", &[10]);
        let small = h.to_bytes();
        assert_eq!(small.len(), 128);
        let big = h.to_bytes_with_capacity(1000);
        assert_eq!(big.len(), 1024);
        assert_eq!(NpyHeader::parse(&big), Ok((h.clone(), 1024)));
        // Rewriting a grown shape into the reserved room keeps the data offset.
        let grown = NpyHeader {
            shape: vec![123_456_789],
            ..h.clone()
        };
        assert_eq!(grown.to_bytes_with_capacity(big.len()).len(), big.len());
        // Past u16, version 1.0 cannot hold the length.
        let huge = h.to_bytes_with_capacity(70_000);
        assert_eq!(huge.len() % ALIGN, 0);
        assert!(huge.len() >= 70_000);
        assert_eq!(&huge[6..8], &[2, 0]);
        assert!(matches!(
            NpyHeader::parse(&huge),
            Err(WireError::HeaderTooLong { .. })
        ));
    }

    #[test]
    fn non_latin1_names_need_version_3() {
        let h = NpyHeader {
            version: Version::V1,
            dtype: record("[('日本', '<f4')]"),
            fortran_order: false,
            shape: vec![1],
        };
        let bytes = h.to_bytes();
        assert_eq!(&bytes[6..8], &[3, 0]);
        let latin = NpyHeader {
            dtype: record("[('é', '<f4')]"),
            ..h
        };
        let bytes = latin.to_bytes();
        assert_eq!(&bytes[6..8], &[1, 0]);
        // Latin-1, not UTF-8: é is the single byte 0xE9.
        assert!(bytes.contains(&0xe9));
        assert_eq!(NpyHeader::parse(&bytes).map(|(h, _)| h), Ok(latin));
    }

    #[test]
    fn hostile_inputs_fail_precisely() {
        let good = write_npy(&header("<f4", &[3]), &[0; 12]).expect("writes");
        assert_eq!(
            parse_npy(b"", Trailing::Reject).err(),
            Some(WireError::HeaderTruncated {
                needed: 8,
                available: 0
            })
        );
        assert_eq!(
            parse_npy(b"\x93NUM", Trailing::Reject).err(),
            Some(WireError::HeaderTruncated {
                needed: 8,
                available: 4
            })
        );
        assert_eq!(
            parse_npy(b"PK\x03\x04zipfile", Trailing::Reject).err(),
            Some(WireError::BadMagic)
        );
        assert_eq!(
            parse_npy(&good[..9], Trailing::Reject).err(),
            Some(WireError::HeaderTruncated {
                needed: 10,
                available: 9
            })
        );
        assert_eq!(
            parse_npy(&good[..100], Trailing::Reject).err(),
            Some(WireError::HeaderTruncated {
                needed: 128,
                available: 100
            })
        );

        let mut version9 = good.clone();
        version9[6] = 9;
        assert_eq!(
            parse_npy(&version9, Trailing::Reject).err(),
            Some(WireError::UnsupportedVersion { major: 9, minor: 0 })
        );

        let mut too_long = MAGIC.to_vec();
        too_long.extend_from_slice(&[2, 0]);
        too_long.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            parse_npy(&too_long, Trailing::Reject).err(),
            Some(WireError::HeaderTooLong {
                len: u64::from(u32::MAX),
                limit: MAX_HEADER_LEN
            })
        );
        let over_limit = v1_with_text(&" ".repeat(MAX_HEADER_LEN + 1));
        assert!(matches!(
            parse_npy(&over_limit, Trailing::Reject),
            Err(WireError::HeaderTooLong { len: 10_001, .. })
        ));

        let syntax = |text: &str| parse_npy(&v1_with_text(text), Trailing::Allow).err();
        assert!(matches!(
            syntax("garbage!"),
            Some(WireError::HeaderSyntax { position: 0, .. })
        ));
        assert!(matches!(
            syntax("{'descr': '<f4', 'shape': (3,"),
            Some(WireError::HeaderSyntax { .. })
        ));
        assert!(matches!(
            syntax("{'descr': '<f4']"),
            Some(WireError::HeaderSyntax { position: 15, .. })
        ));
        assert!(matches!(
            syntax(&"(".repeat(10_000)[..MAX_HEADER_LEN]),
            Some(WireError::HeaderTooDeep { .. })
        ));
        assert_eq!(
            syntax("[1, 2]"),
            Some(WireError::HeaderNotDict { found: "a list" })
        );
        assert_eq!(
            syntax("{'descr': '<f4', 'shape': (3,)}"),
            Some(WireError::MissingKey("fortran_order"))
        );
        assert_eq!(
            syntax("{'fortran_order': False, 'shape': (3,)}"),
            Some(WireError::MissingKey("descr"))
        );
        assert_eq!(
            syntax("{'descr': '<f4', 'fortran_order': False}"),
            Some(WireError::MissingKey("shape"))
        );
        assert_eq!(
            syntax("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}"),
            Some(WireError::ExtraKey("'extra'".into()))
        );
        assert_eq!(
            syntax("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}"),
            Some(WireError::DuplicateKey("descr".into()))
        );
        assert_eq!(
            syntax("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}"),
            Some(WireError::BadHeaderValue {
                key: "fortran_order",
                expected: "True or False"
            })
        );
        assert_eq!(
            syntax("{'descr': '<f4', 'fortran_order': False, 'shape': [3]}"),
            Some(WireError::BadHeaderValue {
                key: "shape",
                expected: "a tuple of integers"
            })
        );
        assert_eq!(
            syntax("{'descr': '<f4', 'fortran_order': False, 'shape': (3, -1)}"),
            Some(WireError::NegativeDimension {
                index: 1,
                value: -1
            })
        );
        assert!(matches!(
            syntax("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}"),
            Some(WireError::ShapeOverflow { .. })
        ));
        assert!(matches!(
            syntax("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}"),
            Some(WireError::ShapeOverflow { .. })
        ));
        assert!(matches!(
            syntax("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,)}"),
            Some(WireError::ShapeOverflow { .. })
        ));
        assert_eq!(
            syntax("{'descr': '|O', 'fortran_order': False, 'shape': (3,)}"),
            Some(WireError::ObjectDtype)
        );
        assert_eq!(
            syntax("{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (3,)}"),
            Some(WireError::ObjectDtype)
        );
        assert!(matches!(
            syntax("{'descr': '<q9', 'fortran_order': False, 'shape': (3,)}"),
            Some(WireError::BadDescr { .. })
        ));

        // A shape promising far more data than present fails without allocating it.
        let claim = write_npy(&header("<f8", &[]), &[0; 8]).expect("writes");
        let mut huge = header("<f8", &[1 << 40]).to_bytes();
        huge.extend_from_slice(&claim[claim.len() - 8..]);
        assert_eq!(
            parse_npy(&huge, Trailing::Reject).err(),
            Some(WireError::DataTruncated {
                expected: 8 << 40,
                found: 8
            })
        );

        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            parse_npy(&trailing, Trailing::Reject).err(),
            Some(WireError::TrailingBytes {
                expected: 12,
                found: 13
            })
        );
        assert_eq!(
            parse_npy(&trailing, Trailing::Allow).map(|v| v.data.len()),
            Ok(12)
        );
        assert_eq!(
            parse_npy(&good[..good.len() - 1], Trailing::Allow).err(),
            Some(WireError::DataTruncated {
                expected: 12,
                found: 11
            })
        );

        let mut bad_utf8 = MAGIC.to_vec();
        bad_utf8.extend_from_slice(&[3, 0]);
        let text = b"{'descr': [('\xff', '<f4')], 'fortran_order': False, 'shape': (), }\n";
        bad_utf8.extend_from_slice(&(text.len() as u32).to_le_bytes());
        bad_utf8.extend_from_slice(text);
        assert_eq!(
            parse_npy(&bad_utf8, Trailing::Allow).err(),
            Some(WireError::HeaderNotUtf8 { position: 13 })
        );

        assert_eq!(
            write_npy(&header("<f4", &[3]), &[0; 11]),
            Err(WireError::LengthMismatch {
                expected: 12,
                found: 11
            })
        );
    }

    #[test]
    fn tolerates_other_writers() {
        // No trailing newline, no growth room, no padding, keys out of order, Python 2 ints.
        let bytes = v1_with_text("{'shape':(2L,3L),'fortran_order':True,'descr':'<i2'}");
        let (h, offset) = NpyHeader::parse(&bytes).expect("parses");
        assert_eq!(offset, bytes.len());
        assert_eq!(h.shape, [2, 3]);
        assert!(h.fortran_order);
        assert_eq!(h.dtype.descr_string(), "<i2");
        assert_eq!(h.element_count(), Ok(6));
        assert_eq!(h.data_len(), Ok(12));
        // 0-d arrays hold one element.
        assert_eq!(header("<f8", &[]).element_count(), Ok(1));
        assert_eq!(header("<f8", &[3, 0]).data_len(), Ok(0));
    }

    fn scalar_descr() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "|b1", "|i1", "i2", "i4", "i8", "|u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16",
            "M8[ns]", "m8[s]", "M8[D]", "|S7", "U3", "|V2",
        ])
        .prop_flat_map(|d| {
            let multi = !d.starts_with('|');
            prop::sample::select(if multi { vec!["<", ">"] } else { vec![""] })
                .prop_map(move |o| format!("{o}{d}"))
        })
    }

    proptest! {
        #[test]
        fn random_headers_round_trip(
            descr in scalar_descr(),
            shape in prop::collection::vec(0u64..6, 0..=4),
            fortran_order: bool,
            version in prop::sample::select(vec![Version::V1, Version::V2, Version::V3]),
        ) {
            let dtype = DType::parse_descr(&descr).expect("valid");
            let h = NpyHeader { version, dtype, fortran_order, shape };
            let len = h.data_len().expect("small") as usize;
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let bytes = write_npy(&h, &data).expect("writes");
            let view = parse_npy(&bytes, Trailing::Reject).expect("parses");
            prop_assert_eq!(&view.header, &h);
            prop_assert_eq!(view.data, &data[..]);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_npy(&bytes, Trailing::Reject);
            let _ = parse_npy(&bytes, Trailing::Allow);
        }

        #[test]
        fn arbitrary_headers_never_panic(
            version in 1u8..=3,
            text in prop::collection::vec(any::<u8>(), 0..200),
            data in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&[version, 0]);
            if version == 1 {
                bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
            } else {
                bytes.extend_from_slice(&(text.len() as u32).to_le_bytes());
            }
            bytes.extend_from_slice(&text);
            bytes.extend_from_slice(&data);
            let _ = parse_npy(&bytes, Trailing::Reject);
        }

        #[test]
        fn mutated_headers_never_panic(
            position in 0usize..128,
            byte: u8,
            cut in 0usize..=140,
        ) {
            let mut bytes = GOLDEN_ARANGE3_F4.to_vec();
            bytes[position] = byte;
            bytes.truncate(cut);
            let _ = parse_npy(&bytes, Trailing::Reject);
        }
    }

    #[test]
    fn scalar_constructors_match_descr() {
        assert_eq!(ScalarType::f4_le().descr(), "<f4");
        assert_eq!(ScalarType::bool8().descr(), "|b1");
    }
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

#[cfg(test)]
mod upload_tests {
    use super::*;
    use crate::wire::dtype::DType;

    fn doc() -> Vec<u8> {
        let header = NpyHeader {
            version: Version::V1,
            dtype: DType::parse_descr("<f4").unwrap(),
            fortran_order: false,
            shape: vec![3],
        };
        write_npy(&header, &[0u8; 12]).unwrap()
    }

    #[test]
    fn upload_must_match_its_shape_exactly() {
        let doc = doc();
        let len = doc.len() as u64;
        assert!(check_upload(&doc, len).is_ok());
        assert!(matches!(
            check_upload(&doc, len - 1),
            Err(WireError::DataTruncated { .. })
        ));
        assert!(matches!(
            check_upload(&doc, len + 1),
            Err(WireError::TrailingBytes { .. })
        ));
        // Only the header needs to be present in the prefix.
        assert!(check_upload(&doc[..128], len).is_ok());
        // A length that ends inside the header is refused, even for an empty array.
        let empty = write_npy(
            &NpyHeader {
                version: Version::V1,
                dtype: DType::parse_descr("<f4").unwrap(),
                fortran_order: false,
                shape: vec![0],
            },
            &[],
        )
        .unwrap();
        assert!(matches!(
            check_upload(&empty, 64),
            Err(WireError::DataTruncated { .. })
        ));
        assert!(check_upload(&empty, empty.len() as u64).is_ok());
    }
}
