//! `/api/clock/{name}`: the start time and sample rate of an array without timestamps, so
//! its chart reads in time and its spectrum in Hz. GET reads it; PUT (with the right to
//! write) sets it; DELETE removes it.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::write::writable;
use crate::catalog::Clock;
use crate::chart::{format_time_ns, parse_time_ns};
use crate::names::validate_name;
use crate::server::clock::{valid, MAX_RATE_HZ};
use crate::server::error::ApiError;
use crate::server::openapi::{ErrorBody, NameParam};
use crate::server::task::blocking;
use crate::server::AppState;

/// Most bytes a clock body may have.
const MAX_BODY: usize = 4096;

/// A clock as the API gives it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockInfo {
    /// The array.
    pub name: String,
    /// Sample 0, ISO 8601 UTC with nanoseconds.
    pub start: String,
    /// Sample 0, ns since the Unix epoch.
    pub start_ns: i64,
    /// Samples per second.
    pub rate_hz: f64,
}

impl ClockInfo {
    fn of(name: String, clock: Clock) -> ClockInfo {
        ClockInfo {
            name,
            start: format_time_ns(clock.start_ns),
            start_ns: clock.start_ns,
            rate_hz: clock.rate_hz,
        }
    }
}

/// The body of a PUT: a rate, and a start as ISO 8601 or integer ns (default: the epoch,
/// so the axis reads as time elapsed).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockBody {
    /// Samples per second, above 0 and at most 1e12.
    pub rate_hz: f64,
    /// Sample 0: `"2026-03-14T09:26:53.020Z"` or ns since the Unix epoch.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub start: Option<serde_json::Value>,
}

/// `GET /api/clock/{name}`: the array's clock.
#[utoipa::path(
    get,
    path = "/api/clock/{name}",
    tag = "charts",
    params(NameParam),
    responses(
        (status = 200, description = "The clock", body = ClockInfo),
        (status = 400, description = "A bad name", body = ErrorBody),
        (status = 404, description = "No such array, or it has no clock", body = ErrorBody),
    )
)]
pub(crate) async fn get_clock(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<ClockInfo>, ApiError> {
    validate_name(&name)?;
    let state2 = state.clone();
    let owned = name.clone();
    let clock = blocking(move || {
        state2.store.get_lazy(&owned)?;
        Ok::<_, ApiError>(state2.clocks.get(&owned))
    })
    .await?;
    let clock = clock.ok_or_else(|| ApiError::NotFound(format!("'{name}' has no clock")))?;
    Ok(Json(ClockInfo::of(name, clock)))
}

/// `PUT /api/clock/{name}`: set the array's clock.
#[utoipa::path(
    put,
    path = "/api/clock/{name}",
    tag = "charts",
    params(NameParam),
    request_body(content = ClockBody, content_type = "application/json"),
    security((), ("write_token" = [])),
    responses(
        (status = 200, description = "The clock now", body = ClockInfo),
        (status = 400, description = "A bad name, or a body that is not {\"rate_hz\": N, \"start\": ...} with a positive rate and a valid instant", body = ErrorBody),
        (status = 401, description = "A write token is configured and this is not it", body = ErrorBody),
        (status = 403, description = "No write token is configured and the client is not on loopback", body = ErrorBody),
        (status = 404, description = "No such array", body = ErrorBody),
        (status = 413, description = "A body over 4 KB", body = ErrorBody),
        (status = 500, description = "The clock could not be stored", body = ErrorBody),
    )
)]
pub(crate) async fn put_clock(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Json<ClockInfo>, ApiError> {
    writable(&state, &name, &request)?;
    let body: Bytes = axum::body::to_bytes(request.into_body(), MAX_BODY)
        .await
        .map_err(|_| {
            ApiError::PayloadTooLarge(format!("a clock body is at most {MAX_BODY} bytes"))
        })?;
    let clock = parse_body(&body)?;
    let owned = name.clone();
    blocking(move || {
        state.store.get_lazy(&owned)?;
        state.clocks.set(&owned, &clock).map_err(|err| {
            ApiError::Internal(format!("cannot store the clock of '{owned}': {err}"))
        })
    })
    .await?;
    Ok(Json(ClockInfo::of(name, clock)))
}

/// The clock a PUT body states.
fn parse_body(body: &[u8]) -> Result<Clock, ApiError> {
    let bad = |why: String| {
        ApiError::BadParam(format!(
            "a clock is {{\"rate_hz\": N, \"start\": \"ISO 8601\" or ns}}: {why}"
        ))
    };
    let body: ClockBody = serde_json::from_slice(body).map_err(|err| bad(err.to_string()))?;
    let start_ns = match &body.start {
        None | Some(serde_json::Value::Null) => 0,
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| bad(format!("start {n} is not an integer number of ns")))?,
        Some(serde_json::Value::String(text)) => parse_time_ns(text)
            .ok_or_else(|| bad(format!("start {text:?} is not an ISO 8601 instant")))?,
        Some(other) => return Err(bad(format!("start {other} is neither"))),
    };
    let clock = Clock {
        start_ns,
        rate_hz: body.rate_hz,
    };
    if !valid(&clock) {
        return Err(bad(format!(
            "rate_hz {} is not above 0 and at most {MAX_RATE_HZ:e}",
            body.rate_hz
        )));
    }
    Ok(clock)
}

/// `DELETE /api/clock/{name}`: remove the array's clock.
#[utoipa::path(
    delete,
    path = "/api/clock/{name}",
    tag = "charts",
    params(NameParam),
    security((), ("write_token" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "A bad name", body = ErrorBody),
        (status = 401, description = "A write token is configured and this is not it", body = ErrorBody),
        (status = 403, description = "No write token is configured and the client is not on loopback", body = ErrorBody),
        (status = 404, description = "The array has no clock", body = ErrorBody),
    )
)]
pub(crate) async fn delete_clock(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    writable(&state, &name, &request)?;
    let owned = name.clone();
    let removed = blocking(move || Ok::<_, ApiError>(state.clocks.remove(&owned))).await?;
    if !removed {
        return Err(ApiError::NotFound(format!("'{name}' has no clock")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_checked() {
        let clock = parse_body(br#"{"rate_hz": 25600, "start": "2026-03-14T00:00:00Z"}"#).unwrap();
        assert_eq!(clock.rate_hz, 25_600.0);
        assert_eq!(clock.start_ns, 1_773_446_400_000_000_000);
        assert_eq!(
            parse_body(br#"{"rate_hz": 1, "start": 5}"#)
                .unwrap()
                .start_ns,
            5
        );
        assert_eq!(parse_body(br#"{"rate_hz": 1}"#).unwrap().start_ns, 0);
        for bad in [
            &br#"{"rate_hz": 0}"#[..],
            br#"{"rate_hz": -3}"#,
            br#"{"rate_hz": 1e13}"#,
            br#"{"rate_hz": 1, "start": "yesterday"}"#,
            br#"{"rate_hz": 1, "start": 1.5}"#,
            br#"{"rate_hz": 1, "start": [1]}"#,
            br#"{"rate": 1}"#,
            b"not json",
        ] {
            assert!(
                matches!(parse_body(bad), Err(ApiError::BadParam(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
