//! The read half of the HTTP API (the contract is documented in README.md, "The HTTP API").

use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};

use crate::catalog::ArrayInfo;
use crate::lod::{M4Bin, MAX_BINS};
use crate::names::validate_name;
use crate::server::error::ApiError;
use crate::server::levels::{LevelsCache, LevelsError};
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

async fn list_arrays(State(store): State<Store>) -> Json<serde_json::Value> {
    let arrays: Vec<ArrayInfo> = store
        .list_async()
        .await
        .iter()
        .map(|a| info_of(a))
        .collect();
    Json(serde_json::json!({ "arrays": arrays }))
}

async fn get_array(
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

async fn get_bundle(
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

async fn get_lod(
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

async fn put_array(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    writable(&state, &name, &request)?;
    let (parts, body) = request.into_parts();
    write::put(&state.store, &state.writer, &name, &parts.headers, body).await
}

async fn post_array(
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

async fn delete_array(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    writable(&state, &name, &request)?;
    write::delete(&state.store, &state.levels, &state.writer, &name).await
}

/// `GET /api/events`: one Server-Sent Event per change (`changed` or `deleted`).
async fn events(
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
