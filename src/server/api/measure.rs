//! Measurements of a window of a series: its statistics (`/api/stats`) and its power
//! spectral density (`/api/spectrum`), both JSON, both with ETags like every answer.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;

use super::lod::window_param;
use super::params::Params;
use crate::names::validate_name;
use crate::server::clock::Clocks;
use crate::server::describe::timestamps_for;
use crate::server::error::ApiError;
use crate::server::levels::{LevelsCache, SpectrumQuery, Window};
use crate::server::openapi::{ErrorBody, NameParam, RangeHeaders};
use crate::server::repr::{self, Representation};
use crate::server::store::Store;
use crate::server::task::blocking;

/// `GET /api/stats/{name}`: count, min, max, mean, RMS and std of a window.
#[utoipa::path(
    get,
    path = "/api/stats/{name}",
    tag = "charts",
    params(
        NameParam,
        ("start" = Option<u64>, Query, description = "First sample of the window (default 0)"),
        ("stop" = Option<u64>, Query, description = "One past the last sample (default: the array's length)"),
        ("t0" = Option<String>, Query, example = "1773480413000000000", description = "Instead of start/stop, with t1: the window [t0, t1) of a series with timestamps (as for /api/lod)"),
        ("t1" = Option<String>, Query, example = "2026-03-14T09:31:53Z", description = "The end of a time window"),
        ("time" = Option<String>, Query, description = "The series' timestamps (as for /api/lod)"),
        ("column" = Option<u64>, Query, description = "One column of an (N, C) array (default: all)"),
        RangeHeaders,
    ),
    responses(
        (status = 200, description = "JSON: window [first, last + 1) and, per column: column, samples, count (not NaN), nan, min, min_index, max, max_index, mean, rms, std (ddof 0), indexed; null where the window has no value or it is infinite", body = Object,
            headers(("ETag" = String, description = "Strong; names the file version and the query"))),
        (status = 206, description = "The requested byte range of the 200 body"),
        (status = 304, description = "If-None-Match matched the ETag"),
        (status = 400, description = "A bad name or parameter, a window out of range, or a column out of range", body = ErrorBody),
        (status = 404, description = "No such array", body = ErrorBody),
        (status = 416, description = "The range is outside the representation", body = ErrorBody),
        (status = 422, description = "The dtype cannot be charted, or (time windows) the array has no usable timestamps", body = ErrorBody),
        (status = 502, description = "With --data s3://: the bucket did not answer or failed the request (the message gives its reason); nothing of it is remembered, so ask again", body = ErrorBody),
        (status = 503, description = "A wide window must be scanned before its pyramid is built and the pool of heavy work stayed full", body = ErrorBody,
            headers(("Retry-After" = String, description = "Seconds to wait: 1"))),
    )
)]
pub(crate) async fn get_stats(
    State(store): State<Store>,
    State(levels): State<LevelsCache>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    validate_name(&name)?;
    let params = Params::parse(
        query.as_deref(),
        &["start", "stop", "t0", "t1", "column", "time"],
    )?;
    let asked = Asked {
        name,
        time: params.one("time")?.map(str::to_string),
        window: window_param(&params)?,
        column: params.integer("column")?,
    };
    let rep = blocking(move || {
        asked.json(&store, "stats", "", |array, times| {
            Ok(levels.stats(array, times, asked.window, asked.column)?)
        })
    })
    .await?;
    repr::respond(rep, &headers)
}

/// `GET /api/spectrum/{name}`: the Welch power spectral density of a window.
#[utoipa::path(
    get,
    path = "/api/spectrum/{name}",
    tag = "charts",
    params(
        NameParam,
        ("start" = Option<u64>, Query, description = "First sample of the window (default 0)"),
        ("stop" = Option<u64>, Query, description = "One past the last sample (default: the array's length)"),
        ("t0" = Option<String>, Query, example = "1773480413000000000", description = "Instead of start/stop, with t1: a time window (as for /api/lod)"),
        ("t1" = Option<String>, Query, example = "2026-03-14T09:31:53Z", description = "The end of a time window"),
        ("time" = Option<String>, Query, description = "The series' timestamps (as for /api/lod); they give the sample rate"),
        ("column" = Option<u64>, Query, description = "One column of an (N, C) array (default: all)"),
        ("nperseg" = Option<u32>, Query, minimum = 16, maximum = 65536, description = "Samples per segment (default 4096, at most the window)"),
        ("rate" = Option<f64>, Query, description = "Samples per second of a series without timestamps (default: its clock's rate, else frequencies in cycles per sample)"),
        RangeHeaders,
    ),
    responses(
        (status = 200, description = "JSON: window, rate_hz, rate_from, frequency_unit, nperseg, noverlap, window_function, segments_in_window, segments_with_gaps, frequency[], and per column: column, psd[] (units²/Hz), peak_frequency, segments", body = Object,
            headers(("ETag" = String, description = "Strong; names the file version and the query"))),
        (status = 206, description = "The requested byte range of the 200 body"),
        (status = 304, description = "If-None-Match matched the ETag"),
        (status = 400, description = "A bad name or parameter, a window under 16 samples or out of range, nperseg or rate out of range", body = ErrorBody),
        (status = 404, description = "No such array", body = ErrorBody),
        (status = 416, description = "The range is outside the representation", body = ErrorBody),
        (status = 422, description = "The dtype cannot be charted, or the timestamps cannot give a rate", body = ErrorBody),
        (status = 502, description = "With --data s3://: the bucket did not answer or failed the request (the message gives its reason); nothing of it is remembered, so ask again", body = ErrorBody),
        (status = 503, description = "The pool of heavy work stayed full", body = ErrorBody,
            headers(("Retry-After" = String, description = "Seconds to wait: 1"))),
    )
)]
pub(crate) async fn get_spectrum(
    State(store): State<Store>,
    State(levels): State<LevelsCache>,
    State(clocks): State<Clocks>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    validate_name(&name)?;
    let params = Params::parse(
        query.as_deref(),
        &[
            "start", "stop", "t0", "t1", "column", "time", "nperseg", "rate",
        ],
    )?;
    let rate_hz = params
        .one("rate")?
        .map(|text| match text.parse::<f64>() {
            Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
            _ => Err(ApiError::BadParam(format!(
                "rate={text:?} is not a positive number of samples per second"
            ))),
        })
        .transpose()?;
    let nperseg = params.integer("nperseg")?;
    let asked = Asked {
        name,
        time: params.one("time")?.map(str::to_string),
        window: window_param(&params)?,
        column: params.integer("column")?,
    };
    let rep = blocking(move || {
        // Without rate=, the array's clock gives the rate (if it has no timestamps).
        let rate_hz = rate_hz.or_else(|| clocks.get(&asked.name).map(|c| c.rate_hz));
        let spectrum = SpectrumQuery {
            window: asked.window,
            column: asked.column,
            nperseg: nperseg.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            rate_hz,
        };
        let key = format!("{nperseg:?}:{rate_hz:?}");
        asked.json(&store, "spectrum", &key, |array, times| {
            Ok(levels.spectrum(array, times, spectrum)?)
        })
    })
    .await?;
    repr::respond(rep, &headers)
}

/// What a measurement asks for, besides its own parameters.
struct Asked {
    name: String,
    time: Option<String>,
    window: Window,
    column: Option<u64>,
}

impl Asked {
    /// The JSON answer `measure` gives for the array and its timestamps, with an ETag that
    /// names both versions, the window and `key` (the measurement's own parameters).
    fn json<T: Serialize>(
        &self,
        store: &Store,
        kind: &str,
        key: &str,
        measure: impl FnOnce(
            &crate::server::store::StoredArray,
            Option<&crate::server::store::StoredArray>,
        ) -> Result<T, ApiError>,
    ) -> Result<Representation, ApiError> {
        let array = store.get(&self.name)?;
        let times = timestamps_for(store, &array, self.time.as_deref())?;
        let answer = measure(&array, times.as_deref())?;
        let body = serde_json::to_vec(&answer)
            .map_err(|err| ApiError::Internal(format!("cannot encode the {kind}: {err}")))?;
        let key = format!(
            "{kind}:{}:{:?}:{:?}:{}:{key}",
            self.window.key(),
            self.column,
            self.time,
            times.as_ref().map_or("", |t| t.etag.as_str())
        );
        Ok(Representation {
            content_type: "application/json",
            headers: Vec::new(),
            parts: vec![repr::Part::Bytes(bytes::Bytes::from(body))],
            etag: repr::etag_for(&array.etag, &key),
        })
    }
}
