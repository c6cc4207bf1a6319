//! What the pages load: server functions, called in-process during server rendering, and
//! over HTTP (under `/rpc`, away from the public `/api`) by the index's island when the
//! store changes.

use leptos::prelude::*;

use crate::catalog::{ArrayInfo, ViewData};

/// How many values the array page previews.
pub const PREVIEW_LEN: usize = 24;

/// Every array in the store.
///
/// # Errors
/// Only transport errors (the listing itself skips unreadable files).
#[server(prefix = "/rpc", endpoint = "arrays")]
pub async fn list_arrays() -> Result<Vec<ArrayInfo>, ServerFnError> {
    use crate::server::{api::info_of, AppState};
    let state = expect_context::<AppState>();
    let arrays = state.store.list_async().await;
    Ok(arrays.iter().map(|a| info_of(a)).collect())
}

/// The view of an array or group: metadata, first values, and the chart of the window
/// `[start, stop)` with the series in `hide` (comma-separated keys) toggled off.
///
/// # Errors
/// When the name is invalid, names nothing (the page then answers 404) or is unreadable.
#[server(prefix = "/rpc", endpoint = "view")]
pub async fn get_view(
    name: String,
    start: Option<u64>,
    stop: Option<u64>,
    hide: String,
) -> Result<ViewData, ServerFnError> {
    use crate::server::{views, AppState};
    let state = expect_context::<AppState>();
    let host = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.headers.get(axum::http::header::HOST).cloned())
        .and_then(|host| host.to_str().ok().map(str::to_string))
        .unwrap_or_else(|| state.leptos_options.site_addr.to_string());
    let result = match crate::names::validate_name(&name) {
        Err(err) => Err(format!("bad array name: {err}")),
        Ok(()) => {
            let hidden: Vec<String> = hide
                .split(',')
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect();
            let name = name.clone();
            tokio::task::spawn_blocking(move || {
                views::view(&state, &name, (start, stop), &hidden, PREVIEW_LEN)
                    .map_err(|err| err.to_string())
            })
            .await
            .unwrap_or_else(|err| Err(format!("internal error: {err}")))
        }
    };
    match result {
        Ok(mut view) => {
            if let Some(detail) = view.array.as_mut() {
                detail.origin = format!("http://{host}");
            }
            Ok(view)
        }
        Err(message) => {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(axum::http::StatusCode::NOT_FOUND);
            }
            Err(ServerFnError::new(message))
        }
    }
}
