//! The Downlink bundle: several arrays in one binary body, so a page that needs a few arrays
//! makes one request, and every array can be viewed in place as a typed array (each starts on
//! a 64-byte boundary of the body, like `.npy` data). The layout is the public contract:
//!
//! ```text
//! offset 0   8 bytes  magic  b"DLBUNDLE"
//! offset 8   u32 LE   version = 1
//! offset 12  u32 LE   H = length of the JSON header in bytes
//! offset 16  H bytes  UTF-8 JSON: {"arrays":[{"name":"a","dtype":"<f4","shape":[3],"offset":128,"nbytes":12}, ...]}
//!            (JSON padded with spaces so 16+H is a multiple of 64)
//! then       each array's data at its "offset" (absolute from the start of the body, a multiple of 64),
//!            zero bytes between arrays; data is C-order; "dtype" is DType::to_json.
//! ```
//!
//! The body ends right after the last array's data. Decoders check every offset and length
//! against the body, require arrays in order without overlap, ignore unknown JSON keys (room
//! for later additions), and do not insist that `16+H` is padded, since the offsets already
//! carry the alignment.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::dtype::DType;
use super::WireError;

/// The eight bytes every bundle starts with.
pub const BUNDLE_MAGIC: &[u8; 8] = b"DLBUNDLE";
/// The only bundle version so far.
pub const BUNDLE_VERSION: u32 = 1;
/// Every array's data starts on a multiple of this many bytes.
pub const BUNDLE_ALIGN: u64 = 64;
/// Longest JSON header a decoder accepts (about 150,000 arrays).
pub const MAX_BUNDLE_HEADER_LEN: usize = 16 << 20;
/// Magic, version and header length.
const PREFIX_LEN: usize = 16;

/// One array to put in a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleItem {
    /// Unique name within the bundle.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// C-order shape.
    pub shape: Vec<u64>,
    /// Data length, which must be product(shape) × itemsize.
    pub nbytes: u64,
}

/// Where everything goes in a bundle body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleLayout {
    /// Magic, version, length and padded JSON: the first bytes of the body.
    pub header: Vec<u8>,
    /// Absolute offset of each item's data, in item order.
    pub offsets: Vec<u64>,
    /// Length of the whole body.
    pub total_len: u64,
}

/// One array found in a bundle, its data borrowed from the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleEntry<'a> {
    /// Its name.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// C-order shape.
    pub shape: Vec<u64>,
    /// Absolute offset of the data in the body (a multiple of 64).
    pub offset: usize,
    /// Exactly product(shape) × itemsize bytes.
    pub data: &'a [u8],
}

#[derive(Serialize, Deserialize)]
struct HeaderJson {
    arrays: Vec<EntryJson>,
}

#[derive(Serialize, Deserialize)]
struct EntryJson {
    name: String,
    dtype: serde_json::Value,
    shape: Vec<u64>,
    offset: u64,
    nbytes: u64,
}

fn entry_error(index: usize, name: &str, reason: impl Into<String>) -> WireError {
    WireError::BadBundleEntry {
        index,
        name: name.to_string(),
        reason: reason.into(),
    }
}

/// product(shape) × itemsize, or `None` on overflow.
fn expected_nbytes(dtype: &DType, shape: &[u64]) -> Option<u64> {
    shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))?
        .checked_mul(dtype.itemsize() as u64)
}

fn round_up(value: u64) -> Option<u64> {
    value
        .checked_add(BUNDLE_ALIGN - 1)
        .map(|v| v / BUNDLE_ALIGN * BUNDLE_ALIGN)
}

/// The header bytes and each array's absolute offset; the caller writes the header, then
/// for each item zero padding up to its offset and its data. Also returns the body length.
///
/// # Errors
/// [`WireError::BadBundleEntry`] for a duplicate name, an `nbytes` that is not
/// product(shape) × itemsize, or offsets past `u64`.
pub fn bundle_layout(items: &[BundleItem]) -> Result<BundleLayout, WireError> {
    let mut names = HashSet::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        if !names.insert(item.name.as_str()) {
            return Err(entry_error(
                index,
                &item.name,
                "another array has the same name",
            ));
        }
        let expected = expected_nbytes(&item.dtype, &item.shape)
            .ok_or_else(|| entry_error(index, &item.name, "its shape overflows 64 bits"))?;
        if expected != item.nbytes {
            return Err(entry_error(
                index,
                &item.name,
                format!(
                    "nbytes is {} but the shape and dtype need {expected}",
                    item.nbytes
                ),
            ));
        }
    }
    let overflow = || {
        entry_error(
            items.len().saturating_sub(1),
            items.last().map_or("", |i| i.name.as_str()),
            "the bundle would be larger than 2^64 bytes",
        )
    };
    // The offsets depend on the header length and the header holds the offsets, so grow
    // the header until the JSON fits; each round only lengthens offsets, so it settles
    // within a few rounds.
    let mut header_end = BUNDLE_ALIGN;
    loop {
        let mut offsets = Vec::with_capacity(items.len());
        let mut next = header_end;
        for item in items {
            offsets.push(next);
            next = next
                .checked_add(item.nbytes)
                .and_then(round_up)
                .ok_or_else(overflow)?;
        }
        let total_len = match (offsets.last(), items.last()) {
            (Some(&offset), Some(item)) => offset.checked_add(item.nbytes).ok_or_else(overflow)?,
            _ => header_end,
        };
        let json = HeaderJson {
            arrays: items
                .iter()
                .zip(&offsets)
                .map(|(item, &offset)| EntryJson {
                    name: item.name.clone(),
                    dtype: item.dtype.to_json(),
                    shape: item.shape.clone(),
                    offset,
                    nbytes: item.nbytes,
                })
                .collect(),
        };
        let json =
            serde_json::to_vec(&json).map_err(|e| WireError::BadBundleHeader(e.to_string()))?;
        let needed = round_up((PREFIX_LEN + json.len()) as u64).ok_or_else(overflow)?;
        if needed > header_end {
            header_end = needed;
            continue;
        }
        let json_len = header_end as usize - PREFIX_LEN;
        let Ok(json_len_field) = u32::try_from(json_len) else {
            return Err(WireError::BadBundleHeader(
                "the JSON header would be longer than 4 GiB".to_string(),
            ));
        };
        let mut header = Vec::with_capacity(header_end as usize);
        header.extend_from_slice(BUNDLE_MAGIC);
        header.extend_from_slice(&BUNDLE_VERSION.to_le_bytes());
        header.extend_from_slice(&json_len_field.to_le_bytes());
        header.extend_from_slice(&json);
        header.resize(header_end as usize, b' ');
        return Ok(BundleLayout {
            header,
            offsets,
            total_len,
        });
    }
}

/// Convenience encoder for tests and clients: builds the whole body.
///
/// # Errors
/// As [`bundle_layout`], plus [`WireError::BadBundleEntry`] when a data slice is not
/// `nbytes` long.
pub fn encode_bundle(items: &[(BundleItem, &[u8])]) -> Result<Vec<u8>, WireError> {
    for (index, (item, data)) in items.iter().enumerate() {
        if data.len() as u64 != item.nbytes {
            return Err(entry_error(
                index,
                &item.name,
                format!(
                    "nbytes is {} but {} data bytes were given",
                    item.nbytes,
                    data.len()
                ),
            ));
        }
    }
    let plain: Vec<BundleItem> = items.iter().map(|(item, _)| item.clone()).collect();
    let layout = bundle_layout(&plain)?;
    let total_len = usize::try_from(layout.total_len).map_err(|_| {
        WireError::BadBundleHeader("the bundle is larger than this machine can address".into())
    })?;
    // Offsets are below total_len, so they fit usize too.
    let mut body = Vec::with_capacity(total_len);
    body.extend_from_slice(&layout.header);
    for ((_, data), &offset) in items.iter().zip(&layout.offsets) {
        body.resize(offset as usize, 0);
        body.extend_from_slice(data);
    }
    Ok(body)
}

/// One array's place in a bundle body, as its header says and [`bundle_spans`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleSpan {
    /// Its name.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// C-order shape.
    pub shape: Vec<u64>,
    /// Absolute offset of the data in the body (a multiple of 64).
    pub offset: u64,
    /// Exactly product(shape) × itemsize bytes.
    pub nbytes: u64,
}

/// How many bytes from the start of a bundle body hold its magic, version and JSON header,
/// from its first 16 bytes (`prefix`); what [`bundle_spans`] needs to see.
///
/// # Errors
/// [`WireError::BadBundleMagic`], [`WireError::BundleTruncated`] (fewer than 16 bytes),
/// [`WireError::UnsupportedBundleVersion`] and [`WireError::BadBundleHeader`] (a header over
/// [`MAX_BUNDLE_HEADER_LEN`]).
pub fn bundle_header_len(prefix: &[u8]) -> Result<usize, WireError> {
    let magic_len = BUNDLE_MAGIC.len().min(prefix.len());
    if prefix[..magic_len] != BUNDLE_MAGIC[..magic_len] {
        return Err(WireError::BadBundleMagic);
    }
    let (Some(version), Some(json_len)) = (read_u32(prefix, 8), read_u32(prefix, 12)) else {
        return Err(WireError::BundleTruncated {
            needed: PREFIX_LEN as u64,
            available: prefix.len(),
        });
    };
    if version != BUNDLE_VERSION {
        return Err(WireError::UnsupportedBundleVersion(version));
    }
    let json_len = json_len as usize;
    if json_len > MAX_BUNDLE_HEADER_LEN {
        return Err(WireError::BadBundleHeader(format!(
            "it claims {json_len} bytes, over the limit of {MAX_BUNDLE_HEADER_LEN}"
        )));
    }
    Ok(PREFIX_LEN + json_len)
}

/// Validate a bundle from its first bytes (`head`, at least [`bundle_header_len`] of them)
/// and the length of the whole body: where each array lies (hostile input: every offset and
/// length is checked against `body_len`, nbytes must equal product(shape) × itemsize,
/// offsets are 64-aligned, arrays in order without overlap, no trailing bytes).
///
/// # Errors
/// As [`bundle_header_len`], plus [`WireError::BundleTruncated`],
/// [`WireError::BadBundleHeader`], [`WireError::BadBundleEntry`] and
/// [`WireError::TrailingBytes`].
pub fn bundle_spans(head: &[u8], body_len: u64) -> Result<Vec<BundleSpan>, WireError> {
    let header_end = bundle_header_len(head)?;
    let Some(json) = head.get(PREFIX_LEN..header_end) else {
        return Err(WireError::BundleTruncated {
            needed: header_end as u64,
            available: head.len(),
        });
    };
    if (header_end as u64) > body_len {
        return Err(WireError::BundleTruncated {
            needed: header_end as u64,
            available: usize::try_from(body_len).unwrap_or(usize::MAX),
        });
    }
    let header: HeaderJson =
        serde_json::from_slice(json).map_err(|e| WireError::BadBundleHeader(e.to_string()))?;

    let mut spans: Vec<BundleSpan> = Vec::with_capacity(header.arrays.len());
    // A set keeps the duplicate check linear in the number of arrays.
    let mut names: HashSet<String> = HashSet::with_capacity(header.arrays.len());
    let mut previous_end = header_end as u64;
    for (index, entry) in header.arrays.into_iter().enumerate() {
        let fail = |reason: String| entry_error(index, &entry.name, reason);
        if !names.insert(entry.name.clone()) {
            return Err(fail("another array has the same name".to_string()));
        }
        let dtype = DType::from_json(&entry.dtype).map_err(|e| fail(e.to_string()))?;
        let expected = expected_nbytes(&dtype, &entry.shape)
            .ok_or_else(|| fail("its shape overflows 64 bits".to_string()))?;
        if expected != entry.nbytes {
            return Err(fail(format!(
                "nbytes is {} but the shape and dtype need {expected}",
                entry.nbytes
            )));
        }
        if !entry.offset.is_multiple_of(BUNDLE_ALIGN) {
            return Err(fail(format!(
                "its offset {} is not a multiple of {BUNDLE_ALIGN}",
                entry.offset
            )));
        }
        if entry.offset < previous_end {
            return Err(fail(format!(
                "its offset {} overlaps the header or the previous array (which ends at {previous_end})",
                entry.offset
            )));
        }
        let end = entry
            .offset
            .checked_add(entry.nbytes)
            .filter(|&end| end <= body_len)
            .ok_or_else(|| {
                fail(format!(
                    "its data ({} bytes at offset {}) runs past the end of the {body_len}-byte body",
                    entry.nbytes, entry.offset,
                ))
            })?;
        spans.push(BundleSpan {
            name: entry.name,
            dtype,
            shape: entry.shape,
            offset: entry.offset,
            nbytes: entry.nbytes,
        });
        previous_end = end;
    }
    if previous_end < body_len {
        return Err(WireError::TrailingBytes {
            expected: previous_end,
            found: usize::try_from(body_len).unwrap_or(usize::MAX),
        });
    }
    Ok(spans)
}

/// Decode and validate a whole bundle body (see [`bundle_spans`]), each array's data
/// borrowed from it.
///
/// # Errors
/// As [`bundle_spans`].
pub fn decode_bundle(body: &[u8]) -> Result<Vec<BundleEntry<'_>>, WireError> {
    let spans = bundle_spans(body, body.len() as u64)?;
    Ok(spans
        .into_iter()
        .map(|span| {
            // Both bounds were checked against body.len(), so they fit usize.
            let (start, end) = (span.offset as usize, (span.offset + span.nbytes) as usize);
            BundleEntry {
                name: span.name,
                dtype: span.dtype,
                shape: span.shape,
                offset: start,
                data: &body[start..end],
            }
        })
        .collect())
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    match bytes.get(at..at.checked_add(4)?)? {
        &[a, b, c, d] => Some(u32::from_le_bytes([a, b, c, d])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item(name: &str, dtype: &str, shape: &[u64]) -> BundleItem {
        let dtype = if dtype.starts_with('[') {
            crate::wire::pyliteral::parse(dtype)
                .and_then(|v| DType::from_descr_value(&v))
                .expect("valid record")
        } else {
            DType::parse_descr(dtype).expect("valid descr")
        };
        let nbytes = expected_nbytes(&dtype, shape).expect("small");
        BundleItem {
            name: name.to_string(),
            dtype,
            shape: shape.to_vec(),
            nbytes,
        }
    }

    fn filled(len: u64, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn sample_body() -> Vec<u8> {
        let items = [
            item("a", "<f4", &[3]),
            item("points", "[('x', '<f8'), ('tag', '|S3', (2,))]", &[2]),
            item("名前", ">u2", &[2, 5]),
            item("empty", "<i8", &[0, 4]),
        ];
        let data: Vec<Vec<u8>> = items
            .iter()
            .enumerate()
            .map(|(i, it)| filled(it.nbytes, i as u8))
            .collect();
        let pairs: Vec<(BundleItem, &[u8])> = items
            .iter()
            .cloned()
            .zip(data.iter().map(Vec::as_slice))
            .collect();
        encode_bundle(&pairs).expect("encodes")
    }

    /// Where the JSON header of hand-made test bodies ends.
    const RAW_HEADER_END: usize = 256;

    /// A body with the given JSON header padded to [`RAW_HEADER_END`] and `data_len` bytes
    /// after it.
    fn raw(json: &str, data_len: usize) -> Vec<u8> {
        assert!(
            PREFIX_LEN + json.len() <= RAW_HEADER_END,
            "test JSON too long"
        );
        let mut body = BUNDLE_MAGIC.to_vec();
        body.extend_from_slice(&1u32.to_le_bytes());
        body.extend_from_slice(&((RAW_HEADER_END - PREFIX_LEN) as u32).to_le_bytes());
        body.extend_from_slice(json.as_bytes());
        body.resize(RAW_HEADER_END, b' ');
        body.resize(RAW_HEADER_END + data_len, 0);
        body
    }

    fn reason(result: Result<Vec<BundleEntry<'_>>, WireError>) -> String {
        match result {
            Err(WireError::BadBundleEntry { reason, .. }) => reason,
            other => panic!("expected a bad entry, got {other:?}"),
        }
    }

    #[test]
    fn round_trip() {
        let items = [
            item("a", "<f4", &[3]),
            item("points", "[('x', '<f8'), ('tag', '|S3', (2,))]", &[2]),
            item("名前", ">u2", &[2, 5]),
            item("empty", "<i8", &[0, 4]),
        ];
        let body = sample_body();
        let entries = decode_bundle(&body).expect("decodes");
        assert_eq!(entries.len(), items.len());
        for (i, (entry, item)) in entries.iter().zip(&items).enumerate() {
            assert_eq!(entry.name, item.name);
            assert_eq!(entry.dtype, item.dtype);
            assert_eq!(entry.shape, item.shape);
            assert_eq!(entry.offset % 64, 0);
            assert_eq!(entry.data, &filled(item.nbytes, i as u8)[..]);
        }
        let layout = bundle_layout(&items).expect("lays out");
        assert_eq!(layout.total_len, body.len() as u64);
        assert_eq!(layout.header.len() % 64, 0);
        assert_eq!(&body[..layout.header.len()], &layout.header[..]);
        assert!(layout.offsets.iter().all(|o| o % 64 == 0));
        assert_eq!(layout.offsets[0], layout.header.len() as u64);
        // The JSON is exactly what the contract shows.
        let json_len = u32::from_le_bytes([body[12], body[13], body[14], body[15]]) as usize;
        let json: serde_json::Value =
            serde_json::from_slice(&body[16..16 + json_len]).expect("json");
        assert_eq!(
            json["arrays"][0],
            serde_json::json!({"name": "a", "dtype": "<f4", "shape": [3], "offset": layout.offsets[0], "nbytes": 12})
        );
        assert_eq!(
            json["arrays"][1]["dtype"],
            serde_json::json!([["x", "<f8"], ["tag", "|S3", [2]]])
        );
        // Gaps are zero bytes.
        let first_end = (layout.offsets[0] + 12) as usize;
        assert!(body[first_end..layout.offsets[1] as usize]
            .iter()
            .all(|&b| b == 0));
    }

    #[test]
    fn empty_bundle() {
        let body = encode_bundle(&[]).expect("encodes");
        assert_eq!(body.len(), 64);
        assert_eq!(decode_bundle(&body), Ok(vec![]));
    }

    #[test]
    fn layout_grows_header_for_long_offsets() {
        let items: Vec<BundleItem> = (0..40)
            .map(|i| BundleItem {
                name: format!("array_{i}"),
                dtype: DType::parse_descr("|u1").expect("valid"),
                shape: vec![1 << 40],
                nbytes: 1 << 40,
            })
            .collect();
        let layout = bundle_layout(&items).expect("lays out");
        let json_len = layout.header.len() - PREFIX_LEN;
        let json: HeaderJson =
            serde_json::from_slice(&layout.header[PREFIX_LEN..PREFIX_LEN + json_len])
                .expect("json");
        assert_eq!(json.arrays.len(), 40);
        assert_eq!(json.arrays[0].offset, layout.header.len() as u64);
        for (entry, offset) in json.arrays.iter().zip(&layout.offsets) {
            assert_eq!(entry.offset, *offset);
            assert_eq!(offset % 64, 0);
        }
        assert_eq!(layout.total_len, layout.offsets[39] + (1 << 40));
    }

    #[test]
    fn layout_refuses_inconsistent_items() {
        let mut wrong = item("a", "<f4", &[3]);
        wrong.nbytes = 11;
        assert!(matches!(
            bundle_layout(&[wrong]),
            Err(WireError::BadBundleEntry { index: 0, .. })
        ));
        let twice = [item("a", "<f4", &[3]), item("a", "<f8", &[1])];
        assert!(matches!(
            bundle_layout(&twice),
            Err(WireError::BadBundleEntry { index: 1, .. })
        ));
        let short = item("a", "<f4", &[3]);
        assert!(matches!(
            encode_bundle(&[(short, &[0u8; 4][..])]),
            Err(WireError::BadBundleEntry { .. })
        ));
        let huge = BundleItem {
            name: "h".into(),
            dtype: DType::parse_descr("<f8").expect("valid"),
            shape: vec![u64::MAX],
            nbytes: 0,
        };
        assert!(matches!(
            bundle_layout(&[huge]),
            Err(WireError::BadBundleEntry { .. })
        ));
    }

    #[test]
    fn hostile_bundles() {
        let body = sample_body();
        assert_eq!(
            decode_bundle(b""),
            Err(WireError::BundleTruncated {
                needed: 16,
                available: 0
            })
        );
        assert_eq!(
            decode_bundle(b"DLBUN"),
            Err(WireError::BundleTruncated {
                needed: 16,
                available: 5
            })
        );
        assert_eq!(
            decode_bundle(b"\x93NUMPY\x01\x00"),
            Err(WireError::BadBundleMagic)
        );
        assert_eq!(
            decode_bundle(&body[..12]),
            Err(WireError::BundleTruncated {
                needed: 16,
                available: 12
            })
        );

        let mut version2 = body.clone();
        version2[8] = 2;
        assert_eq!(
            decode_bundle(&version2),
            Err(WireError::UnsupportedBundleVersion(2))
        );

        let mut past_end = body.clone();
        past_end[12..16].copy_from_slice(&(body.len() as u32).to_le_bytes());
        assert_eq!(
            decode_bundle(&past_end),
            Err(WireError::BundleTruncated {
                needed: body.len() as u64 + 16,
                available: body.len()
            })
        );
        let mut over_limit = body.clone();
        over_limit[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_bundle(&over_limit),
            Err(WireError::BadBundleHeader(_))
        ));

        assert!(matches!(
            decode_bundle(&raw("{\"arrays\": [", 0)),
            Err(WireError::BadBundleHeader(_))
        ));
        assert!(matches!(
            decode_bundle(&raw("not json", 0)),
            Err(WireError::BadBundleHeader(_))
        ));
        assert!(matches!(
            decode_bundle(&raw("{}", 0)),
            Err(WireError::BadBundleHeader(_))
        ));
        assert!(matches!(
            decode_bundle(&raw(
                r#"{"arrays":[{"name":"a","dtype":"<f4","shape":[-1],"offset":64,"nbytes":4}]}"#,
                4
            )),
            Err(WireError::BadBundleHeader(_))
        ));
        assert_eq!(
            decode_bundle(&raw(r#"{"arrays":[], "later": 1}"#, 0)),
            Ok(vec![])
        );

        let entry = |dtype: &str, shape: &str, offset: u64, nbytes: u64| {
            format!(
                r#"{{"arrays":[{{"name":"a","dtype":{dtype},"shape":{shape},"offset":{offset},"nbytes":{nbytes}}}]}}"#
            )
        };
        assert!(decode_bundle(&raw(&entry("\"<f4\"", "[3]", 256, 12), 12)).is_ok());
        let past = reason(decode_bundle(&raw(&entry("\"<f4\"", "[3]", 256, 12), 11)));
        assert!(past.contains("past the end"), "{past}");
        let far = reason(decode_bundle(&raw(
            &entry("\"|u1\"", "[18446744073709551615]", 320, u64::MAX),
            64,
        )));
        assert!(far.contains("past the end"), "{far}");
        let misaligned = reason(decode_bundle(&raw(&entry("\"<f4\"", "[3]", 260, 12), 16)));
        assert!(misaligned.contains("multiple of 64"), "{misaligned}");
        let mismatch = reason(decode_bundle(&raw(&entry("\"<f4\"", "[3]", 256, 16), 16)));
        assert!(mismatch.contains("need 12"), "{mismatch}");
        let overflow = reason(decode_bundle(&raw(
            &entry("\"<f8\"", "[4294967296, 4294967296]", 256, 0),
            64,
        )));
        assert!(overflow.contains("overflows"), "{overflow}");
        let in_header = reason(decode_bundle(&raw(&entry("\"<f4\"", "[3]", 0, 12), 12)));
        assert!(in_header.contains("overlaps"), "{in_header}");
        let object = reason(decode_bundle(&raw(&entry("\"|O\"", "[1]", 256, 8), 8)));
        assert!(object.contains("pickle"), "{object}");
        let bad_dtype = reason(decode_bundle(&raw(&entry("{\"x\":1}", "[1]", 256, 8), 8)));
        assert!(bad_dtype.contains("dtype"), "{bad_dtype}");
        assert_eq!(
            decode_bundle(&raw(&entry("\"<f4\"", "[3]", 256, 12), 13)),
            Err(WireError::TrailingBytes {
                expected: 268,
                found: 269
            })
        );

        let two = r#"{"arrays":[{"name":"a","dtype":"|u1","shape":[1],"offset":256,"nbytes":1},{"name":"b","dtype":"|u1","shape":[1],"offset":256,"nbytes":1}]}"#;
        let overlap = reason(decode_bundle(&raw(two, 64)));
        assert!(overlap.contains("overlaps"), "{overlap}");
        let dup = two.replace("\"b\"", "\"a\"").replace(
            "\"offset\":256,\"nbytes\":1}]",
            "\"offset\":320,\"nbytes\":1}]",
        );
        let duplicate = reason(decode_bundle(&raw(&dup, 65)));
        assert!(duplicate.contains("same name"), "{duplicate}");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_bundle(&bytes);
        }

        #[test]
        fn mutated_bundles_never_panic(position in 0usize..600, byte: u8, cut in 0usize..700) {
            let mut body = sample_body();
            if let Some(b) = body.get_mut(position) {
                *b = byte;
            }
            body.truncate(cut);
            let _ = decode_bundle(&body);
        }
    }
}
