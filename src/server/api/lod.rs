//! Level of detail: the M4 envelope of a window of a series, as a [`LodAnswer`].

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::params::Params;
use crate::lod::MAX_BINS;
use crate::names::validate_name;
use crate::server::describe::timestamps_for;
use crate::server::error::ApiError;
use crate::server::levels::{LevelsCache, Window};
use crate::server::openapi::{Binary, ErrorBody, NameParam, RangeHeaders};
use crate::server::repr::{self, Representation};
use crate::server::store::Store;
use crate::server::task::blocking;

/// Bins of an answer when the query names none.
pub const DEFAULT_BINS: u64 = 1000;

/// A checked `/api/lod` query.
struct LodQuery {
    name: String,
    /// `time=`: the timestamps to chart by, instead of the group's.
    time: Option<String>,
    window: Window,
    bins: usize,
    column: Option<u64>,
}

/// `GET /api/lod/{name}`: the M4 envelope of a window of a series.
#[utoipa::path(
    get,
    path = "/api/lod/{name}",
    tag = "charts",
    params(
        NameParam,
        ("start" = Option<u64>, Query, description = "First sample of the window (default 0)"),
        ("stop" = Option<u64>, Query, description = "One past the last sample (default: the array's length)"),
        ("t0" = Option<String>, Query, example = "1773480413000000000", description = "Instead of start/stop, with t1: the window [t0, t1) for a series with timestamps, as integer ns since the Unix epoch or ISO 8601 (2026-03-14T09:26:53.020Z, +HH:MM offsets, UTC without a zone); bins are equal intervals of time"),
        ("t1" = Option<String>, Query, example = "2026-03-14T09:31:53Z", description = "The end of a time window, as t0 (t0 < t1)"),
        ("time" = Option<String>, Query, description = "The series' timestamps: any 1-D datetime64 array as long as it (default: its group's t_<name>, t_<prefix>, t, time or timestamp of its length)"),
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
        (status = 400, description = "A bad name, bins out of 1..=20000, start > stop, stop past the end, a bad column, t0 >= t1, or a time and an index window together", body = ErrorBody),
        (status = 404, description = "No such array", body = ErrorBody),
        (status = 416, description = "The range is outside the representation", body = ErrorBody),
        (status = 422, description = "The dtype cannot be charted, the array has 3+ dimensions, or (time windows) it has no usable timestamps", body = ErrorBody),
        (status = 503, description = "A window wider than 2^24 samples must be scanned (its pyramid is still being built) and the pool of heavy work stayed full", body = ErrorBody,
            headers(("Retry-After" = String, description = "Seconds to wait: 1"))),
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
    let params = Params::parse(
        query.as_deref(),
        &["start", "stop", "t0", "t1", "bins", "column", "time"],
    )?;
    let bins = params.integer("bins")?.unwrap_or(DEFAULT_BINS);
    if bins == 0 || bins > MAX_BINS as u64 {
        return Err(ApiError::BadParam(format!(
            "bins={bins} is out of range: 1 to {MAX_BINS}"
        )));
    }
    let window = window_param(&params)?;
    let query = LodQuery {
        name,
        time: params.one("time")?.map(str::to_string),
        window,
        bins: bins as usize,
        column: params.integer("column")?,
    };
    let rep = blocking(move || lod_representation(&store, &levels, &query)).await?;
    repr::respond(rep, &headers)
}

/// The window of a query: `start`/`stop` (samples) or `t0`/`t1` (time), not both.
pub(super) fn window_param(params: &Params) -> Result<Window, ApiError> {
    let (start, stop) = (params.integer("start")?, params.integer("stop")?);
    match (params.instant("t0")?, params.instant("t1")?) {
        (None, None) => Ok(Window::Samples { start, stop }),
        (Some(_), Some(_)) if start.is_some() || stop.is_some() => Err(ApiError::BadParam(
            "a window is start= and stop= (samples) or t0= and t1= (time), not both".into(),
        )),
        (Some(t0), Some(t1)) if t0 < t1 => Ok(Window::Time { t0, t1 }),
        (Some(t0), Some(t1)) => Err(ApiError::BadParam(format!(
            "the time window t0={t0} t1={t1} is empty: t0 must be below t1"
        ))),
        _ => Err(ApiError::BadParam(
            "a time window needs both t0= and t1=".into(),
        )),
    }
}

/// The answer to `query` as a bundle body.
fn lod_representation(
    store: &Store,
    levels: &LevelsCache,
    query: &LodQuery,
) -> Result<Representation, ApiError> {
    let array = store.get(&query.name)?;
    let times = timestamps_for(store, &array, query.time.as_deref())?;
    let answer = levels.answer(
        &array,
        times.as_deref(),
        query.window,
        query.bins,
        query.column,
    )?;
    let key = format!(
        "{}:{}:{:?}:{:?}:{}",
        query.window.key(),
        query.bins,
        query.column,
        query.time,
        times.as_ref().map_or("", |t| t.etag.as_str())
    );
    Ok(Representation {
        content_type: "application/x-downlink-bundle",
        headers: Vec::new(),
        parts: vec![repr::Part::Bytes(bytes::Bytes::from(answer.encode()?))],
        etag: repr::etag_for(&array.etag, &key),
    })
}
