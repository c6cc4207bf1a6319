//! The HTTP API's routes (the contract is documented in README.md, "The HTTP API"). Each
//! handler carries its `#[utoipa::path]` description, gathered into `/api/openapi.json` by
//! [`crate::server::openapi`].

use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::OpenApi;

use crate::catalog::ArrayInfo;
use crate::lod::{M4Bin, MAX_BINS};
use crate::names::validate_name;
use crate::server::error::ApiError;
use crate::server::levels::{LevelsCache, LevelsError};
use crate::server::openapi::{ApiDoc, ArrayName, Binary, ErrorBody};
use crate::server::repr::{self, Format, Selection, SliceSpec};
use crate::server::store::{Store, StoredArray};
use crate::server::{write, AppState};
use crate::wire::dtype::DType;

/// Most arrays one bundle may name.
pub const MAX_BUNDLE_ARRAYS: usize = 256;

/// Routes under `/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/arrays", get(list_arrays))
        .route(
            "/api/arrays/{*name}",
            get(get_array)
                .put(put_array)
                .post(post_array)
                .delete(delete_array),
        )
        .route("/api/events", get(events))
        .route("/api/bundle", get(get_bundle))
        .route("/api/lod/{*name}", get(get_lod))
        .route("/api/openapi.json", get(openapi_json))
}

/// The body of `GET /api/arrays`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ArrayList {
    /// Every servable array, sorted by name.
    pub arrays: Vec<ArrayInfo>,
}

/// The listing entry of a stored array.
pub fn info_of(array: &StoredArray) -> ArrayInfo {
    ArrayInfo {
        name: array.name.clone(),
        dtype: array.header.dtype.to_json(),
        shape: array.header.shape.clone(),
        nbytes: array.data.len() as u64,
        etag: repr::etag_for(&array.etag, ""),
    }
}

/// `GET /api/arrays`: the listing.
#[utoipa::path(
    get,
    path = "/api/arrays",
    tag = "arrays",
    responses(
        (status = 200, description = "Every servable array, sorted by name", body = ArrayList),
    )
)]
pub(crate) async fn list_arrays(State(store): State<Store>) -> Json<ArrayList> {
    let arrays: Vec<ArrayInfo> = store
        .list_async()
        .await
        .iter()
        .map(|a| info_of(a))
        .collect();
    Json(ArrayList { arrays })
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
    )
)]
pub(crate) async fn get_array(
    State(store): State<Store>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
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
    // Fast path: a cached, unchanged array whose representation is a zero-copy slice is
    // answered right here; reading files and reshuffling bytes go to a blocking thread.
    let rep = match store.get_cached(&name).transpose()? {
        Some(array) if repr::is_cheap(&array, format, &selection) => {
            repr::single(&array, format, &selection)?
        }
        Some(array) => blocking(move || repr::single(&array, format, &selection)).await?,
        None => {
            blocking(move || {
                let array = store.get(&name)?;
                repr::single(&array, format, &selection)
            })
            .await?
        }
    };
    repr::respond(rep, &headers)
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
    )
)]
pub(crate) async fn get_bundle(
    State(store): State<Store>,
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
        let arrays = names
            .iter()
            .map(|name| store.get(name))
            .collect::<Result<Vec<Arc<StoredArray>>, _>>()?;
        repr::bundle(&arrays, &selection)
    })
    .await?;
    repr::respond(rep, &headers)
}

/// Names a series' timestamps may have in its group, in order of preference.
pub const TIME_MEMBERS: [&str; 3] = ["t", "time", "timestamp"];

/// `GET /api/lod/{name}`: the M4 envelope of a window of a series.
#[utoipa::path(
    get,
    path = "/api/lod/{name}",
    tag = "charts",
    params(
        NameParam,
        ("start" = Option<u64>, Query, description = "First sample of the window (default 0)"),
        ("stop" = Option<u64>, Query, description = "One past the last sample (default: the array's length)"),
        ("bins" = Option<u32>, Query, minimum = 1, maximum = 20000,
            description = "Number of bins (default 1000)"),
        ("column" = Option<u64>, Query, description = "One column of an (N, C) array (default: all)"),
        RangeHeaders,
    ),
    responses(
        (status = 200, description = "A bundle of window, index, value and, for series with timestamps, time",
            content((inline(Binary) = "application/x-downlink-bundle")),
            headers(("ETag" = String, description = "Strong; names the file version and the query"))),
        (status = 206, description = "The requested byte range of the 200 body",
            content((inline(Binary) = "application/x-downlink-bundle")),
            headers(("Content-Range" = String, description = "bytes FIRST-LAST/TOTAL"))),
        (status = 304, description = "If-None-Match matched the ETag"),
        (status = 400, description = "A bad name, bins out of 1..=20000, start > stop, stop past the end, or a bad column", body = ErrorBody),
        (status = 404, description = "No such array", body = ErrorBody),
        (status = 416, description = "The range is outside the representation", body = ErrorBody),
        (status = 422, description = "The dtype cannot be charted, or the array has 3+ dimensions", body = ErrorBody),
    )
)]
pub(crate) async fn get_lod(
    State(store): State<Store>,
    State(levels): State<LevelsCache>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    validate_name(&name)?;
    let params = Params::parse(query.as_deref(), &["start", "stop", "bins", "column"])?;
    let start = params.integer("start")?;
    let stop = params.integer("stop")?;
    let bins = params.integer("bins")?.unwrap_or(1000);
    let column = params.integer("column")?;
    if bins == 0 || bins > MAX_BINS as u64 {
        return Err(ApiError::BadParam(format!(
            "bins={bins} is out of range: 1 to {MAX_BINS}"
        )));
    }
    let rep = blocking(move || {
        let array = store.get(&name)?;
        let levels = levels.get(&array).map_err(|err| match err {
            LevelsError::Unsupported(msg) => ApiError::Unprocessable(msg),
            LevelsError::Query(err) => ApiError::BadParam(err.to_string()),
        })?;
        let len = levels.len;
        let (start, stop) = (start.unwrap_or(0), stop.unwrap_or(len));
        if start > stop || stop > len {
            return Err(ApiError::BadParam(format!(
                "the window start={start} stop={stop} is not within 0 <= start <= stop <= {len}"
            )));
        }
        let columns: Vec<usize> = match column {
            None => (0..levels.columns.len()).collect(),
            Some(c) if (c as usize) < levels.columns.len() => vec![c as usize],
            Some(c) => {
                return Err(ApiError::BadParam(format!(
                    "column={c} is out of range: the array has {} columns",
                    levels.columns.len()
                )))
            }
        };
        let mut all = Vec::with_capacity(columns.len());
        for &c in &columns {
            let bins = levels.columns[c]
                .m4(start, stop, bins as usize)
                .map_err(|err| ApiError::BadParam(err.to_string()))?;
            all.push(bins);
        }
        let time = time_axis(&store, &array);
        let body = lod_bundle(&all, start, stop, time.as_deref())?;
        Ok(repr::Representation {
            content_type: "application/x-downlink-bundle",
            headers: Vec::new(),
            parts: vec![bytes::Bytes::from(body)],
            etag: repr::etag_for(
                &array.etag,
                &format!("lod:{start}:{stop}:{bins}:{columns:?}"),
            ),
        })
    })
    .await?;
    repr::respond(rep, &headers)
}

/// The timestamps of a series: a datetime64 sibling named t, time or timestamp of the same
/// length in the same group.
fn time_axis(store: &Store, array: &StoredArray) -> Option<Arc<StoredArray>> {
    let (group, leaf) = array.name.rsplit_once('/')?;
    let len = *array.header.shape.first()?;
    TIME_MEMBERS
        .iter()
        .filter(|t| **t != leaf)
        .filter_map(|t| store.get(&format!("{group}/{t}")).ok())
        .find(|t| {
            matches!(t.header.dtype.as_scalar(), Some(s) if s.kind == crate::wire::dtype::ScalarKind::DateTime)
                && t.header.shape == [len]
        })
}

/// The LOD response body: a bundle of `window` (<u8, [start, stop]), `index` (<u8,
/// (columns, bins, 4): first, min, max, last sample index), `value` (<f8, same shape) and,
/// when the series has timestamps, `time` (their datetime64 dtype, same shape).
fn lod_bundle(
    columns: &[Vec<M4Bin>],
    start: u64,
    stop: u64,
    time: Option<&StoredArray>,
) -> Result<Vec<u8>, ApiError> {
    use crate::wire::bundle::{encode_bundle, BundleItem};
    use crate::wire::dtype::ScalarType;
    let bins = columns.first().map_or(0, Vec::len) as u64;
    let shape = vec![columns.len() as u64, bins, 4];
    let mut index = Vec::with_capacity(columns.len() * bins as usize * 32);
    let mut value = Vec::with_capacity(columns.len() * bins as usize * 32);
    for bin in columns.iter().flatten() {
        for (i, v) in [
            (bin.first_index, bin.first),
            (bin.min_index, bin.min),
            (bin.max_index, bin.max),
            (bin.last_index, bin.last),
        ] {
            index.extend_from_slice(&i.to_le_bytes());
            value.extend_from_slice(&v.to_le_bytes());
        }
    }
    let window: Vec<u8> = [start, stop].iter().flat_map(|v| v.to_le_bytes()).collect();
    let item = |name: &str, dtype: ScalarType, shape: Vec<u64>, nbytes: usize| BundleItem {
        name: name.to_string(),
        dtype: DType::Scalar(dtype),
        shape,
        nbytes: nbytes as u64,
    };
    let mut items = vec![
        (
            item("window", ScalarType::u8_le(), vec![2], window.len()),
            window.as_slice(),
        ),
        (
            item("index", ScalarType::u8_le(), shape.clone(), index.len()),
            index.as_slice(),
        ),
        (
            item("value", ScalarType::f8_le(), shape.clone(), value.len()),
            value.as_slice(),
        ),
    ];
    let times: Vec<u8>;
    if let (Some(time), Some(scalar)) = (time, time.and_then(|t| t.header.dtype.as_scalar())) {
        let little = scalar
            .clone()
            .with_order(crate::wire::dtype::ByteOrder::Little);
        let raw = crate::wire::convert::convert(&time.data, scalar, &little)
            .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
        times = index
            .chunks_exact(8)
            .flat_map(|i| {
                let at = u64::from_le_bytes(i.try_into().unwrap_or_default()) as usize * 8;
                let mut eight = [0u8; 8];
                eight.copy_from_slice(&raw[at..at + 8]);
                eight
            })
            .collect();
        items.push((item("time", little, shape, times.len()), times.as_slice()));
    }
    encode_bundle(&items).map_err(|e| ApiError::Unprocessable(e.to_string()))
}

/// Check the name and the caller's right to write.
fn writable(state: &AppState, name: &str, request: &Request) -> Result<(), ApiError> {
    validate_name(name)?;
    let authorization = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    // The peer as the server saw it (or as a test's MockConnectInfo says).
    let extensions = request.extensions();
    let peer = extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .or_else(|| {
            extensions
                .get::<axum::extract::connect_info::MockConnectInfo<std::net::SocketAddr>>()
                .map(|mock| mock.0.ip())
        });
    write::authorize(state.writer.config().token.as_deref(), authorization, peer)
}

/// The failures PUT and POST share, as the OpenAPI document describes them.
#[derive(utoipa::IntoResponses)]
#[expect(dead_code, reason = "a description of responses; never built")]
enum UploadFailures {
    #[response(
        status = 400,
        description = "A bad name, or the upload was interrupted"
    )]
    BadRequest(ErrorBody),
    #[response(
        status = 401,
        description = "A token is configured and the request lacks it",
        headers(("WWW-Authenticate" = String, description = "Bearer realm=\"downlink\""))
    )]
    Unauthorized(ErrorBody),
    #[response(
        status = 403,
        description = "No token is configured and the client is not on this machine"
    )]
    Forbidden(ErrorBody),
    #[response(
        status = 405,
        description = "The name is a member of an .npz group, which is read-only"
    )]
    ReadOnly(ErrorBody),
    #[response(status = 413, description = "The upload is over the size limit")]
    TooLarge(ErrorBody),
    #[response(
        status = 415,
        description = "The Content-Type is not application/x-npy or application/octet-stream"
    )]
    UnsupportedType(ErrorBody),
    #[response(status = 422, description = "The body is not a valid .npy document")]
    NotNpy(ErrorBody),
    #[response(
        status = 500,
        description = "Storing failed; the previous version is unchanged"
    )]
    StoreFailed(ErrorBody),
}

/// `PUT /api/arrays/{name}`: create or replace an array.
#[utoipa::path(
    put,
    path = "/api/arrays/{name}",
    tag = "writes",
    params(NameParam),
    request_body(description = "An .npy document", content(
        (inline(Binary) = "application/x-npy"),
        (inline(Binary) = "application/octet-stream"),
    )),
    security((), ("write_token" = [])),
    responses(
        (status = 200, description = "Replaced", body = ArrayInfo),
        (status = 201, description = "Created", body = ArrayInfo),
        (status = 409, description = "A file stands where the name needs a folder", body = ErrorBody),
        UploadFailures,
    )
)]
pub(crate) async fn put_array(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    writable(&state, &name, &request)?;
    let (parts, body) = request.into_parts();
    write::put(&state.store, &state.writer, &name, &parts.headers, body).await
}

/// `POST /api/arrays/{name}`: append rows along axis 0, or create the array.
#[utoipa::path(
    post,
    path = "/api/arrays/{name}",
    tag = "writes",
    params(NameParam),
    request_body(description = "An .npy document of the rows to append", content(
        (inline(Binary) = "application/x-npy"),
        (inline(Binary) = "application/octet-stream"),
    )),
    security((), ("write_token" = [])),
    responses(
        (status = 200, description = "Appended", body = ArrayInfo),
        (status = 201, description = "Created (there was no such array)", body = ArrayInfo),
        (status = 409, description = "The rows do not match the stored dtype, trailing shape or order, or the stored array is unreadable", body = ErrorBody),
        UploadFailures,
    )
)]
pub(crate) async fn post_array(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    writable(&state, &name, &request)?;
    let (parts, body) = request.into_parts();
    write::append(
        &state.store,
        &state.levels,
        &state.writer,
        &name,
        &parts.headers,
        body,
    )
    .await
}

/// `DELETE /api/arrays/{name}`: remove an array.
#[utoipa::path(
    delete,
    path = "/api/arrays/{name}",
    tag = "writes",
    params(NameParam),
    security((), ("write_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A bad name", body = ErrorBody),
        (status = 401, description = "A token is configured and the request lacks it", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer realm=\"downlink\""))),
        (status = 403, description = "No token is configured and the client is not on this machine", body = ErrorBody),
        (status = 404, description = "No such array", body = ErrorBody),
        (status = 405, description = "The name is a member of an .npz group, which is read-only", body = ErrorBody),
        (status = 500, description = "Deleting failed", body = ErrorBody),
    )
)]
pub(crate) async fn delete_array(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    writable(&state, &name, &request)?;
    write::delete(&state.store, &state.levels, &state.writer, &name).await
}

/// `GET /api/events`: one Server-Sent Event per change (`changed` or `deleted`).
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "meta",
    responses(
        (status = 200, description = "An endless stream of Server-Sent Events: event `changed` or \
            `deleted`, whose data is the array's ChangeInfo as JSON", content(
            (String = "text/event-stream"),
        )),
    )
)]
pub(crate) async fn events(
    State(writer): State<write::Writer>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>> {
    let receiver = writer.subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(change) => {
                    let event = Event::default()
                        .event(change.kind)
                        .json_data(&change)
                        .unwrap_or_else(|_| Event::default().event(change.kind));
                    return Some((Ok(event), receiver));
                }
                // A slow client missed some events; the next ones still arrive.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// `GET /api/openapi.json`: this API's OpenAPI description.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document", body = Object),
    )
)]
pub(crate) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The `name` path parameter of every per-array route.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the OpenAPI description only; handlers take `Path<String>`
struct NameParam {
    /// The array's name. It may contain '/' (e.g. `demo/pass/t`): write it into the path as it is.
    #[param(inline, example = "demo/pass/t")]
    name: ArrayName,
}

/// The format of `GET /api/arrays/{name}`.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // read by the OpenAPI description only; see `get_array`
enum ArrayFormat {
    Npy,
    Raw,
}

/// `slice` and `dtype`, which every array read takes.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by the OpenAPI description only; see `Params::selection`
struct SelectionParams {
    /// START:STOP[:STEP] along axis 0, with Python semantics (negatives, omitted parts).
    #[param(example = "0:100")]
    slice: Option<String>,
    /// Convert on the way out to this NumPy descr (e.g. <f4; >f8 flips the byte order).
    #[param(example = "<f4")]
    dtype: Option<String>,
}

/// The conditional and range headers every array read honours.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // read by the OpenAPI description only; see `repr::respond`
struct RangeHeaders {
    /// One range (bytes=A-B, A-, -N) answers 206; a multi-range request gets the whole body.
    #[param(rename = "Range", required = false)]
    range: String,
    /// An ETag seen before: 304 when it still matches.
    #[param(rename = "If-None-Match", required = false)]
    if_none_match: String,
    /// Honour Range only while the representation still has this ETag.
    #[param(rename = "If-Range", required = false)]
    if_range: String,
}

/// Run file access and byte shuffling off the async worker threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|err| Err(ApiError::Unprocessable(format!("internal error: {err}"))))
}

/// Query parameters, checked against the ones an endpoint knows.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: Option<&str>, known: &[&str]) -> Result<Params, ApiError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        for (key, _) in &pairs {
            if !known.contains(&key.as_str()) {
                return Err(ApiError::BadParam(format!(
                    "unknown parameter {key:?}; this endpoint takes {}",
                    known.join(", ")
                )));
            }
        }
        Ok(Params(pairs))
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn one(&self, key: &str) -> Result<Option<&str>, ApiError> {
        match self.all(key)[..] {
            [] => Ok(None),
            [value] => Ok(Some(value)),
            _ => Err(ApiError::BadParam(format!(
                "{key}= is given more than once"
            ))),
        }
    }

    fn integer(&self, key: &str) -> Result<Option<u64>, ApiError> {
        self.one(key)?
            .map(|text| {
                text.parse::<u64>().map_err(|_| {
                    ApiError::BadParam(format!("{key}={text:?} is not a non-negative integer"))
                })
            })
            .transpose()
    }

    fn selection(&self) -> Result<Selection, ApiError> {
        let slice = self.one("slice")?.map(SliceSpec::parse).transpose()?;
        let dtype = match self.one("dtype")? {
            None => None,
            Some(text) => match DType::parse_descr(text) {
                Ok(DType::Scalar(scalar)) => Some(scalar),
                Ok(DType::Record { .. }) => {
                    return Err(ApiError::BadParam(
                        "dtype= must be a plain dtype such as '<f4'".into(),
                    ))
                }
                Err(err) => return Err(ApiError::BadParam(format!("dtype={text:?}: {err}"))),
            },
        };
        Ok(Selection { slice, dtype })
    }
}
