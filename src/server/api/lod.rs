//! Level of detail: the M4 envelope of a window of a series, as a [`LodAnswer`].

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::params::Params;
use crate::lod::tiles::{self, MAX_LEVEL, TILE_BINS};
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
        (status = 502, description = "With --data s3://: the bucket did not answer or failed the request (the message gives its reason); nothing of it is remembered, so ask again", body = ErrorBody),
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

/// How long a cache may keep a tile: a tile URL names the versions its answer is made of, so
/// what it names never changes.
pub const TILE_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// A checked `/api/tiles` query.
struct TileQuery {
    name: String,
    /// `v=`: the array's version, as its ETag without the quotes.
    version: String,
    level: u32,
    at: TileAt,
    /// `time=` and `tv=`: the timestamps to place the points by, and their version.
    time: Option<(String, String)>,
    column: Option<u64>,
}

/// Where a tile is: its number along the samples or along time.
#[derive(Debug, Clone, Copy)]
enum TileAt {
    Index(u64),
    Time(i64),
}

/// `GET /api/tiles/{name}`: one tile of the level of detail, at a URL that names the versions
/// of what it answers, so any HTTP cache may keep it for good.
#[utoipa::path(
    get,
    path = "/api/tiles/{name}",
    tag = "charts",
    params(
        NameParam,
        ("v" = String, Query, example = "3f2a9c0d5e7b1a44", description = "The array's version: its ETag (from the listing, a HEAD or an event) without the quotes"),
        ("level" = u32, Query, minimum = 0, maximum = 52, description = "Bins of 2^level samples (by index) or 2^level ns (in time)"),
        ("tile" = i64, Query, description = "Which tile: it starts at tile × 1024 × 2^level samples (by=index, tile >= 0) or ns since the Unix epoch (by=time, may be negative)"),
        ("by" = Option<String>, Query, description = "index (default) or time"),
        ("time" = Option<String>, Query, description = "The timestamps to give each point's time by (needed by=time): a 1-D datetime64 array as long as the series. A tile uses no timestamps it does not name"),
        ("tv" = Option<String>, Query, description = "With time=: the timestamps' version, as v="),
        ("column" = Option<u64>, Query, description = "One column of an (N, C) array (default: all)"),
        RangeHeaders,
    ),
    responses(
        (status = 200, description = "The /api/lod answer of the tile's window: 1024 bins (by index, the last tile of a series stops at its end; in time, intervals without samples have no bin)",
            content((inline(Binary) = "application/x-downlink-bundle")),
            headers(
                ("ETag" = String, description = "Strong; names the versions and the tile"),
                ("Cache-Control" = String, description = "public, max-age=31536000, immutable"))),
        (status = 206, description = "The requested byte range of the 200 body",
            content((inline(Binary) = "application/x-downlink-bundle"))),
        (status = 304, description = "If-None-Match matched the ETag"),
        (status = 400, description = "A bad name or parameter, a level above 52, a tile past the end of the series (by index) or outside the instants of i64 ns (in time), by=time without time=, tv= without time=", body = ErrorBody),
        (status = 404, description = "No such array", body = ErrorBody),
        (status = 410, description = "v= (or tv=) is not the version stored now: the array changed since the URL was made; ask for its version again", body = ErrorBody),
        (status = 416, description = "The range is outside the representation", body = ErrorBody),
        (status = 422, description = "As /api/lod", body = ErrorBody),
        (status = 502, description = "With --data s3://: the bucket did not answer or failed the request (the message gives its reason); nothing of it is remembered, so ask again", body = ErrorBody),
        (status = 503, description = "As /api/lod", body = ErrorBody,
            headers(("Retry-After" = String, description = "Seconds to wait: 1"))),
    )
)]
pub(crate) async fn get_tile(
    State(store): State<Store>,
    State(levels): State<LevelsCache>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    validate_name(&name)?;
    let params = Params::parse(
        query.as_deref(),
        &["v", "level", "tile", "by", "time", "tv", "column"],
    )?;
    let required = |key: &str| {
        params
            .one(key)?
            .ok_or_else(|| ApiError::BadParam(format!("a tile needs {key}=")))
    };
    let version = required("v")?.to_string();
    let level = params.integer("level")?.unwrap_or(u64::MAX);
    if level > u64::from(MAX_LEVEL) {
        return Err(ApiError::BadParam(format!(
            "a tile needs level= from 0 to {MAX_LEVEL}"
        )));
    }
    let tile = required("tile")?;
    let bad_tile = || ApiError::BadParam(format!("tile={tile:?} is not an integer"));
    let at = match params.one("by")?.unwrap_or("index") {
        "index" => TileAt::Index(tile.parse().map_err(|_| bad_tile())?),
        "time" => TileAt::Time(tile.parse().map_err(|_| bad_tile())?),
        other => {
            return Err(ApiError::BadParam(format!(
                "by={other:?}: a tile is by=index or by=time"
            )))
        }
    };
    let time = match (params.one("time")?, params.one("tv")?) {
        (Some(time), Some(tv)) => Some((time.to_string(), tv.to_string())),
        (None, None) => None,
        _ => {
            return Err(ApiError::BadParam(
                "time= and tv= (the timestamps and their version) go together".into(),
            ))
        }
    };
    let query = TileQuery {
        name,
        version,
        level: level as u32,
        at,
        time,
        column: params.integer("column")?,
    };
    let rep = blocking(move || tile_representation(&store, &levels, &query)).await?;
    repr::respond(rep, &headers)
}

/// The answer to a tile query, if the versions it names are the stored ones.
fn tile_representation(
    store: &Store,
    levels: &LevelsCache,
    query: &TileQuery,
) -> Result<Representation, ApiError> {
    let array = store.get(&query.name)?;
    let stale = |name: &str, now: &str, asked: &str| {
        ApiError::Gone(format!(
            "'{name}' has changed since this URL was made: its version is {now}, not {asked}; ask for its version again (the listing, a HEAD or an event gives it)"
        ))
    };
    if array.etag != query.version {
        return Err(stale(&array.name, &array.etag, &query.version));
    }
    let times = match &query.time {
        Some((time, version)) => {
            let times = timestamps_for(store, &array, Some(time))?;
            if let Some(times) = times.as_ref().filter(|t| &t.etag != version) {
                return Err(stale(&times.name, &times.etag, version));
            }
            times
        }
        None => None,
    };
    let len = array.header.shape.first().copied().unwrap_or(0);
    let (window, bins) = match query.at {
        TileAt::Index(tile) => {
            let (start, stop, bins) =
                tiles::index_tile(query.level, tile, len).ok_or_else(|| {
                    ApiError::BadParam(format!(
                        "tile {tile} of level {} starts past the end of '{}' ({len} samples)",
                        query.level, array.name
                    ))
                })?;
            let window = Window::Samples {
                start: Some(start),
                stop: Some(stop),
            };
            (window, bins)
        }
        TileAt::Time(tile) => {
            if times.is_none() {
                return Err(ApiError::BadParam(
                    "a tile in time (by=time) needs time= and tv=: the timestamps it is cut by"
                        .into(),
                ));
            }
            let (t0, t1) = tiles::time_tile(query.level, tile).ok_or_else(|| {
                ApiError::BadParam(format!(
                    "tile {tile} of level {} is outside the instants of i64 ns",
                    query.level
                ))
            })?;
            (Window::Time { t0, t1 }, TILE_BINS)
        }
    };
    let answer = levels.answer(
        &array,
        times.as_deref(),
        window,
        bins as usize,
        query.column,
    )?;
    let key = format!(
        "tile:{:?}:{}:{:?}:{:?}",
        query.at, query.level, query.column, query.time
    );
    Ok(Representation {
        content_type: "application/x-downlink-bundle",
        headers: vec![(
            axum::http::header::CACHE_CONTROL,
            TILE_CACHE_CONTROL.to_string(),
        )],
        parts: vec![repr::Part::Bytes(bytes::Bytes::from(answer.encode()?))],
        etag: repr::etag_for(&array.etag, &key),
    })
}
