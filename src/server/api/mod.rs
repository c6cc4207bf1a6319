//! The HTTP API's routes (the contract is documented in README.md, "The HTTP API"). Each
//! handler carries its `#[utoipa::path]` description, gathered into `/api/openapi.json` by
//! [`crate::server::openapi`].
//!
//! - `read`: the listing, arrays and bundles.
//! - `lod`: level-of-detail envelopes.
//! - `write`: PUT, POST and DELETE.
//! - `params`: query parameters.

pub(crate) mod lod;
mod params;
pub(crate) mod read;
pub(crate) mod write;

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use utoipa::OpenApi;

use crate::server::openapi::ApiDoc;
use crate::server::{write as writer, AppState};

pub use lod::DEFAULT_BINS;
pub use read::{ArrayList, MAX_BUNDLE_ARRAYS};

/// Routes under `/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/arrays", get(read::list_arrays))
        .route(
            "/api/arrays/{*name}",
            get(read::get_array)
                .put(write::put_array)
                .post(write::post_array)
                .delete(write::delete_array),
        )
        .route("/api/events", get(events))
        .route("/api/bundle", get(read::get_bundle))
        .route("/api/lod/{*name}", get(lod::get_lod))
        .route("/api/openapi.json", get(openapi_json))
}

/// `GET /api/events`: one Server-Sent Event per change (`changed` or `deleted`).
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "meta",
    responses(
        (status = 200, description = "An endless stream of Server-Sent Events: event `changed` or \
            `deleted`, whose data is the array's ArrayChange as JSON", content(
            (String = "text/event-stream"),
        )),
    )
)]
pub(crate) async fn events(
    State(writer): State<writer::Writer>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = writer.subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => {
                    let Some((kind, data)) = event.to_sse() else {
                        continue;
                    };
                    return Some((Ok(Event::default().event(kind).data(data)), receiver));
                }
                // A slow client missed some events; the next ones still arrive.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
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
