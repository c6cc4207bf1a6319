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
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::json!({ "error": self.to_string() });
        let mut response = (status, Json(body)).into_response();
        if let ApiError::RangeNotSatisfiable(len) = self {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{len}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
        }
        response
    }
}
