//! The HTTP API's routes (the contract is documented in README.md, "The HTTP API"). Each
//! handler carries its `#[utoipa::path]` description, gathered into `/api/openapi.json` by
//! [`crate::server::openapi`].
//!
//! - `read`: the listing, arrays and bundles.
//! - `lod`: level-of-detail envelopes.
//! - `measure`: statistics and spectra of a window.
//! - `clock`: the start and rate of arrays without timestamps.
//! - `write`: PUT, POST and DELETE.
//! - `zarr`: every array as a read-only Zarr v3 store under `/zarr/`.
//! - `params`: query parameters.

pub(crate) mod clock;
pub(crate) mod lod;
pub(crate) mod measure;
mod params;
pub(crate) mod read;
pub(crate) mod write;
pub(crate) mod zarr;

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Extension;
use axum::{Json, Router};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use utoipa::OpenApi;

use crate::server::openapi::ApiDoc;
use crate::server::serve::ConnectionClose;
use crate::server::{write as writer, AppState};

pub use lod::{DEFAULT_BINS, TILE_CACHE_CONTROL};
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
        .route("/api/bundle", get(read::get_bundle).put(write::put_bundle))
        .route("/api/lod/{*name}", get(lod::get_lod))
        .route("/api/tiles/{*name}", get(lod::get_tile))
        .route("/api/stats/{*name}", get(measure::get_stats))
        .route(
            "/api/clock/{*name}",
            get(clock::get_clock)
                .put(clock::put_clock)
                .delete(clock::delete_clock),
        )
        .route("/api/spectrum/{*name}", get(measure::get_spectrum))
        .route("/api/openapi.json", get(openapi_json))
        .route("/zarr/{*key}", get(zarr::get_key))
}

/// `GET /api/events`: one Server-Sent Event per change (`changed` or `deleted`). A
/// subscriber that falls more than [`writer::EVENT_BUFFER`] events behind gets `dropped`
/// and its stream ends (or, if it stopped reading altogether, its connection is closed).
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "meta",
    responses(
        (status = 200, description = "An endless stream of Server-Sent Events: event `changed` or \
            `deleted`, whose data is the array's ArrayChange as JSON; and `dropped` (data \
            `{\"missed\": N}`), after which the stream ends, for a subscriber that fell too far behind", content(
            (String = "text/event-stream"),
        )),
    )
)]
pub(crate) async fn events(
    State(writer): State<writer::Writer>,
    close: Option<Extension<ConnectionClose>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = writer.events().clone();
    let subscription = events.subscribe(close.map(|Extension(c)| c));
    let state = Some((subscription, events));
    let stream = futures_util::stream::unfold(state, |state| async move {
        let (mut subscription, events) = state?;
        loop {
            let received = tokio::select! {
                received = subscription.receiver.recv() => received,
                // The server is shutting down.
                () = events.closed() => return None,
            };
            match received {
                Ok(event) => {
                    subscription.read(1);
                    let Some((kind, data)) = event.to_sse() else {
                        continue;
                    };
                    let event = Event::default().event(kind).data(data);
                    return Some((Ok(event), Some((subscription, events))));
                }
                // Too slow: say so, and end the stream (the client reconnects and catches up).
                Err(RecvError::Lagged(missed)) => {
                    let data = serde_json::json!({ "missed": missed }).to_string();
                    let event = Event::default().event("dropped").data(data);
                    return Some((Ok(event), None));
                }
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
