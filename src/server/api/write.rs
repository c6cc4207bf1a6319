//! Writing: PUT, POST and DELETE of one array, after the caller's right to write is checked.
//! The work itself is [`crate::server::write`].

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::response::Response;

use crate::catalog::ArrayInfo;
use crate::names::validate_name;
use crate::server::api::read::ArrayList;
use crate::server::error::ApiError;
use crate::server::openapi::{Binary, ErrorBody, NameParam, SetFailures, UploadFailures};
use crate::server::task::blocking;
use crate::server::{write, AppState};

/// Check the name and the caller's right to write.
pub(super) fn writable(state: &AppState, name: &str, request: &Request) -> Result<(), ApiError> {
    validate_name(name)?;
    authorized(state, request)
}

/// Check the caller's right to write.
fn authorized(state: &AppState, request: &Request) -> Result<(), ApiError> {
    let authorization = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    // The peer as the server saw it (or as a test's MockConnectInfo says).
    let extensions = request.extensions();
    let peer = extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .or_else(|| {
            extensions
                .get::<axum::extract::connect_info::MockConnectInfo<std::net::SocketAddr>>()
                .map(|mock| mock.0.ip())
        });
    write::authorize(state.writer.config().token.as_deref(), authorization, peer)
}

/// `PUT /api/arrays/{name}`: create or replace an array.
#[utoipa::path(
    put,
    path = "/api/arrays/{name}",
    tag = "writes",
    params(NameParam),
    request_body(description = "An .npy document; or an .npz archive, which replaces the group \
        `name` with its members, all or none (the answer is then an ArrayList); a group that is \
        an .npz file is replaced by the archive as sent", content(
        (inline(Binary) = "application/x-npy"),
        (inline(Binary) = "application/octet-stream"),
        (inline(Binary) = "application/zip"),
        (inline(Binary) = "application/x-npz"),
    )),
    security((), ("write_token" = [])),
    responses(
        (status = 200, description = "Replaced (for an .npz: an ArrayList of the group)", body = ArrayInfo),
        (status = 201, description = "Created (for an .npz: an ArrayList of the group)", body = ArrayInfo),
        (status = 409, description = "A file stands where the name needs a folder", body = ErrorBody),
        UploadFailures,
    )
)]
pub(crate) async fn put_array(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    writable(&state, &name, &request)?;
    let (parts, body) = request.into_parts();
    if write::is_npz(&parts.headers) {
        return write::put_npz(
            &state.store,
            &state.levels,
            &state.writer,
            &name,
            &parts.headers,
            body,
        )
        .await;
    }
    write::put(&state.store, &state.writer, &name, &parts.headers, body).await
}

/// `PUT /api/bundle`: store several arrays at once, all or none.
#[utoipa::path(
    put,
    path = "/api/bundle",
    tag = "writes",
    request_body(description = "A Downlink bundle (the format of GET /api/bundle): every array \
        in it is stored under its name, all or none", content(
        (inline(Binary) = "application/x-downlink-bundle"),
    )),
    security((), ("write_token" = [])),
    responses(
        (status = 200, description = "Stored, every array", body = ArrayList),
        (status = 409, description = "A file stands where a name needs a folder", body = ErrorBody),
        SetFailures,
    )
)]
pub(crate) async fn put_bundle(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    // The names are checked in the body; the right to write is the same as for one array.
    authorized(&state, &request)?;
    let (parts, body) = request.into_parts();
    write::put_bundle(
        &state.store,
        &state.levels,
        &state.writer,
        &parts.headers,
        body,
    )
    .await
}

/// `POST /api/arrays/{name}`: append rows along axis 0, or create the array.
#[utoipa::path(
    post,
    path = "/api/arrays/{name}",
    tag = "writes",
    params(NameParam),
    request_body(description = "An .npy document of the rows to append", content(
        (inline(Binary) = "application/x-npy"),
        (inline(Binary) = "application/octet-stream"),
    )),
    security((), ("write_token" = [])),
    responses(
        (status = 200, description = "Appended", body = ArrayInfo),
        (status = 201, description = "Created (there was no such array)", body = ArrayInfo),
        (status = 409, description = "The rows do not match the stored dtype, trailing shape or order, or the stored array is unreadable", body = ErrorBody),
        UploadFailures,
    )
)]
pub(crate) async fn post_array(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    writable(&state, &name, &request)?;
    let (parts, body) = request.into_parts();
    write::append(
        &state.store,
        &state.levels,
        &state.writer,
        &name,
        &parts.headers,
        body,
    )
    .await
}

/// `DELETE /api/arrays/{name}`: remove an array.
#[utoipa::path(
    delete,
    path = "/api/arrays/{name}",
    tag = "writes",
    params(NameParam),
    security((), ("write_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A bad name", body = ErrorBody),
        (status = 401, description = "A token is configured and the request lacks it", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Bearer realm=\"downlink\""))),
        (status = 403, description = "No token is configured and the client is not on this machine", body = ErrorBody),
        (status = 404, description = "No such array", body = ErrorBody),
        (status = 405, description = "The name is a member of an .npz group, which is read-only", body = ErrorBody),
        (status = 500, description = "Deleting failed", body = ErrorBody),
    )
)]
pub(crate) async fn delete_array(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    writable(&state, &name, &request)?;
    let answer = write::delete(&state.store, &state.levels, &state.writer, &name).await?;
    // The array is gone: so is its clock.
    let clocks = state.clocks.clone();
    blocking(move || Ok(clocks.remove(&name))).await?;
    Ok(answer)
}
