//! `GET /zarr/...`: every array, read-only, as a Zarr v3 store over HTTP, so zarr-python,
//! xarray and zarrita.js read Downlink arrays with no Downlink code of their own.
//!
//! - `/zarr/{name}/zarr.json` is the array's metadata; `/zarr/{prefix}/zarr.json` (and
//!   `/zarr/zarr.json`, the root) a group of every array under the prefix, with consolidated
//!   metadata.
//! - Chunks are runs of whole rows along the first axis, about [`CHUNK_BYTES`] each (a
//!   Fortran-order array: runs along the last axis, through the `transpose` codec), stored
//!   with the `bytes` codec only, in the array's own byte order. A chunk of an `.npy` or a
//!   stored `.npz` member is then a slice of the map, sent without a copy; only the last
//!   chunk is padded to the whole chunk shape, as Zarr's regular grid wants.
//! - Every answer goes through the same ETag, 304 and Range handling as `/api/arrays`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::names::validate_name;
use crate::server::error::ApiError;
use crate::server::limits::Heavy;
use crate::server::repr::{self, etag_for, Part, Representation};
use crate::server::store::{Fnv64, Store, StoreError, StoredArray};
use crate::server::task::blocking;
use crate::wire::dtype::{ByteOrder, DType, ScalarKind, ScalarType};

/// About how many bytes one chunk holds (whole rows; at least one row).
pub const CHUNK_BYTES: u64 = 1 << 20;

/// Zeros for the padding of edge chunks.
static ZERO_PAGE: [u8; 1 << 16] = [0; 1 << 16];

/// `GET /zarr/{*key}`: a metadata document or a chunk.
#[utoipa::path(
    get,
    path = "/zarr/{key}",
    tag = "arrays",
    params(("key" = String, Path, allow_reserved,
        description = "A Zarr v3 key: NAME/zarr.json (an array's or a group's metadata, zarr.json alone for the root group) or NAME/c/I/J... (a chunk)",
        example = "demo/vibration/zarr.json")),
    responses(
        (status = 200, description = "The metadata (JSON) or the chunk's bytes", content(
            ("application/json"), ("application/octet-stream"),
        ), headers(("ETag" = String, description = "Strong; names the array's version"))),
        (status = 206, description = "The requested byte range of the 200 body"),
        (status = 304, description = "If-None-Match matched the ETag"),
        (status = 404, description = "No such array, group or chunk", body = crate::server::openapi::ErrorBody),
        (status = 416, description = "The range is outside the representation", body = crate::server::openapi::ErrorBody),
        (status = 422, description = "The array's dtype has no Zarr v3 data type (strings, records), or a chunk of a Zarr array cannot be decoded", body = crate::server::openapi::ErrorBody),
        (status = 502, description = "With --data s3://: the bucket did not answer or failed the request (the message gives its reason); nothing of it is remembered, so ask again", body = crate::server::openapi::ErrorBody),
    )
)]
pub(crate) async fn get_key(
    State(store): State<Store>,
    State(heavy): State<Heavy>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let rep = blocking(move || answer(&store, &key)).await?;
    repr::respond_within(rep, &headers, &heavy).await
}

/// The representation of one key.
fn answer(store: &Store, key: &str) -> Result<Representation, ApiError> {
    let not_found = || ApiError::NotFound(format!("no Zarr key '{key}' (see /api/arrays)"));
    if let Some(prefix) = key
        .strip_suffix("zarr.json")
        .and_then(|p| p.strip_suffix('/').or(p.is_empty().then_some("")))
    {
        if !prefix.is_empty() {
            validate_name(prefix).map_err(|_| not_found())?;
            match store.get_lazy(prefix) {
                Ok(array) => return array_document(&array),
                Err(StoreError::NotFound(_)) => {}
                Err(err) => return Err(err.into()),
            }
        }
        return group_document(store, prefix)?.ok_or_else(not_found);
    }
    // NAME/c/I/J...: the first split whose name is an array with as many dimensions.
    let segments: Vec<&str> = key.split('/').collect();
    for (at, segment) in segments.iter().enumerate().skip(1) {
        let indices = &segments[at + 1..];
        if *segment != "c"
            || !indices
                .iter()
                .all(|i| i.bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        let name = segments[..at].join("/");
        if validate_name(&name).is_err() {
            continue;
        }
        let array = match store.get_lazy(&name) {
            Ok(array) => array,
            Err(StoreError::NotFound(_)) => continue,
            Err(err) => return Err(err.into()),
        };
        let indices: Option<Vec<u64>> = indices.iter().map(|i| i.parse().ok()).collect();
        let indices = indices.ok_or_else(not_found)?;
        if indices.len() != array.header.shape.len() {
            return Err(not_found());
        }
        return chunk(&array, &indices).ok_or_else(not_found)?;
    }
    Err(not_found())
}

/// How an array is cut into chunks.
struct Grid {
    /// The chunk shape.
    chunk: Vec<u64>,
    /// The axis the chunks run along (0, or the last axis of a Fortran-order array).
    axis: usize,
    /// Bytes of one index along `axis`.
    slab: u64,
}

impl Grid {
    fn of(array: &StoredArray) -> Grid {
        let header = &array.header;
        let shape = &header.shape;
        let itemsize = header.dtype.itemsize() as u64;
        if shape.is_empty() {
            return Grid {
                chunk: Vec::new(),
                axis: 0,
                slab: itemsize,
            };
        }
        let axis = if header.fortran_order && shape.len() > 1 {
            shape.len() - 1
        } else {
            0
        };
        let slab = shape
            .iter()
            .enumerate()
            .filter(|(d, _)| *d != axis)
            .map(|(_, n)| *n)
            .product::<u64>()
            * itemsize;
        let run = (CHUNK_BYTES / slab.max(1)).clamp(1, shape[axis].max(1));
        let chunk = shape
            .iter()
            .enumerate()
            .map(|(d, n)| if d == axis { run } else { (*n).max(1) })
            .collect();
        Grid { chunk, axis, slab }
    }
}

/// The Zarr v3 metadata of an array.
fn array_metadata(array: &StoredArray) -> Result<Value, ApiError> {
    let DType::Scalar(scalar) = &array.header.dtype else {
        return Err(unservable(array, "a structured (record) dtype"));
    };
    let (data_type, fill) = data_type(scalar).ok_or_else(|| {
        unservable(
            array,
            &format!("dtype {}, which has no Zarr v3 data type", scalar.descr()),
        )
    })?;
    let grid = Grid::of(array);
    let mut codecs = Vec::new();
    let ndim = array.header.shape.len();
    if grid.axis != 0 {
        codecs.push(json!({"name": "transpose", "configuration": {"order": (0..ndim).rev().collect::<Vec<_>>()}}));
    }
    codecs.push(if scalar.size > 1 {
        let endian = if scalar.order == ByteOrder::Big {
            "big"
        } else {
            "little"
        };
        json!({"name": "bytes", "configuration": {"endian": endian}})
    } else {
        json!({"name": "bytes"})
    });
    Ok(json!({
        "zarr_format": 3,
        "node_type": "array",
        "shape": array.header.shape,
        "data_type": data_type,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": grid.chunk}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill,
        "codecs": codecs,
        "attributes": {},
    }))
}

fn unservable(array: &StoredArray, what: &str) -> ApiError {
    ApiError::Store(StoreError::Invalid {
        name: array.name.clone(),
        reason: format!("it cannot be served as Zarr: {what}"),
    })
}

/// The Zarr v3 `data_type` and zero `fill_value` of a dtype, if it has one.
fn data_type(scalar: &ScalarType) -> Option<(Value, Value)> {
    let bits = scalar.size * 8;
    Some(match scalar.kind {
        ScalarKind::Bool => (json!("bool"), json!(false)),
        ScalarKind::Int => (json!(format!("int{bits}")), json!(0)),
        ScalarKind::UInt => (json!(format!("uint{bits}")), json!(0)),
        ScalarKind::Float if scalar.size <= 8 => (json!(format!("float{bits}")), json!(0.0)),
        ScalarKind::Complex if scalar.size <= 16 => {
            (json!(format!("complex{bits}")), json!([0.0, 0.0]))
        }
        ScalarKind::DateTime | ScalarKind::TimeDelta => {
            let (unit, scale) = scalar.unit?;
            let name = if scalar.kind == ScalarKind::DateTime {
                "numpy.datetime64"
            } else {
                "numpy.timedelta64"
            };
            (
                json!({"name": name, "configuration": {"unit": unit.abbreviation(), "scale_factor": scale}}),
                json!(0),
            )
        }
        _ => return None,
    })
}

fn json_rep(document: &Value, etag: String) -> Representation {
    Representation {
        content_type: "application/json",
        headers: Vec::new(),
        parts: vec![Part::Bytes(Bytes::from(document.to_string()))],
        etag,
    }
}

fn array_document(array: &StoredArray) -> Result<Representation, ApiError> {
    let document = array_metadata(array)?;
    Ok(json_rep(
        &document,
        etag_for(&array.etag, &format!("zarr.json;{CHUNK_BYTES}")),
    ))
}

/// A group of every servable array under `prefix` (`""`: all), with consolidated metadata
/// (subgroups included); `None` when there is none.
///
/// # Errors
/// When the bucket cannot be listed.
fn group_document(store: &Store, prefix: &str) -> Result<Option<Representation>, ApiError> {
    let under = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let mut metadata = serde_json::Map::new();
    let mut validator = Fnv64::new();
    for array in store.list()? {
        let Some(rel) = array.name.strip_prefix(&under) else {
            continue;
        };
        let Ok(document) = array_metadata(&array) else {
            continue;
        };
        validator.write(array.name.as_bytes());
        validator.write(array.etag.as_bytes());
        // Every folder above the array is a subgroup.
        for (at, _) in rel.match_indices('/') {
            metadata.entry(rel[..at].to_string()).or_insert_with(|| {
                json!({"zarr_format": 3, "node_type": "group", "attributes": {}, "consolidated_metadata": null})
            });
        }
        metadata.insert(rel.to_string(), document);
    }
    if metadata.is_empty() {
        return Ok(None);
    }
    let document = json!({
        "zarr_format": 3,
        "node_type": "group",
        "attributes": {},
        "consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": metadata},
    });
    Ok(Some(json_rep(
        &document,
        format!("\"g-{:016x}\"", validator.finish()),
    )))
}

/// Chunk `indices` of `array`: a slice of its data, padded at the edge. `None` for indices
/// outside the grid.
fn chunk(array: &Arc<StoredArray>, indices: &[u64]) -> Option<Result<Representation, ApiError>> {
    let grid = Grid::of(array);
    let shape = &array.header.shape;
    let (first, last) = if shape.is_empty() {
        (0, 1)
    } else {
        // Every index but the one along the chunked axis is 0 (chunks span those axes).
        if indices
            .iter()
            .enumerate()
            .any(|(d, i)| d != grid.axis && *i != 0)
        {
            return None;
        }
        let run = grid.chunk[grid.axis];
        let first = indices[grid.axis].checked_mul(run)?;
        if first >= shape[grid.axis] {
            return None;
        }
        (first, (first + run).min(shape[grid.axis]))
    };
    // Chunks run along axis 0 (C order: rows) or the last axis (Fortran order: the slab
    // of bytes of those indices).
    let ensured = if grid.axis == 0 {
        array.ensure_rows(first..last)
    } else {
        array.ensure_bytes(first * grid.slab..last * grid.slab)
    };
    if let Err(err) = ensured {
        return Some(Err(err.into()));
    }
    let run = grid.chunk.get(grid.axis).copied().unwrap_or(1);
    let data = array
        .data
        .slice((first * grid.slab) as usize..(last * grid.slab) as usize);
    let mut parts = vec![Part::Bytes(data)];
    let mut pad = (first + run - last) * grid.slab;
    while pad > 0 {
        let n = pad.min(ZERO_PAGE.len() as u64);
        parts.push(Part::Bytes(Bytes::from_static(&ZERO_PAGE[..n as usize])));
        pad -= n;
    }
    let key = format!(
        "zarr-chunk;{CHUNK_BYTES};{}",
        indices[..]
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".")
    );
    Some(Ok(Representation {
        content_type: "application/octet-stream",
        headers: Vec::new(),
        parts,
        etag: etag_for(&array.etag, &key),
    }))
}

#[cfg(test)]
mod tests {
    use super::{data_type, Grid, CHUNK_BYTES};
    use crate::server::store::{Source, StoredArray};
    use crate::wire::dtype::{DType, ScalarType};
    use crate::wire::npy::{NpyHeader, Version};
    use serde_json::json;

    fn scalar(descr: &str) -> ScalarType {
        ScalarType::parse(descr).unwrap()
    }

    #[test]
    fn dtypes_map_to_zarr_data_types_or_none() {
        assert_eq!(data_type(&scalar("<f4")).unwrap().0, json!("float32"));
        assert_eq!(data_type(&scalar(">i2")).unwrap().0, json!("int16"));
        assert_eq!(
            data_type(&scalar("|b1")).unwrap(),
            (json!("bool"), json!(false))
        );
        assert_eq!(data_type(&scalar("<c16")).unwrap().1, json!([0.0, 0.0]));
        assert_eq!(
            data_type(&scalar("<M8[ns]")).unwrap().0,
            json!({"name": "numpy.datetime64", "configuration": {"unit": "ns", "scale_factor": 1}})
        );
        for none in ["<U5", "|S3", "<f16"] {
            assert!(data_type(&scalar(none)).is_none(), "{none}");
        }
    }

    fn array(descr: &str, shape: &[u64], fortran_order: bool) -> StoredArray {
        StoredArray {
            npy_header_memo: Default::default(),
            name: "a".into(),
            header: NpyHeader {
                version: Version::V1,
                dtype: DType::parse_descr(descr).unwrap(),
                fortran_order,
                shape: shape.to_vec(),
            },
            data: bytes::Bytes::new(),
            etag: String::new(),
            source: Source::Npy("a.npy".into()),
            filler: None,
        }
    }

    #[test]
    fn chunks_are_runs_of_whole_rows_of_about_chunk_bytes() {
        let grid = |descr, shape: &[u64], fortran| {
            let g = Grid::of(&array(descr, shape, fortran));
            (g.chunk, g.axis, g.slab)
        };
        let rows = CHUNK_BYTES / 16;
        assert_eq!(grid("<f4", &[10_000_000, 4], false), (vec![rows, 4], 0, 16));
        // Short arrays are one chunk; a zero-length axis still has a chunk length of 1.
        assert_eq!(grid("<f8", &[1000, 3], false), (vec![1000, 3], 0, 24));
        assert_eq!(grid("<i4", &[0, 3], false), (vec![1, 3], 0, 12));
        // A row bigger than CHUNK_BYTES is a chunk of its own.
        assert_eq!(
            grid("<f8", &[5, 1 << 20], false),
            (vec![1, 1 << 20], 0, 8 << 20)
        );
        // Fortran order: runs along the last axis (contiguous in the file).
        let run = CHUNK_BYTES / 32;
        assert_eq!(grid("<f8", &[4, 10_000_000], true), (vec![4, run], 1, 32));
        // 0-d: no chunk shape, one chunk of one element.
        assert_eq!(grid("<f8", &[], false), (vec![], 0, 8));
    }
}
