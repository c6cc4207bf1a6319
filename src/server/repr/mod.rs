//! Representations: what one GET returns for a stored array, after slicing, dtype conversion
//! and framing (.npy, raw or bundle), and how it is answered (ETag/304, Range/206/416).
//!
//! A representation is a list of [`Bytes`] parts — a small generated header plus slices of
//! the memory map — so the common cases (whole array, contiguous slice, native dtype) never
//! copy the data. Steps, conversions and Fortran-order arrays that must be reordered produce
//! one new buffer.
//!
//! - `slice`: `slice=` parsed and resolved as Python does.
//! - `respond`: ETag, Range and the body.

mod respond;
mod slice;

pub use respond::respond;
pub use slice::{Resolved, SliceSpec};

use axum::http::HeaderName;
use bytes::Bytes;

use crate::catalog::{shape_header, X_ARRAY_DTYPE, X_ARRAY_SHAPE};
use crate::server::error::ApiError;
use crate::server::store::{Fnv64, StoredArray};
use crate::wire::bundle::{bundle_layout, BundleItem};
use crate::wire::convert::{can_convert, convert, fortran_to_c};
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
    /// The selected elements: a slice of the map where nothing had to be converted or
    /// reordered.
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
                .ok_or_else(|| ApiError::Internal("a stored array's row size overflows".into()))?
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
            data = Bytes::from(convert(&data, source, target)?);
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
                        selected.dtype.descr_ascii(),
                    ),
                    (
                        HeaderName::from_static(X_ARRAY_SHAPE),
                        shape_header(&selected.shape),
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
    let layout = bundle_layout(&items)?;
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
