//! Reading: the listing, one array, and bundles of several.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use serde::Serialize;

use super::params::Params;
use crate::catalog::ArrayInfo;
use crate::names::validate_name;
use crate::server::describe::info_of;
use crate::server::error::ApiError;
use crate::server::limits::Heavy;
use crate::server::openapi::{
    ArrayFormat, ArrayName, Binary, ErrorBody, NameParam, RangeHeaders, SelectionParams,
};
use crate::server::repr::{self, Format};
use crate::server::store::{Store, StoredArray};
use crate::server::task::blocking;

/// Most arrays one bundle may name.
pub const MAX_BUNDLE_ARRAYS: usize = 256;

/// The body of `GET /api/arrays`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ArrayList {
    /// Every servable array, sorted by name.
    pub arrays: Vec<ArrayInfo>,
}

/// `GET /api/arrays`: the listing.
#[utoipa::path(
    get,
    path = "/api/arrays",
    tag = "arrays",
    responses(
        (status = 200, description = "Every servable array, sorted by name", body = ArrayList),
        (status = 502, description = "With --data s3://: the bucket did not answer or failed the request (the message gives its reason); nothing of it is remembered, so ask again", body = ErrorBody),
    )
)]
pub(crate) async fn list_arrays(State(store): State<Store>) -> Result<Json<ArrayList>, ApiError> {
    let arrays = blocking(move || Ok(store.list()?)).await?;
    let arrays = arrays.iter().map(|a| info_of(a)).collect();
    Ok(Json(ArrayList { arrays }))
}

/// `GET /api/arrays/{name}`: one array as `.npy` or raw bytes.
#[utoipa::path(
    get,
    path = "/api/arrays/{name}",
    tag = "arrays",
    params(
        NameParam,
        ("format" = inline(Option<ArrayFormat>), Query,
            description = "npy (default): an .npy document; raw: the C-order data bytes only"),
        SelectionParams,
        RangeHeaders,
    ),
    responses(
        (status = 200, description = "The array", content(
            (inline(Binary) = "application/x-npy"),
            (inline(Binary) = "application/octet-stream"),
        ), headers(
            ("ETag" = String, description = "Strong; names the file version and the options"),
            ("Cache-Control" = String, description = "no-cache"),
            ("X-Array-Dtype" = String, description = "format=raw: the dtype of the bytes, e.g. <f4"),
            ("X-Array-Shape" = String, description = "format=raw: the shape, comma-separated, e.g. 100,4"),
        )),
        (status = 206, description = "The requested byte range of the 200 body", content(
            (inline(Binary) = "application/x-npy"),
            (inline(Binary) = "application/octet-stream"),
        ), headers(
            ("ETag" = String, description = "As for 200"),
            ("Content-Range" = String, description = "bytes FIRST-LAST/TOTAL"),
        )),
        (status = 304, description = "If-None-Match matched the ETag", headers(
            ("ETag" = String, description = "As for 200"),
        )),
        (status = 400, description = "A bad name or query parameter", body = ErrorBody),
        (status = 404, description = "No such array", body = ErrorBody),
        (status = 416, description = "The range is outside the representation", body = ErrorBody,
            headers(("Content-Range" = String, description = "bytes */TOTAL"))),
        (status = 422, description = "The stored array is malformed, or the conversion is unsupported", body = ErrorBody),
        (status = 502, description = "With --data s3://: the bucket did not answer or failed the request (the message gives its reason); nothing of it is remembered, so ask again", body = ErrorBody),
        (status = 503, description = "The pool of heavy work stayed full (a conversion, strided slice or reordering waits for a permit up to --heavy-wait-ms)", body = ErrorBody,
            headers(("Retry-After" = String, description = "Seconds to wait: 1"))),
    )
)]
pub(crate) async fn get_array(
    State(store): State<Store>,
    State(heavy): State<Heavy>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    // The request itself rather than a copy of its headers (the `HeaderMap` extractor
    // clones them): this is the path of every small read.
    request: Request,
) -> Result<Response, ApiError> {
    validate_name(&name)?;
    let params = Params::parse(query.as_deref(), &["format", "slice", "dtype"])?;
    let format = match params.one("format")? {
        None | Some("npy") => Format::Npy,
        Some("raw") => Format::Raw,
        Some(other) => {
            return Err(ApiError::BadParam(format!(
                "format={other:?} is not one of npy, raw"
            )))
        }
    };
    let selection = params.selection()?;
    // Fast path: a cached, unchanged array is answered right here (a representation only
    // describes its bytes; derived ones are computed as they are sent); reading files goes
    // to a blocking thread.
    // An array whose bytes are not all at hand (in a bucket) may fetch some: never here.
    let cached = store.get_cached(&name).transpose()?;
    let rep = match cached.filter(|array| array.is_whole()) {
        Some(array) => repr::single(&array, format, &selection)?,
        None => {
            blocking(move || {
                // Lazy: a slice of a Zarr array decodes only the chunks it reads.
                let array = store.get_lazy(&name)?;
                repr::single(&array, format, &selection)
            })
            .await?
        }
    };
    repr::respond_within(rep, request.headers(), &heavy).await
}

/// `GET /api/bundle`: several arrays in one body, each aligned to 64 bytes.
#[utoipa::path(
    get,
    path = "/api/bundle",
    tag = "charts",
    params(
        ("name" = inline(Vec<ArrayName>), Query, style = Form, explode, min_items = 1, max_items = 256,
            example = json!(["demo/pass/t", "demo/pass/rssi"]),
            description = "The arrays, in order (repeat the parameter: name=a&name=b); each at most once"),
        SelectionParams,
        RangeHeaders,
    ),
    responses(
        (status = 200, description = "A bundle (see the description above)",
            content((inline(Binary) = "application/x-downlink-bundle")),
            headers(("ETag" = String, description = "Strong; names the files' versions and the options"))),
        (status = 206, description = "The requested byte range of the 200 body",
            content((inline(Binary) = "application/x-downlink-bundle")),
            headers(("Content-Range" = String, description = "bytes FIRST-LAST/TOTAL"))),
        (status = 304, description = "If-None-Match matched the ETag"),
        (status = 400, description = "No name, too many, a name twice, a bad name or parameter", body = ErrorBody),
        (status = 404, description = "One of the arrays does not exist", body = ErrorBody),
        (status = 416, description = "The range is outside the representation", body = ErrorBody),
        (status = 422, description = "An array is malformed, or the conversion is unsupported", body = ErrorBody),
        (status = 502, description = "With --data s3://: the bucket did not answer or failed the request (the message gives its reason); nothing of it is remembered, so ask again", body = ErrorBody),
        (status = 503, description = "The pool of heavy work stayed full (a conversion, strided slice or reordering waits for a permit up to --heavy-wait-ms)", body = ErrorBody,
            headers(("Retry-After" = String, description = "Seconds to wait: 1"))),
    )
)]
pub(crate) async fn get_bundle(
    State(store): State<Store>,
    State(heavy): State<Heavy>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &["name", "slice", "dtype"])?;
    let names = params.all("name");
    if names.is_empty() {
        return Err(ApiError::BadParam(
            "a bundle needs at least one name= parameter".into(),
        ));
    }
    if names.len() > MAX_BUNDLE_ARRAYS {
        return Err(ApiError::BadParam(format!(
            "a bundle holds at most {MAX_BUNDLE_ARRAYS} arrays"
        )));
    }
    for (i, name) in names.iter().enumerate() {
        validate_name(name)?;
        if names[..i].contains(name) {
            return Err(ApiError::BadParam(format!("name={name} is listed twice")));
        }
    }
    let names: Vec<String> = names.into_iter().map(str::to_string).collect();
    let selection = params.selection()?;
    let rep = blocking(move || {
        // As one set: a write of several arrays at once is seen whole or not at all.
        let arrays: Vec<Arc<StoredArray>> = store.get_set(&names)?;
        repr::bundle(&arrays, &selection)
    })
    .await?;
    repr::respond_within(rep, &headers, &heavy).await
}
