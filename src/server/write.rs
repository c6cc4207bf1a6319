//! The write path: PUT (create or replace), POST (append), DELETE, who may write, and the
//! change events that open pages follow.
//!
//! Nothing is ever lost or torn:
//! - **Uploads are streamed to a temporary file** under `DIR/.downlink/tmp/` (hidden, never
//!   listed, emptied at start-up). The size limit is enforced while streaming, chunked
//!   bodies included. The stored array is not touched until the whole body has arrived and
//!   validated: a header of at most NumPy's 10,000 bytes, no object dtype, and data exactly
//!   as long as the shape says. A failed, rejected or aborted upload only deletes its
//!   temporary file; a `kill -9` leaves one that the next start deletes.
//! - **PUT renames** the validated file over the old one: readers that hold the old memory
//!   map keep reading the old inode, and new readers see the new file whole.
//! - **POST appends without rewriting anything a reader maps.** It writes the new rows
//!   after the old data and `fsync`s. Only then does it rewrite the header in place. NumPy
//!   (and Downlink) leave room in the header for the first axis to grow, and Downlink
//!   serves a header it generates itself, never the mapped one. A crash between the two
//!   steps leaves the old header, which describes the old array exactly. The unused bytes
//!   after it are ignored, as `numpy.load` ignores them, and overwritten by the next append.
//!   A header with no room left is rewritten once into a new file, renamed into place.
//!   Appends cost O(appended bytes); the LOD pyramids are extended, not rebuilt.
//! - **Writes to one array are serialised** by a per-name lock; reads never wait.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::broadcast;

use crate::catalog::ArrayInfo;
use crate::server::api::info_of;
use crate::server::error::ApiError;
use crate::server::levels::LevelsCache;
use crate::server::store::{Store, StoreError, StoredArray};
use crate::wire::npy::{check_upload, NpyHeader, MAX_HEADER_LEN};

/// Default upload limit: 1 GiB.
pub const DEFAULT_MAX_UPLOAD: u64 = 1 << 30;
/// Content types a write accepts.
pub const ACCEPTED_TYPES: [&str; 2] = ["application/x-npy", "application/octet-stream"];
/// Bytes read from the start of an upload to validate it: the longest header plus its prefix.
const HEADER_PREFIX: usize = MAX_HEADER_LEN + 64;

/// Who may write, and how much.
#[derive(Debug, Clone)]
pub struct WriteConfig {
    /// `DOWNLINK_WRITE_TOKEN`: when set, writes need `Authorization: Bearer <token>`;
    /// when unset, writes are accepted from loopback clients only.
    pub token: Option<String>,
    /// `DOWNLINK_MAX_UPLOAD`: the largest accepted body, in bytes.
    pub max_upload: u64,
}

impl Default for WriteConfig {
    fn default() -> Self {
        WriteConfig {
            token: None,
            max_upload: DEFAULT_MAX_UPLOAD,
        }
    }
}

/// What happened to an array, as sent on `/api/events`.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// The SSE event type: `changed` or `deleted`.
    #[serde(skip)]
    pub kind: &'static str,
    /// The array as it is now (or was, for `deleted`).
    #[serde(flatten)]
    pub info: ChangeInfo,
}

/// The data of a change event: `{"name","dtype","shape","etag"}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangeInfo {
    /// The array's name.
    pub name: String,
    /// Its dtype (as in the listing).
    #[schema(schema_with = crate::server::openapi::dtype_schema)]
    pub dtype: serde_json::Value,
    /// Its shape.
    pub shape: Vec<u64>,
    /// Its ETag (as in the listing).
    pub etag: String,
}

impl From<ArrayInfo> for ChangeInfo {
    fn from(info: ArrayInfo) -> Self {
        ChangeInfo {
            name: info.name,
            dtype: info.dtype,
            shape: info.shape,
            etag: info.etag,
        }
    }
}

/// The writer: configuration, per-array locks, the temporary directory and the event bus.
#[derive(Debug, Clone)]
pub struct Writer {
    config: Arc<WriteConfig>,
    tmp_dir: PathBuf,
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    events: broadcast::Sender<Change>,
    counter: Arc<AtomicU64>,
}

impl Writer {
    /// A writer for a data directory (temporary files go to `DIR/.downlink/tmp`).
    pub fn new(data: &Path, config: WriteConfig) -> Writer {
        let (events, _) = broadcast::channel(1024);
        Writer {
            config: Arc::new(config),
            tmp_dir: data.join(".downlink").join("tmp"),
            locks: Arc::default(),
            events,
            counter: Arc::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &WriteConfig {
        &self.config
    }

    /// Delete temporary files a killed process left behind (call before serving).
    ///
    /// # Errors
    /// When the directory cannot be created or read.
    pub fn clean_temporaries(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.tmp_dir)?;
        for entry in std::fs::read_dir(&self.tmp_dir)? {
            let path = entry?.path();
            if let Err(err) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), "cannot remove a stale upload: {err}");
            }
        }
        Ok(())
    }

    /// A receiver of every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.events.subscribe()
    }

    fn emit(&self, kind: &'static str, array: &StoredArray) {
        // No subscribers is fine: nobody is watching.
        let _ = self.events.send(Change {
            kind,
            info: info_of(array).into(),
        });
    }

    async fn lock(&self, name: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self
                .locks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // Locks of names nobody holds are dropped, so the map stays small.
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
            Arc::clone(locks.entry(name.to_string()).or_default())
        };
        lock.lock_owned().await
    }

    fn temp_path(&self) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.tmp_dir
            .join(format!("upload-{}-{n}.npy", std::process::id()))
    }
}

/// Decide whether a write may proceed. `authorization` is the header value, `peer` the
/// client's address (`None` when unknown, which counts as not loopback).
///
/// # Errors
/// 401 for a missing or wrong token when one is configured; 403 for a non-loopback client
/// when none is.
pub fn authorize(
    token: Option<&str>,
    authorization: Option<&str>,
    peer: Option<IpAddr>,
) -> Result<(), ApiError> {
    match token {
        Some(token) => {
            let Some(given) = authorization.and_then(|v| v.strip_prefix("Bearer ")) else {
                return Err(ApiError::Unauthorized(
                    "writes need an 'Authorization: Bearer <token>' header".into(),
                ));
            };
            if constant_time_eq(given.trim().as_bytes(), token.as_bytes()) {
                Ok(())
            } else {
                Err(ApiError::Unauthorized("the bearer token is wrong".into()))
            }
        }
        None if peer.is_some_and(|ip| ip.is_loopback()) => Ok(()),
        None => Err(ApiError::Forbidden(
            "writes are accepted from this machine only; set DOWNLINK_WRITE_TOKEN to allow remote writers"
                .into(),
        )),
    }
}

/// Compare secrets in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A temporary upload file, deleted on drop unless kept.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl TempFile {
    fn keep(mut self) -> PathBuf {
        self.keep = true;
        self.path.clone()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A received, validated upload.
struct Upload {
    file: TempFile,
    header: NpyHeader,
    data_offset: u64,
    data_len: u64,
}

/// Stream a request body to a temporary file and validate it. `durable`: sync the file to
/// disk (a PUT renames it into place; an append copies it into a file it then syncs).
async fn receive(
    writer: &Writer,
    headers: &HeaderMap,
    body: Body,
    durable: bool,
) -> Result<Upload, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if !content_type
        .as_deref()
        .is_some_and(|t| ACCEPTED_TYPES.contains(&t))
    {
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type must be {} (got {})",
            ACCEPTED_TYPES.join(" or "),
            content_type.as_deref().unwrap_or("none")
        )));
    }
    let max = writer.config.max_upload;
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the upload is over the limit of {max} bytes (DOWNLINK_MAX_UPLOAD); nothing was stored"
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(too_large());
    }

    tokio::fs::create_dir_all(&writer.tmp_dir)
        .await
        .map_err(ApiError::Storage)?;
    let temp = TempFile {
        path: writer.temp_path(),
        keep: false,
    };
    let mut file = tokio::fs::File::create(&temp.path)
        .await
        .map_err(ApiError::Storage)?;
    let mut stream = body.into_data_stream();
    let mut total: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| {
            ApiError::BadParam(format!(
                "the upload was interrupted: {err}; nothing was stored"
            ))
        })?;
        total += chunk.len() as u64;
        if total > max {
            return Err(too_large());
        }
        file.write_all(&chunk).await.map_err(ApiError::Storage)?;
    }
    file.flush().await.map_err(ApiError::Storage)?;
    if durable {
        file.sync_all().await.map_err(ApiError::Storage)?;
    }
    drop(file);

    let path = temp.path.clone();
    let checked = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let mut prefix = Vec::with_capacity(HEADER_PREFIX);
        File::open(&path)
            .and_then(|f| f.take(HEADER_PREFIX as u64).read_to_end(&mut prefix))
            .map_err(ApiError::Storage)?;
        check_upload(&prefix, total)
            .map_err(|err| ApiError::Unprocessable(format!("not a valid .npy upload: {err}")))
    })
    .await
    .map_err(join_failed)??;
    let (header, data_offset) = checked;
    let data_len = header
        .data_len()
        .map_err(|err| ApiError::Unprocessable(err.to_string()))?;
    Ok(Upload {
        file: temp,
        header,
        data_offset: data_offset as u64,
        data_len,
    })
}

/// Refuse writes to `.npz` members.
fn refuse_npz(store: &Store, name: &str) -> Result<(), ApiError> {
    match store.npz_owner(name) {
        Some(npz) => Err(ApiError::MethodNotAllowed(format!(
            "'{name}' is a member of the .npz group {}; groups are read-only",
            npz.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ))),
        None => Ok(()),
    }
}

/// A write that failed on the file system: a file standing where the name needs a folder is
/// the client's conflict (409); anything else is the server's (500).
fn path_error(name: &str, err: std::io::Error) -> ApiError {
    match err.kind() {
        std::io::ErrorKind::NotADirectory | std::io::ErrorKind::AlreadyExists => {
            ApiError::Conflict(format!(
                "'{name}' cannot be stored: a file stands where it needs a folder"
            ))
        }
        _ => ApiError::Storage(err),
    }
}

/// A blocking file task that panicked or was cancelled: the write did not happen.
fn join_failed(err: tokio::task::JoinError) -> ApiError {
    ApiError::Storage(std::io::Error::other(err))
}

/// Make a directory entry durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The stored array after a write, read fresh.
fn reread(store: &Store, name: &str) -> Result<Arc<StoredArray>, ApiError> {
    store.invalidate(&store.npy_path(name));
    store.get(name).map_err(ApiError::from)
}

fn info_response(status: StatusCode, array: &StoredArray) -> Response {
    (status, Json(info_of(array))).into_response()
}

/// `PUT /api/arrays/{name}`: create (201) or replace (200).
///
/// # Errors
/// See the module docs and the HTTP contract.
pub async fn put(
    store: &Store,
    writer: &Writer,
    name: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    refuse_npz(store, name)?;
    let _guard = writer.lock(name).await;
    let upload = receive(writer, headers, body, true).await?;
    let target = store.npy_path(name);
    let temp = upload.file.keep();
    let created = tokio::task::spawn_blocking(move || -> std::io::Result<bool> {
        let existed = target.exists();
        let dir = target.parent().unwrap_or(Path::new("."));
        if let Err(err) = std::fs::create_dir_all(dir) {
            let _ = std::fs::remove_file(&temp);
            return Err(err);
        }
        if let Err(err) = std::fs::rename(&temp, &target) {
            let _ = std::fs::remove_file(&temp);
            return Err(err);
        }
        sync_dir(dir)?;
        Ok(!existed)
    })
    .await
    .map_err(join_failed)?
    .map_err(|err| path_error(name, err))?;
    let array = reread(store, name)?;
    writer.emit("changed", &array);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(info_response(status, &array))
}

/// `POST /api/arrays/{name}`: append along axis 0 (200), or create (201).
///
/// # Errors
/// 409 when the dtype or trailing shape differ; see the module docs.
pub async fn append(
    store: &Store,
    levels: &LevelsCache,
    writer: &Writer,
    name: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    refuse_npz(store, name)?;
    let guard = writer.lock(name).await;
    let old = match store.get(name) {
        Ok(old) => old,
        Err(StoreError::NotFound(_)) => {
            drop(guard);
            return put(store, writer, name, headers, body).await;
        }
        Err(err) => {
            return Err(ApiError::Conflict(format!(
                "cannot append: the stored array is unreadable ({err})"
            )))
        }
    };
    let upload = receive(writer, headers, body, false).await?;
    check_appendable(&old.header, &upload.header)?;
    let target = store.npy_path(name);
    tokio::task::spawn_blocking({
        let tmp = writer.temp_path();
        move || append_file(&target, &upload, &tmp)
    })
    .await
    .map_err(join_failed)?
    .map_err(ApiError::Storage)?;
    let new = reread(store, name)?;
    levels.appended(&old, &new);
    writer.emit("changed", &new);
    Ok(info_response(StatusCode::OK, &new))
}

/// Whether rows of `add` can be appended to `stored`.
fn check_appendable(stored: &NpyHeader, add: &NpyHeader) -> Result<(), ApiError> {
    if stored.dtype != add.dtype {
        return Err(ApiError::Conflict(format!(
            "cannot append {} rows to a {} array",
            add.dtype.descr_string(),
            stored.dtype.descr_string()
        )));
    }
    if stored.shape.is_empty() || add.shape.is_empty() {
        return Err(ApiError::Conflict(
            "0-d arrays cannot be appended to".into(),
        ));
    }
    if stored.shape[1..] != add.shape[1..] {
        return Err(ApiError::Conflict(format!(
            "cannot append rows of shape {:?} to rows of shape {:?}",
            &add.shape[1..],
            &stored.shape[1..]
        )));
    }
    for (header, what) in [(stored, "the stored array"), (add, "the appended rows")] {
        if header.fortran_order && header.shape.len() > 1 {
            return Err(ApiError::Conflict(format!(
                "{what} are in Fortran order; only C-order arrays grow along axis 0"
            )));
        }
    }
    Ok(())
}

/// Append the upload's rows to the file at `target` (see the module docs for the order of
/// the steps). `spare` is a temporary path for the rare full rewrite.
fn append_file(target: &Path, upload: &Upload, spare: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(target)?;
    let mut prefix = Vec::with_capacity(HEADER_PREFIX);
    (&file)
        .take(HEADER_PREFIX as u64)
        .read_to_end(&mut prefix)?;
    let invalid = |err: crate::wire::WireError| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, err.to_string())
    };
    let (mut header, offset) = NpyHeader::parse(&prefix).map_err(invalid)?;
    let old_len = header.data_len().map_err(invalid)?;
    header.shape[0] = header.shape[0]
        .checked_add(upload.header.shape[0])
        .ok_or_else(|| std::io::Error::other("the array would be too long"))?;
    header.data_len().map_err(invalid)?;
    let new_header = header.to_bytes_with_capacity(offset);
    let mut rows = File::open(&upload.file.path)?;
    rows.seek(SeekFrom::Start(upload.data_offset))?;
    let mut rows = rows.take(upload.data_len);

    if new_header.len() == offset {
        // In place: rows after the old data (over any bytes an interrupted append left),
        // durable, then the header.
        file.seek(SeekFrom::Start(offset as u64 + old_len))?;
        std::io::copy(&mut rows, &mut file)?;
        file.sync_data()?;
        file.write_all_at(&new_header, 0)?;
        file.sync_data()?;
        return Ok(());
    }
    // No room to grow the header: write the whole array once more, with room this time.
    let roomy = header.to_bytes_with_capacity(offset + 128);
    let mut out = std::io::BufWriter::new(File::create(spare)?);
    out.write_all(&roomy)?;
    file.seek(SeekFrom::Start(offset as u64))?;
    std::io::copy(&mut (&file).take(old_len), &mut out)?;
    std::io::copy(&mut rows, &mut out)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    if let Err(err) = std::fs::rename(spare, target) {
        let _ = std::fs::remove_file(spare);
        return Err(err);
    }
    sync_dir(target.parent().unwrap_or(Path::new(".")))
}

/// `DELETE /api/arrays/{name}` (204).
///
/// # Errors
/// 404 for no such array, 405 for `.npz` members.
pub async fn delete(
    store: &Store,
    levels: &LevelsCache,
    writer: &Writer,
    name: &str,
) -> Result<Response, ApiError> {
    refuse_npz(store, name)?;
    let _guard = writer.lock(name).await;
    let target = store.npy_path(name);
    let last = store.get(name).ok();
    let removed = tokio::task::spawn_blocking(move || match std::fs::remove_file(&target) {
        Ok(()) => {
            sync_dir(target.parent().unwrap_or(Path::new(".")))?;
            Ok(true)
        }
        // A file where a folder of the name would be also means there is no such array.
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(false)
        }
        Err(err) => Err(err),
    })
    .await
    .map_err(join_failed)?
    .map_err(ApiError::Storage)?;
    store.invalidate(&store.npy_path(name));
    if !removed {
        return Err(ApiError::NotFound(format!("no array named '{name}'")));
    }
    levels.forget(name);
    if let Some(last) = last {
        writer.emit("deleted", &last);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_auth_matrix() {
        let loopback: Option<IpAddr> = Some("127.0.0.1".parse().unwrap());
        let loopback6: Option<IpAddr> = Some("::1".parse().unwrap());
        let remote: Option<IpAddr> = Some("192.0.2.7".parse().unwrap());
        let status = |r: Result<(), ApiError>| r.map_or_else(|e| e.status().as_u16(), |()| 200);
        // (token, header, peer) -> status
        let cases = [
            (None, None, loopback, 200),
            (None, None, loopback6, 200),
            (None, None, remote, 403),
            (None, None, None, 403),
            (None, Some("Bearer anything"), remote, 403),
            (Some("s3cret"), None, loopback, 401),
            (Some("s3cret"), None, remote, 401),
            (Some("s3cret"), Some("Bearer s3cret"), loopback, 200),
            (Some("s3cret"), Some("Bearer s3cret"), remote, 200),
            (Some("s3cret"), Some("Bearer wrong"), remote, 401),
            (Some("s3cret"), Some("Bearer wrong"), loopback, 401),
            (Some("s3cret"), Some("Basic s3cret"), remote, 401),
            (Some("s3cret"), Some("Bearer s3cret2"), remote, 401),
        ];
        for (token, header, peer, want) in cases {
            assert_eq!(
                status(authorize(token, header, peer)),
                want,
                "token={token:?} header={header:?} peer={peer:?}"
            );
        }
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
