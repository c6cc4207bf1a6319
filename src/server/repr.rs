//! Representations: what one GET returns for a stored array, after slicing, dtype conversion
//! and framing (.npy, raw or bundle), and how it is answered (ETag/304, Range/206/416).
//!
//! A representation is a list of [`Bytes`] parts — a small generated header plus slices of
//! the memory map — so the common cases (whole array, contiguous slice, native dtype) never
//! copy the data. Steps, conversions and Fortran-order arrays that must be reordered produce
//! one new buffer.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::server::error::ApiError;
use crate::server::store::{Fnv64, StoredArray};
use crate::wire::bundle::{bundle_layout, BundleItem};
use crate::wire::convert::{can_convert, convert};
use crate::wire::dtype::{DType, ScalarType};
use crate::wire::npy::{NpyHeader, Version};

/// `format=` of a single-array GET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An .npy document (the default).
    Npy,
    /// The data bytes only, described by `X-Array-Dtype` and `X-Array-Shape`.
    Raw,
}

/// `slice=START:STOP[:STEP]` along axis 0, with Python's semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SliceSpec {
    /// START, if given.
    pub start: Option<i64>,
    /// STOP, if given.
    pub stop: Option<i64>,
    /// STEP, if given (never 0).
    pub step: Option<i64>,
}

/// A slice resolved against a length: the rows `start, start+step, ...`, `count` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// First row.
    pub start: i64,
    /// Distance between rows (negative walks backwards).
    pub step: i64,
    /// Number of rows.
    pub count: u64,
}

impl SliceSpec {
    /// Parse `START:STOP[:STEP]`; every part may be empty.
    ///
    /// # Errors
    /// A 400 for anything else, or a zero step.
    pub fn parse(text: &str) -> Result<SliceSpec, ApiError> {
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() < 2 || parts.len() > 3 {
            return Err(ApiError::BadParam(format!(
                "slice={text:?} is not START:STOP or START:STOP:STEP"
            )));
        }
        let num = |part: &str| -> Result<Option<i64>, ApiError> {
            let part = part.trim();
            if part.is_empty() {
                return Ok(None);
            }
            part.parse::<i64>().map(Some).map_err(|_| {
                ApiError::BadParam(format!("slice={text:?}: {part:?} is not an integer"))
            })
        };
        let spec = SliceSpec {
            start: num(parts[0])?,
            stop: num(parts[1])?,
            step: match parts.get(2) {
                Some(part) => num(part)?,
                None => None,
            },
        };
        if spec.step == Some(0) {
            return Err(ApiError::BadParam("slice step cannot be zero".into()));
        }
        Ok(spec)
    }

    /// Python's `slice.indices(len)` followed by `len(range(...))`.
    pub fn resolve(&self, len: u64) -> Resolved {
        let len = i64::try_from(len).unwrap_or(i64::MAX);
        let step = self.step.unwrap_or(1);
        let (lower, upper) = if step < 0 { (-1, len - 1) } else { (0, len) };
        let clamp = |value: Option<i64>, default: i64| match value {
            None => default,
            Some(v) if v < 0 => (v.saturating_add(len)).max(lower),
            Some(v) => v.min(upper),
        };
        let start = clamp(self.start, if step < 0 { upper } else { lower });
        let stop = clamp(self.stop, if step < 0 { lower } else { upper });
        let count = if step > 0 && stop > start {
            (stop - start - 1) / step + 1
        } else if step < 0 && start > stop {
            (start - stop - 1) / (-step) + 1
        } else {
            0
        };
        Resolved {
            start,
            step,
            count: count as u64,
        }
    }
}

/// Options of a GET of one array (or of every array of a bundle).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Rows along axis 0.
    pub slice: Option<SliceSpec>,
    /// Convert to this dtype on the way out.
    pub dtype: Option<ScalarType>,
}

/// An array after selection: what goes on the wire.
#[derive(Debug, Clone)]
pub struct Selected {
    /// Element type of `data`.
    pub dtype: DType,
    /// Shape of `data`.
    pub shape: Vec<u64>,
    /// Whether `data` is in Fortran order (only ever for an untouched Fortran array).
    pub fortran_order: bool,
    /// The elements.
    pub data: Bytes,
    /// A canonical text of what was selected, for the ETag.
    pub key: String,
}

/// Whether serving this selection is only slicing (no conversion, gather or reordering of
/// more than a few kB), cheap enough to do on an async worker thread.
pub fn is_cheap(array: &StoredArray, format: Format, sel: &Selection) -> bool {
    const SMALL: usize = 64 * 1024;
    let header = &array.header;
    let reorders = header.fortran_order
        && header.shape.len() > 1
        && (format == Format::Raw || sel.slice.is_some() || sel.dtype.is_some());
    let converts = sel
        .dtype
        .as_ref()
        .is_some_and(|target| header.dtype.as_scalar() != Some(target));
    let gathers = sel.slice.is_some_and(|s| s.step.unwrap_or(1) != 1);
    array.data.len() <= SMALL || !(reorders || converts || gathers)
}

/// Apply a selection to a stored array. `c_order` forces C order (raw and bundles).
///
/// # Errors
/// 400 for a slice of a 0-d array or an unsupported conversion.
pub fn select(array: &StoredArray, sel: &Selection, c_order: bool) -> Result<Selected, ApiError> {
    let header = &array.header;
    let itemsize = header.dtype.itemsize() as u64;
    let mut shape = header.shape.clone();
    let mut data = array.data.clone();
    let mut fortran = header.fortran_order;
    let mut key = String::new();

    if fortran && (c_order || sel.slice.is_some() || sel.dtype.is_some()) && shape.len() > 1 {
        data = Bytes::from(fortran_to_c(&data, &shape, itemsize as usize));
        fortran = false;
    } else if shape.len() <= 1 {
        // For 0-d and 1-d arrays both orders are the same bytes.
        fortran = fortran && !c_order;
    }

    if let Some(slice) = sel.slice {
        if shape.is_empty() {
            return Err(ApiError::BadParam("a 0-d array cannot be sliced".into()));
        }
        let resolved = slice.resolve(shape[0]);
        let row = if shape.contains(&0) {
            0
        } else {
            shape[1..]
                .iter()
                .try_fold(itemsize, |acc, &d| acc.checked_mul(d))
                .and_then(|row| usize::try_from(row).ok())
                .ok_or_else(|| ApiError::Unprocessable("the array's row size overflows".into()))?
        };
        data = take_rows(&data, row, resolved);
        shape[0] = resolved.count;
        key.push_str(&format!(
            "slice={}:{}:{};",
            resolved.start, resolved.step, resolved.count
        ));
    }

    let mut dtype = header.dtype.clone();
    if let Some(target) = &sel.dtype {
        let DType::Scalar(source) = &header.dtype else {
            return Err(ApiError::BadParam(
                "dtype= cannot convert a structured (record) array".into(),
            ));
        };
        if source != target {
            if !can_convert(source, target) {
                return Err(ApiError::BadParam(format!(
                    "cannot convert {} to {}",
                    source.descr(),
                    target.descr()
                )));
            }
            data = Bytes::from(
                convert(&data, source, target).map_err(|e| ApiError::BadParam(e.to_string()))?,
            );
            dtype = DType::Scalar(target.clone());
        }
        key.push_str(&format!("dtype={};", target.descr()));
    }

    Ok(Selected {
        dtype,
        shape,
        fortran_order: fortran,
        data,
        key,
    })
}

/// The rows of a C-order buffer picked by a resolved slice; zero-copy when contiguous.
fn take_rows(data: &Bytes, row: usize, resolved: Resolved) -> Bytes {
    let count = resolved.count as usize;
    if count == 0 || row == 0 {
        return Bytes::new();
    }
    let start = resolved.start as usize;
    if resolved.step == 1 {
        return data.slice(start * row..(start + count) * row);
    }
    let mut out = Vec::with_capacity(count * row);
    let mut index = resolved.start;
    for _ in 0..count {
        let at = index as usize * row;
        out.extend_from_slice(&data[at..at + row]);
        index += resolved.step;
    }
    Bytes::from(out)
}

/// Reorder a Fortran-order (column-major) buffer into C order.
fn fortran_to_c(data: &[u8], shape: &[u64], itemsize: usize) -> Vec<u8> {
    if shape.contains(&0) {
        return Vec::new();
    }
    // The stored data length already bounds the product, so none of this overflows.
    let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    let count: usize = dims.iter().product();
    let mut out = vec![0u8; count * itemsize];
    // Fortran strides (in elements): the first axis varies fastest.
    let mut f_strides = vec![1usize; dims.len()];
    for axis in 1..dims.len() {
        f_strides[axis] = f_strides[axis - 1] * dims[axis - 1];
    }
    let mut index = vec![0usize; dims.len()];
    for c_pos in 0..count {
        let f_pos: usize = index.iter().zip(&f_strides).map(|(i, s)| i * s).sum();
        out[c_pos * itemsize..(c_pos + 1) * itemsize]
            .copy_from_slice(&data[f_pos * itemsize..(f_pos + 1) * itemsize]);
        // Advance the C-order multi-index (last axis fastest).
        for axis in (0..dims.len()).rev() {
            index[axis] += 1;
            if index[axis] < dims[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    out
}

/// A complete response body before Range: content type, extra headers, parts and validator.
#[derive(Debug, Clone)]
pub struct Representation {
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Headers describing the body (`X-Array-Dtype`, ...).
    pub headers: Vec<(HeaderName, String)>,
    /// The body, in order.
    pub parts: Vec<Bytes>,
    /// Strong validator, quoted, as sent in `ETag`.
    pub etag: String,
}

/// The `X-Array-Dtype` header.
pub const X_ARRAY_DTYPE: &str = "x-array-dtype";
/// The `X-Array-Shape` header.
pub const X_ARRAY_SHAPE: &str = "x-array-shape";

/// Join a shape as the comma-separated text of `X-Array-Shape` (empty for 0-d).
pub fn shape_text(shape: &[u64]) -> String {
    shape
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The quoted ETag of a representation of `base` (a stored array's etag) selected by `key`.
/// With no options it is the array's own validator, as listed by `/api/arrays`.
pub fn etag_for(base: &str, key: &str) -> String {
    if key.is_empty() {
        return format!("\"{base}\"");
    }
    let mut h = Fnv64::new();
    h.write(key.as_bytes());
    format!("\"{base}-{:016x}\"", h.finish())
}

/// One array as an .npy document or raw bytes.
pub fn single(
    array: &StoredArray,
    format: Format,
    sel: &Selection,
) -> Result<Representation, ApiError> {
    let selected = select(array, sel, format == Format::Raw)?;
    let mut key = selected.key.clone();
    match format {
        Format::Npy => {
            let header = NpyHeader {
                version: Version::V1,
                dtype: selected.dtype.clone(),
                fortran_order: selected.fortran_order,
                shape: selected.shape.clone(),
            };
            Ok(Representation {
                content_type: "application/x-npy",
                headers: Vec::new(),
                parts: vec![Bytes::from(header.to_bytes()), selected.data],
                etag: etag_for(&array.etag, &key),
            })
        }
        Format::Raw => {
            key.push_str("format=raw;");
            Ok(Representation {
                content_type: "application/octet-stream",
                headers: vec![
                    (
                        HeaderName::from_static(X_ARRAY_DTYPE),
                        selected.dtype.descr_string(),
                    ),
                    (
                        HeaderName::from_static(X_ARRAY_SHAPE),
                        shape_text(&selected.shape),
                    ),
                ],
                parts: vec![selected.data],
                etag: etag_for(&array.etag, &key),
            })
        }
    }
}

/// Zero bytes used to pad bundle parts to their 64-byte boundaries.
static ZEROS: [u8; 64] = [0; 64];

/// Several arrays in one body (see `wire::bundle` for the layout).
pub fn bundle(
    arrays: &[std::sync::Arc<StoredArray>],
    sel: &Selection,
) -> Result<Representation, ApiError> {
    let mut selected = Vec::with_capacity(arrays.len());
    let mut validator = Fnv64::new();
    for array in arrays {
        let s = select(array, sel, true)?;
        validator.write(array.name.as_bytes());
        validator.write(array.etag.as_bytes());
        validator.write(s.key.as_bytes());
        selected.push(s);
    }
    let items: Vec<BundleItem> = arrays
        .iter()
        .zip(&selected)
        .map(|(array, s)| BundleItem {
            name: array.name.clone(),
            dtype: s.dtype.clone(),
            shape: s.shape.clone(),
            nbytes: s.data.len() as u64,
        })
        .collect();
    let layout = bundle_layout(&items).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let mut parts = vec![Bytes::from(layout.header)];
    let mut at = parts[0].len() as u64;
    for (s, offset) in selected.into_iter().zip(layout.offsets) {
        while at < offset {
            let pad = (offset - at).min(ZEROS.len() as u64) as usize;
            parts.push(Bytes::from_static(&ZEROS[..pad]));
            at += pad as u64;
        }
        at += s.data.len() as u64;
        parts.push(s.data);
    }
    Ok(Representation {
        content_type: "application/x-downlink-bundle",
        headers: Vec::new(),
        parts,
        etag: format!("\"b-{:016x}\"", validator.finish()),
    })
}

/// A parsed `Range: bytes=` header: one range (multiple ranges are answered with the whole
/// representation, which RFC 9110 allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteRange {
    /// `bytes=A-B` or `bytes=A-`.
    From { first: u64, last: Option<u64> },
    /// `bytes=-N`: the last N bytes.
    Suffix(u64),
}

fn parse_range(value: &str) -> Option<ByteRange> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        return last.parse().ok().map(ByteRange::Suffix);
    }
    let first = first.parse().ok()?;
    let last = if last.is_empty() {
        None
    } else {
        Some(last.parse().ok()?)
    };
    Some(ByteRange::From { first, last })
}

/// Resolve a range against a length: the inclusive byte span, or `None` if unsatisfiable.
fn satisfy(range: ByteRange, len: u64) -> Option<(u64, u64)> {
    match range {
        ByteRange::From { first, last } => {
            if first >= len {
                return None;
            }
            let last = last.map_or(len - 1, |l| l.min(len - 1));
            (last >= first).then_some((first, last))
        }
        ByteRange::Suffix(n) => (n > 0 && len > 0).then(|| (len.saturating_sub(n), len - 1)),
    }
}

/// Whether an `If-None-Match` header value matches `etag` (weak comparison, as RFC 9110 asks).
fn none_match(value: &str, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    value
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == bare)
}

/// Answer a request for `rep`: 304 on a matching `If-None-Match`, 206/416 for a `Range`
/// (honoured only when an `If-Range` validator, if any, still matches), else 200.
///
/// # Errors
/// 416 for an unsatisfiable range.
pub fn respond(rep: Representation, request: &HeaderMap) -> Result<Response, ApiError> {
    let total: u64 = rep.parts.iter().map(|p| p.len() as u64).sum();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(rep.content_type),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(etag) = HeaderValue::from_str(&rep.etag) {
        headers.insert(header::ETAG, etag);
    }
    // Clients must revalidate, so a changed array is never served stale from a cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    for (name, value) in &rep.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name.clone(), value);
        }
    }

    if let Some(value) = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        if none_match(value, &rep.etag) {
            return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
        }
    }

    let if_range_ok = request
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == rep.etag);
    let range = request
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| if_range_ok)
        .and_then(parse_range);

    let Some(range) = range else {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
        return Ok((StatusCode::OK, headers, parts_body(rep.parts, total)).into_response());
    };
    let (first, last) = satisfy(range, total).ok_or(ApiError::RangeNotSatisfiable(total))?;
    let parts = cut(&rep.parts, first, last + 1);
    let len = last + 1 - first;
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(value) = HeaderValue::from_str(&format!("bytes {first}-{last}/{total}")) {
        headers.insert(header::CONTENT_RANGE, value);
    }
    Ok((StatusCode::PARTIAL_CONTENT, headers, parts_body(parts, len)).into_response())
}

/// The sub-slices of `parts` covering body bytes `[from, to)`, without copying.
fn cut(parts: &[Bytes], from: u64, to: u64) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut at = 0u64;
    for part in parts {
        let (start, end) = (at, at + part.len() as u64);
        at = end;
        if end <= from || start >= to {
            continue;
        }
        let lo = from.saturating_sub(start) as usize;
        let hi = (to.min(end) - start) as usize;
        out.push(part.slice(lo..hi));
    }
    out
}

fn parts_body(parts: Vec<Bytes>, len: u64) -> Body {
    Body::new(PartsBody {
        parts: parts.into_iter().filter(|p| !p.is_empty()).collect(),
        remaining: len,
    })
}

/// A body made of ready `Bytes` parts, with an exact size hint.
struct PartsBody {
    parts: VecDeque<Bytes>,
    remaining: u64,
}

impl http_body::Body for PartsBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        match self.parts.pop_front() {
            Some(part) => {
                self.remaining -= part.len() as u64;
                Poll::Ready(Some(Ok(http_body::Frame::data(part))))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_resolve_like_python() {
        // (spec, len) -> the indices Python's range(*slice(...).indices(len)) yields.
        let cases: &[(&str, u64, &[i64])] = &[
            ("0:3", 5, &[0, 1, 2]),
            (":", 3, &[0, 1, 2]),
            ("::-1", 3, &[2, 1, 0]),
            ("-2:", 5, &[3, 4]),
            (":-2", 5, &[0, 1, 2]),
            ("1:100:2", 6, &[1, 3, 5]),
            ("10:20", 5, &[]),
            ("-100:2", 5, &[0, 1]),
            ("4:0:-2", 6, &[4, 2]),
            ("::-2", 0, &[]),
            ("5:-100:-1", 3, &[2, 1, 0]),
        ];
        for (text, len, want) in cases {
            let r = SliceSpec::parse(text).unwrap().resolve(*len);
            let got: Vec<i64> = (0..r.count as i64).map(|i| r.start + i * r.step).collect();
            assert_eq!(&got[..], *want, "slice {text} of {len}");
        }
    }

    #[test]
    fn bad_slices_are_400() {
        for text in ["", "1", "a:b", "1:2:0", "1:2:3:4", "1.5:2"] {
            assert!(SliceSpec::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn ranges_parse_and_resolve() {
        assert_eq!(
            satisfy(parse_range("bytes=0-9").unwrap(), 100),
            Some((0, 9))
        );
        assert_eq!(
            satisfy(parse_range("bytes=90-").unwrap(), 100),
            Some((90, 99))
        );
        assert_eq!(
            satisfy(parse_range("bytes=-10").unwrap(), 100),
            Some((90, 99))
        );
        assert_eq!(
            satisfy(parse_range("bytes=-1000").unwrap(), 100),
            Some((0, 99))
        );
        assert_eq!(
            satisfy(parse_range("bytes=50-5000").unwrap(), 100),
            Some((50, 99))
        );
        assert_eq!(satisfy(parse_range("bytes=100-").unwrap(), 100), None);
        assert_eq!(satisfy(parse_range("bytes=9-3").unwrap(), 100), None);
        assert_eq!(satisfy(parse_range("bytes=-0").unwrap(), 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6"), None);
        assert_eq!(parse_range("items=0-1"), None);
    }

    #[test]
    fn cut_spans_parts() {
        let parts = vec![Bytes::from_static(b"abc"), Bytes::from_static(b"defg")];
        let joined = |v: Vec<Bytes>| v.concat();
        assert_eq!(joined(cut(&parts, 0, 7)), b"abcdefg");
        assert_eq!(joined(cut(&parts, 2, 5)), b"cde");
        assert_eq!(joined(cut(&parts, 3, 4)), b"d");
    }

    #[test]
    fn fortran_reorders_to_c() {
        // np.arange(6).reshape(2, 3, order='F') holds 0..6 column-major: C order is 0 2 4 1 3 5.
        let data: Vec<u8> = (0u8..6).collect();
        assert_eq!(fortran_to_c(&data, &[2, 3], 1), vec![0, 2, 4, 1, 3, 5]);
    }
}
