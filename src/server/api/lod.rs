//! Level of detail: the M4 envelope of a window of a series, as a [`LodAnswer`].

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::params::Params;
use crate::lod::{LodAnswer, PointTimes, MAX_BINS};
use crate::names::validate_name;
use crate::server::describe::{time_count, timestamps_of};
use crate::server::error::ApiError;
use crate::server::levels::LevelsCache;
use crate::server::openapi::{Binary, ErrorBody, NameParam, RangeHeaders};
use crate::server::repr::{self, Representation};
use crate::server::store::{Store, StoredArray};
use crate::server::task::blocking;
use crate::wire::dtype::ByteOrder;

/// Bins of an answer when the query names none.
pub const DEFAULT_BINS: u64 = 1000;

/// A checked `/api/lod` query.
struct LodQuery {
    name: String,
    start: Option<u64>,
    stop: Option<u64>,
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
    let bins = params.integer("bins")?.unwrap_or(DEFAULT_BINS);
    if bins == 0 || bins > MAX_BINS as u64 {
        return Err(ApiError::BadParam(format!(
            "bins={bins} is out of range: 1 to {MAX_BINS}"
        )));
    }
    let query = LodQuery {
        name,
        start: params.integer("start")?,
        stop: params.integer("stop")?,
        bins: bins as usize,
        column: params.integer("column")?,
    };
    let rep = blocking(move || lod_representation(&store, &levels, &query)).await?;
    repr::respond(rep, &headers)
}

/// The answer to `query` as a bundle body.
fn lod_representation(
    store: &Store,
    levels: &LevelsCache,
    query: &LodQuery,
) -> Result<Representation, ApiError> {
    let array = store.get(&query.name)?;
    let levels = levels.get(&array)?;
    let len = levels.len;
    let (start, stop) = (query.start.unwrap_or(0), query.stop.unwrap_or(len));
    if start > stop || stop > len {
        return Err(ApiError::BadParam(format!(
            "the window start={start} stop={stop} is not within 0 <= start <= stop <= {len}"
        )));
    }
    let columns: Vec<usize> = match query.column {
        None => (0..levels.columns.len()).collect(),
        Some(c) if (c as usize) < levels.columns.len() => vec![c as usize],
        Some(c) => {
            return Err(ApiError::BadParam(format!(
                "column={c} is out of range: the array has {} columns",
                levels.columns.len()
            )))
        }
    };
    let bins = columns
        .iter()
        .map(|&c| levels.columns[c].m4(start, stop, query.bins))
        .collect::<Result<Vec<_>, _>>()?;
    let mut answer = LodAnswer {
        start,
        stop,
        columns: bins,
        time: None,
    };
    if let Some(times) = timestamps_of(store, &array) {
        answer.time = point_times(&answer, &times);
    }
    Ok(Representation {
        content_type: "application/x-downlink-bundle",
        headers: Vec::new(),
        parts: vec![bytes::Bytes::from(answer.encode()?)],
        etag: repr::etag_for(
            &array.etag,
            &format!("lod:{start}:{stop}:{}:{columns:?}", query.bins),
        ),
    })
}

/// The timestamp of every point of `answer`, read one by one from `times` (never the whole
/// array): O(points).
fn point_times(answer: &LodAnswer, times: &StoredArray) -> Option<PointTimes> {
    let dtype = times
        .header
        .dtype
        .as_scalar()?
        .clone()
        .with_order(ByteOrder::Little);
    let counts = answer
        .indices()
        .map(|index| time_count(times, index))
        .collect::<Option<Vec<i64>>>()?;
    Some(PointTimes { dtype, counts })
}
