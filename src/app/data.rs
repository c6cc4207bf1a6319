//! What the pages load: server functions, called in-process during server rendering, and
//! over HTTP (under `/rpc`, away from the public `/api`) by the index's island when the
//! store changes. They fail with a typed [`PageError`], which carries the status the page
//! answers with.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

use crate::catalog::{ArrayInfo, ViewData};

/// How many values the array page previews.
pub const PREVIEW_LEN: usize = 24;

/// Why a page's data could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PageError {
    /// 400: the name in the URL is not a valid array name.
    #[error("{0}")]
    BadName(String),
    /// 404: no array or group has the name.
    #[error("{0}")]
    NotFound(String),
    /// 422: the array exists but cannot be read.
    #[error("{0}")]
    Unreadable(String),
    /// 500: the server failed (its log has the details).
    #[error("the server failed to answer; its log has the details")]
    Internal,
    /// The call itself failed (the network, or the server function machinery).
    #[error("{0}")]
    Call(ServerFnErrorErr),
}

impl PageError {
    /// The HTTP status a page with this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            PageError::BadName(_) => 400,
            PageError::NotFound(_) => 404,
            PageError::Unreadable(_) => 422,
            PageError::Internal | PageError::Call(_) => 500,
        }
    }
}

impl FromServerFnError for PageError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        PageError::Call(value)
    }
}

/// How server functions reach the server: its state, and the page's response.
#[cfg(feature = "ssr")]
pub mod ssr {
    use leptos::prelude::*;

    use super::PageError;
    use crate::server::error::ApiError;
    use crate::server::AppState;

    /// The server's state, which the router provides to every render and server function.
    ///
    /// # Errors
    /// [`PageError::Internal`] when it is missing (a router built without it).
    pub fn state() -> Result<AppState, PageError> {
        use_context::<AppState>().ok_or_else(|| {
            tracing::error!("a server function ran without the AppState in its context");
            PageError::Internal
        })
    }

    /// Answer the page being rendered with `status`.
    pub fn set_status(status: u16) {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            if let Ok(status) = axum::http::StatusCode::from_u16(status) {
                response.set_status(status);
            }
        }
    }

    impl From<ApiError> for PageError {
        fn from(err: ApiError) -> Self {
            match err.status().as_u16() {
                400 => PageError::BadName(err.to_string()),
                404 => PageError::NotFound(err.to_string()),
                422 => PageError::Unreadable(err.to_string()),
                _ => {
                    err.log_internals();
                    PageError::Internal
                }
            }
        }
    }
}

/// Every array in the store.
///
/// # Errors
/// [`PageError::Internal`] when listing fails (the listing itself skips unreadable files).
#[server(prefix = "/rpc", endpoint = "arrays")]
pub async fn list_arrays() -> Result<Vec<ArrayInfo>, PageError> {
    use crate::server::describe::info_of;
    use crate::server::task::blocking;
    let store = ssr::state()?.store;
    let arrays = blocking(move || Ok(store.list())).await?;
    Ok(arrays.iter().map(|a| info_of(a)).collect())
}

/// The view of an array or group: metadata, first values, and the chart of the window
/// (`[start, stop)` by index, or `[t0, t1)` in ns on a time axis) with the series in `hide`
/// (comma-separated keys) toggled off, charted by the timestamps `time` if given.
///
/// # Errors
/// [`PageError::BadName`], [`PageError::NotFound`] or [`PageError::Unreadable`] (the page
/// answers 400, 404 or 422), [`PageError::Internal`].
#[server(prefix = "/rpc", endpoint = "view")]
pub async fn get_view(
    name: String,
    start: Option<u64>,
    stop: Option<u64>,
    t0: Option<i64>,
    t1: Option<i64>,
    time: Option<String>,
    hide: String,
) -> Result<ViewData, PageError> {
    use crate::server::error::ApiError;
    use crate::server::task::blocking;
    use crate::server::views::{self, ViewQuery};
    let state = ssr::state()?;
    let host = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.headers.get(axum::http::header::HOST).cloned())
        .and_then(|host| host.to_str().ok().map(str::to_string))
        .unwrap_or_else(|| state.leptos_options.site_addr.to_string());
    let query = ViewQuery {
        start,
        stop,
        t0,
        t1,
        time,
        hidden: hide
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let viewed = match crate::names::validate_name(&name) {
        Err(err) => Err(ApiError::from(err)),
        Ok(()) => blocking(move || views::view(&state, &name, &query, PREVIEW_LEN)).await,
    };
    match viewed {
        Ok(mut view) => {
            if let Some(detail) = view.array.as_mut() {
                detail.origin = format!("http://{host}");
            }
            Ok(view)
        }
        Err(err) => {
            let err = PageError::from(err);
            ssr::set_status(err.status());
            Err(err)
        }
    }
}
