//! The HTTP error type: every failure of the API becomes one status and `{"error": "..."}`.
//!
//! The errors of the layers below convert into [`ApiError`] with `?` (`From<StoreError>`,
//! `From<WireError>`, `From<LodError>`, `From<LevelsError>`). The status of each is chosen
//! in one place, [`ApiError::status`]. Server faults (a failed disk write, a panicked task,
//! an answer we could not encode) are logged once, when they become a response, and the
//! client gets a plain sentence without internals.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::lod::{AnswerError, LodError};
use crate::names::NameError;
use crate::server::levels::LevelsError;
use crate::server::store::StoreError;
use crate::wire::WireError;

/// An API failure, mapped to one status code each.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the array name breaks the naming rules.
    #[error("bad array name: {0}")]
    BadName(#[from] NameError),
    /// 400: a query parameter is missing, unknown or malformed.
    #[error("{0}")]
    BadParam(String),
    /// 404: no such endpoint or array.
    #[error("{0}")]
    NotFound(String),
    /// 404 for a missing array, 422 for one that cannot be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 422: a stored array cannot be served as asked (its bytes do not fit its header, a
    /// bundle cannot frame it).
    #[error("{0}")]
    Wire(#[from] WireError),
    /// 400 for a window or bin count out of range; 500 for anything else the level of
    /// detail refuses.
    #[error("{0}")]
    Lod(#[from] LodError),
    /// 422: the array's dtype or shape cannot be charted.
    #[error("{0}")]
    Unchartable(String),
    /// 422: an upload is not a valid `.npy` document.
    #[error("not a valid .npy upload: {0}")]
    BadUpload(WireError),
    /// 422: an upload of several arrays (a bundle or an `.npz`) is malformed or holds an
    /// array that cannot be stored; nothing was stored.
    #[error("{0}; nothing was stored")]
    BadSet(String),
    /// 401: a write without the right bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a write from a non-loopback client while no token is configured.
    #[error("{0}")]
    Forbidden(String),
    /// 405: the array cannot be written (an .npz member).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 410: a URL names a version of an array that is no longer the stored one.
    #[error("{0}")]
    Gone(String),
    /// 409: a write that does not fit what is stored.
    #[error("{0}")]
    Conflict(String),
    /// 413: the upload is over the size limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: the upload's Content-Type is not accepted.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 408: an upload's body stalled past the body timeout; nothing was stored.
    #[error("the upload's body stalled for longer than the server waits; nothing was stored")]
    Timeout,
    /// 503: heavy work refused while the pool of heavy work stayed full (with `Retry-After`).
    #[error(transparent)]
    Busy(#[from] crate::server::limits::Busy),
    /// 416: the Range cannot be satisfied; carries the representation's length.
    #[error("the requested range is outside the {0} bytes of this representation")]
    RangeNotSatisfiable(u64),
    /// 500: storing failed (disk full, permissions); the stored arrays are unchanged.
    #[error(
        "the change could not be written to the data directory; the stored arrays are unchanged"
    )]
    Storage(#[source] std::io::Error),
    /// 502: the object store behind an `s3://` data source refused or failed a request;
    /// what was stored is unchanged.
    #[error("the object store failed: {0}")]
    Upstream(String),
    /// 500: a fault of the server itself (a panicked task, an answer it could not encode).
    /// The details go to the log.
    #[error("the server failed to answer; its log has the details")]
    Internal(String),
}

impl From<LevelsError> for ApiError {
    fn from(err: LevelsError) -> Self {
        match err {
            LevelsError::Unsupported(reason) | LevelsError::NoTime(reason) => {
                ApiError::Unchartable(reason)
            }
            LevelsError::Query(err) => ApiError::Lod(err),
            LevelsError::Window(reason) => ApiError::BadParam(reason),
            LevelsError::Busy(busy) => ApiError::Busy(busy),
        }
    }
}

impl From<AnswerError> for ApiError {
    fn from(err: AnswerError) -> Self {
        ApiError::Internal(format!("encoding a level-of-detail answer failed: {err}"))
    }
}

impl ApiError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadName(_) | ApiError::BadParam(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) | ApiError::Store(StoreError::NotFound(_)) => {
                StatusCode::NOT_FOUND
            }
            ApiError::Store(StoreError::Invalid { .. })
            | ApiError::Wire(_)
            | ApiError::Unchartable(_)
            | ApiError::BadUpload(_)
            | ApiError::BadSet(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Lod(err) if is_query_error(err) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Upstream(_)
            | ApiError::Store(StoreError::Unreachable { .. } | StoreError::ListingUnreachable(_)) => {
                StatusCode::BAD_GATEWAY
            }
            ApiError::Lod(_) | ApiError::Storage(_) | ApiError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// A blocking task that panicked or was cancelled.
    pub fn task_failed(err: tokio::task::JoinError) -> ApiError {
        ApiError::Internal(format!("a blocking task failed: {err}"))
    }

    /// Log what a response hides (only server faults have anything to hide). Whoever turns
    /// the error into an answer calls this, once.
    pub fn log_internals(&self) {
        if let Some(details) = self.internals() {
            tracing::error!(status = self.status().as_u16(), "{details}");
        }
    }

    /// The details a response hides, for the log; `None` for client errors.
    fn internals(&self) -> Option<String> {
        match self {
            ApiError::Storage(err) => Some(format!("storing an array failed: {err}")),
            ApiError::Internal(details) => Some(details.clone()),
            ApiError::Lod(err) if !is_query_error(err) => Some(format!("level of detail: {err}")),
            _ => None,
        }
    }
}

/// Whether a level-of-detail error is the client's (a bad window or bin count).
fn is_query_error(err: &LodError) -> bool {
    matches!(
        err,
        LodError::ZeroBins
            | LodError::TooManyBins { .. }
            | LodError::ReversedWindow { .. }
            | LodError::WindowOutOfRange { .. }
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        self.log_internals();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR
            && !matches!(self, ApiError::Storage(_))
        {
            ApiError::Internal(String::new()).to_string()
        } else {
            self.to_string()
        };
        let mut response = (status, Json(serde_json::json!({ "error": message }))).into_response();
        if let ApiError::Unauthorized(_) = self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"downlink\""),
            );
        }
        if let ApiError::Gone(_) = self {
            // The version may come back (the same bytes put again): keep no copy of this.
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if let ApiError::Busy(_) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let ApiError::RangeNotSatisfiable(len) = self {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{len}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn answer(err: ApiError) -> (u16, String) {
        let response = err.into_response();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (
            status,
            json["error"].as_str().unwrap_or_default().to_string(),
        )
    }

    #[tokio::test]
    async fn each_layer_maps_to_its_status() {
        let cases: Vec<(ApiError, u16)> = vec![
            (StoreError::NotFound("x".into()).into(), 404),
            (
                StoreError::Invalid {
                    name: "x".into(),
                    reason: "bad".into(),
                }
                .into(),
                422,
            ),
            (
                StoreError::Unreachable {
                    name: "x".into(),
                    reason: "connection reset".into(),
                }
                .into(),
                502,
            ),
            (
                StoreError::ListingUnreachable("connection refused".into()).into(),
                502,
            ),
            (WireError::BadMagic.into(), 422),
            (LodError::ZeroBins.into(), 400),
            (LodError::WindowOutOfRange { stop: 9, len: 3 }.into(), 400),
            (
                LodError::LengthMismatch {
                    pyramid: 1,
                    samples: 2,
                }
                .into(),
                500,
            ),
            (LevelsError::Unsupported("a record".into()).into(), 422),
            (LevelsError::Query(LodError::ZeroBins).into(), 400),
            (ApiError::BadUpload(WireError::BadMagic), 422),
        ];
        for (err, want) in cases {
            let text = err.to_string();
            assert_eq!(answer(err).await.0, want, "{text}");
        }
    }

    #[tokio::test]
    async fn internals_are_never_shown() {
        let secret = "/srv/data/.downlink/tmp/upload-1.npy: permission denied";
        for err in [
            ApiError::Internal(secret.into()),
            ApiError::Storage(std::io::Error::other(secret)),
            ApiError::Lod(LodError::LengthMismatch {
                pyramid: 1,
                samples: 2,
            }),
        ] {
            let (status, message) = answer(err).await;
            assert_eq!(status, 500);
            assert!(
                !message.contains("/srv") && !message.contains("pyramid"),
                "{message}"
            );
            assert!(!message.is_empty());
        }
    }
}
