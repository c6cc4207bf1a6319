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

/// The items of a comma-separated list in the URL.
#[cfg(feature = "ssr")]
fn list(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every array in the store.
///
/// # Errors
/// [`PageError::Internal`] when listing fails (the listing itself skips unreadable files).
#[server(prefix = "/rpc", endpoint = "arrays")]
pub async fn list_arrays() -> Result<Vec<ArrayInfo>, PageError> {
    use crate::server::describe::info_of;
    use crate::server::task::blocking;
    let store = ssr::state()?.store.clone();
    let arrays = blocking(move || Ok(store.list()?)).await?;
    Ok(arrays.iter().map(|a| info_of(a)).collect())
}

/// What a view's URL asks for, besides its name (the query of `/view/{name}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewParams {
    /// `start`, `stop`: the window by index.
    pub start: Option<u64>,
    /// See `start`.
    pub stop: Option<u64>,
    /// `t0`, `t1`: the window in time, ns since the Unix epoch.
    pub t0: Option<i64>,
    /// See `t0`.
    pub t1: Option<i64>,
    /// `time`: the timestamps to chart by.
    pub time: Option<String>,
    /// `hide`: keys of the series toggled off, comma-separated.
    pub hide: String,
    /// `join`: keys of the series overlaid on the panel above, comma-separated.
    pub join: String,
    /// `add`: arrays and groups added to the view, comma-separated `NAME` or `NAME@TIMES`.
    pub add: String,
    /// `y`: the panels' y scales (see [`crate::chart::YScale::parse_param`]).
    #[serde(default)]
    pub y: String,
}

/// The view of an array or group: metadata, first values, and the charts `params` ask for.
///
/// # Errors
/// [`PageError::BadName`], [`PageError::NotFound`] or [`PageError::Unreadable`] (the page
/// answers 400, 404 or 422), [`PageError::Internal`].
#[server(prefix = "/rpc", endpoint = "view", input = leptos::server_fn::codec::Json)]
pub async fn get_view(name: String, params: ViewParams) -> Result<ViewData, PageError> {
    use crate::server::error::ApiError;
    use crate::server::task::blocking;
    use crate::server::views::{self, ViewQuery};
    let state = ssr::state()?;
    let host = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.headers.get(axum::http::header::HOST).cloned())
        .and_then(|host| host.to_str().ok().map(str::to_string))
        .unwrap_or_else(|| state.leptos_options.site_addr.to_string());
    let query = ViewQuery {
        start: params.start,
        stop: params.stop,
        t0: params.t0,
        t1: params.t1,
        hidden: list(&params.hide),
        joined: list(&params.join),
        added: list(&params.add),
        time: params.time,
        y: crate::chart::YScale::parse_param(&params.y),
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
