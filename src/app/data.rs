//! What the pages load: server functions, called in-process during server rendering and
//! over HTTP (under `/rpc`, away from the public `/api`) after hydration.

use leptos::prelude::*;

use crate::catalog::{ArrayDetail, ArrayInfo};

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

/// One array's metadata and first values.
///
/// # Errors
/// When the name is invalid, the array missing (the page then answers 404) or unreadable.
#[server(prefix = "/rpc", endpoint = "array")]
pub async fn get_array_detail(name: String) -> Result<ArrayDetail, ServerFnError> {
    use crate::server::{api::info_of, preview, AppState};
    let state = expect_context::<AppState>();
    let result = match crate::names::validate_name(&name) {
        Err(err) => Err(ServerFnError::new(format!("bad array name: {err}"))),
        Ok(()) => match state.store.get_async(&name).await {
            Ok(array) => {
                let (count, values) = preview(&array, PREVIEW_LEN);
                let host = use_context::<axum::http::request::Parts>()
                    .and_then(|parts| parts.headers.get(axum::http::header::HOST).cloned())
                    .and_then(|host| host.to_str().ok().map(str::to_string))
                    .unwrap_or_else(|| state.leptos_options.site_addr.to_string());
                Ok(ArrayDetail {
                    info: info_of(&array),
                    fortran_order: array.header.fortran_order,
                    count,
                    preview: values,
                    origin: format!("http://{host}"),
                })
            }
            Err(err) => Err(ServerFnError::new(err.to_string())),
        },
    };
    if result.is_err() {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    result
}
