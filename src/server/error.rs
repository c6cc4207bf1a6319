//! The HTTP error type: every failure of the API becomes a status and `{"error": "..."}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::names::NameError;
use crate::server::store::StoreError;

/// An API failure, mapped to one status code each.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the array name breaks the naming rules.
    #[error("bad array name: {0}")]
    BadName(#[from] NameError),
    /// 400: a query parameter is missing, unknown or malformed.
    #[error("{0}")]
    BadParam(String),
    /// 404: no such array.
    #[error("{0}")]
    NotFound(String),
    /// 422: the stored array is malformed or unsupported.
    #[error("{0}")]
    Unprocessable(String),
    /// 401: a write without the right bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a write from a non-loopback client while no token is configured.
    #[error("{0}")]
    Forbidden(String),
    /// 405: the array cannot be written (an .npz member).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409: an append that does not match the stored array.
    #[error("{0}")]
    Conflict(String),
    /// 413: the upload is over the size limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: the upload's Content-Type is not accepted.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 500: storing failed (disk full, permissions); the details are logged, not sent.
    #[error(
        "the change could not be written to the data directory; the stored arrays are unchanged"
    )]
    Storage(#[source] std::io::Error),
    /// 416: the Range cannot be satisfied; carries the representation's length.
    #[error("the requested range is outside the {0} bytes of this representation")]
    RangeNotSatisfiable(u64),
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(_) => ApiError::NotFound(err.to_string()),
            StoreError::Invalid { .. } => ApiError::Unprocessable(err.to_string()),
        }
    }
}

impl ApiError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadName(_) | ApiError::BadParam(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Storage(err) = &self {
            tracing::error!("storing an array failed: {err}");
        }
        let body = serde_json::json!({ "error": self.to_string() });
        let mut response = (status, Json(body)).into_response();
        if let ApiError::Unauthorized(_) = self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"downlink\""),
            );
        }
        if let ApiError::RangeNotSatisfiable(len) = self {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{len}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
        }
        response
    }
}
