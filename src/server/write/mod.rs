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
//! - **POST appends without rewriting any data a reader maps** (see `append`): rows after
//!   the old data, synced, then the header, rewritten under the store's header lock so no
//!   reader parses half of it. Appends cost O(appended bytes); the LOD pyramids are
//!   extended, not rebuilt. An array stored in Fortran order is rewritten once in C order.
//! - **Writes to one array are serialised** by a per-name lock; reads never wait.
//! - All file system work runs in blocking tasks, never on the async workers.
//!
//! - `auth`: who may write.
//! - `upload`: receiving and validating a body.
//! - `append`: growing a stored array.
//! - `events`: the change events, bounded for every subscriber.
//! - `set`: several arrays written at once, all or none (a bundle, an `.npz` group).

mod append;
mod auth;
mod events;
mod set;
mod upload;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

pub use auth::authorize;
pub use events::{Events, Subscription, EVENT_BUFFER};
pub use set::{is_npz, put_bundle, put_npz, BUNDLE_TYPE, MAX_SET_ARRAYS, NPZ_TYPES};
pub use upload::ACCEPTED_TYPES;

use crate::catalog::LiveEvent;
use crate::server::describe::info_of;
use crate::server::error::ApiError;
use crate::server::levels::LevelsCache;
use crate::server::store::{Store, StoreError, StoredArray};
use crate::server::task::blocking;

/// Default upload limit: 1 GiB.
pub const DEFAULT_MAX_UPLOAD: u64 = 1 << 30;

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

/// The writer: configuration, per-array locks, the temporary directory and the event bus.
#[derive(Debug, Clone)]
pub struct Writer {
    config: Arc<WriteConfig>,
    root: PathBuf,
    tmp_dir: PathBuf,
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    events: Events,
    counter: Arc<AtomicU64>,
}

impl Writer {
    /// A writer for a data directory (temporary files go to `DIR/.downlink/tmp`).
    pub fn new(data: &Path, config: WriteConfig) -> Writer {
        Writer {
            config: Arc::new(config),
            root: data.to_path_buf(),
            tmp_dir: data.join(".downlink").join("tmp"),
            locks: Arc::default(),
            events: Events::default(),
            counter: Arc::default(),
        }
    }

    /// Who may write, and the upload limit.
    pub fn config(&self) -> &WriteConfig {
        &self.config
    }

    /// Delete temporary files a killed process left behind (call before serving).
    ///
    /// # Errors
    /// When the directory cannot be created or read.
    pub fn clean_temporaries(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.tmp_dir)?;
        // Writes of several arrays that a crash interrupted after their journal: finished.
        let finished = set::recover(&self.root, &self.tmp_dir)?;
        if finished > 0 {
            tracing::warn!("finished {finished} interrupted write(s) of several arrays");
        }
        for entry in std::fs::read_dir(&self.tmp_dir)? {
            let path = entry?.path();
            if let Err(err) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), "cannot remove a stale upload: {err}");
            }
        }
        Ok(())
    }

    /// The change events (see `events`).
    pub fn events(&self) -> &Events {
        &self.events
    }

    fn emit(&self, event: LiveEvent) {
        self.events.emit(event);
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

    fn tmp_dir(&self) -> &Path {
        &self.tmp_dir
    }

    fn temp_path(&self) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.tmp_dir
            .join(format!("upload-{}-{n}.npy", std::process::id()))
    }
}

/// Refuse writes to `.npz` members and Zarr arrays.
async fn refuse_read_only(store: &Store, name: &str) -> Result<(), ApiError> {
    let (store, name) = (store.clone(), name.to_string());
    blocking(move || match store.read_only_owner(&name) {
        Some(owner) => {
            let file = owner
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Err(ApiError::MethodNotAllowed(
                if owner.extension().is_some_and(|e| e == "zarr") {
                    format!("'{name}' is in the Zarr store {file}; Zarr stores are read-only")
                } else {
                    format!("'{name}' is a member of the .npz group {file}; groups are read-only")
                },
            ))
        }
        None => Ok(()),
    })
    .await
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

/// Make a directory entry durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The stored array after a write, read fresh (its header; data is read as needed).
fn reread(store: &Store, name: &str) -> Result<Arc<StoredArray>, ApiError> {
    store.invalidate(&store.npy_path(name));
    Ok(store.get_lazy(name)?)
}

/// Why POST and writes of several arrays are refused on a bucket.
const WHOLE_OBJECTS: &str = "the data source is an object store (s3://), whose objects are \
    replaced whole and never grow in place";

/// Refuse what a bucket cannot do atomically: `what` says what was asked.
pub(crate) fn refuse_on_bucket(store: &Store, what: &str) -> Result<(), ApiError> {
    match store.bucket() {
        Some(_) => Err(ApiError::MethodNotAllowed(format!(
            "{what} is not supported here: {WHOLE_OBJECTS}; PUT each whole array instead"
        ))),
        None => Ok(()),
    }
}

/// PUT into a bucket: upload the validated file `temp` over the object of `name` (atomic:
/// S3 replaces an object whole), then read its header back. Whether it was created.
fn put_object(
    store: &Store,
    name: &str,
    temp: &Path,
) -> Result<(bool, Arc<StoredArray>), ApiError> {
    let bucket = store
        .bucket()
        .ok_or_else(|| ApiError::Internal("no bucket".into()))?;
    let key = format!("{name}.npy");
    let existed = bucket.head(&key).map(|o| o.is_some());
    let uploaded = existed.and_then(|existed| bucket.upload(&key, temp).map(|()| existed));
    let _ = std::fs::remove_file(temp);
    let existed = uploaded.map_err(ApiError::Upstream)?;
    Ok((!existed, reread(store, name)?))
}

fn changed(writer: &Writer, array: &StoredArray) {
    writer.emit(LiveEvent::Changed(info_of(array).into()));
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
    refuse_read_only(store, name).await?;
    let _guard = writer.lock(name).await;
    put_locked(store, writer, name, headers, body).await
}

/// [`put`], with the array's write lock already held.
async fn put_locked(
    store: &Store,
    writer: &Writer,
    name: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let upload = upload::receive(writer, headers, body, true).await?;
    let temp = upload.file.keep();
    let (store, owned) = (store.clone(), name.to_string());
    let (created, array) = blocking(move || {
        if store.bucket().is_some() {
            return put_object(&store, &owned, &temp);
        }
        let target = store.npy_path(&owned);
        let existed = target.exists();
        let dir = target.parent().unwrap_or(Path::new("."));
        let placed = std::fs::create_dir_all(dir).and_then(|()| std::fs::rename(&temp, &target));
        if let Err(err) = placed {
            let _ = std::fs::remove_file(&temp);
            return Err(path_error(&owned, err));
        }
        sync_dir(dir).map_err(ApiError::Storage)?;
        Ok((!existed, reread(&store, &owned)?))
    })
    .await?;
    changed(writer, &array);
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
    refuse_read_only(store, name).await?;
    refuse_on_bucket(store, "POST (append)")?;
    let _guard = writer.lock(name).await;
    let (reader, owned) = (store.clone(), name.to_string());
    let old = blocking(move || match reader.get(&owned) {
        Ok(old) => Ok(Some(old)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(err) => Err(ApiError::Conflict(format!(
            "cannot append: the stored array is unreadable ({err})"
        ))),
    })
    .await?;
    let Some(old) = old else {
        // Created under the same lock, so concurrent first appends never replace each other.
        return put_locked(store, writer, name, headers, body).await;
    };
    let upload = upload::receive(writer, headers, body, false).await?;
    append::check_appendable(&old.header, &upload.header)?;
    let (writing, owned, spare) = (store.clone(), name.to_string(), writer.temp_path());
    let previous = Arc::clone(&old);
    let new = blocking(move || {
        let target = writing.npy_path(&owned);
        append::append_file(&writing, &target, &previous, &upload, &spare)
            .map_err(ApiError::Storage)?;
        reread(&writing, &owned)
    })
    .await?;
    levels.appended(&old, &new);
    changed(writer, &new);
    Ok(info_response(StatusCode::OK, &new))
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
    refuse_read_only(store, name).await?;
    let _guard = writer.lock(name).await;
    let (store, owned) = (store.clone(), name.to_string());
    let last = blocking(move || {
        let target = store.npy_path(&owned);
        let last = store.get_lazy(&owned).ok();
        if let Some(bucket) = store.bucket() {
            let key = format!("{owned}.npy");
            let found = bucket.head(&key).map_err(ApiError::Upstream)?.is_some();
            if found {
                bucket.delete(&key).map_err(ApiError::Upstream)?;
            }
            store.invalidate(&target);
            return if found {
                Ok(last)
            } else {
                Err(ApiError::NotFound(format!("no array named '{owned}'")))
            };
        }
        let removed = match std::fs::remove_file(&target) {
            Ok(()) => {
                sync_dir(target.parent().unwrap_or(Path::new("."))).map_err(ApiError::Storage)?;
                true
            }
            // A file where a folder of the name would be also means there is no such array.
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                false
            }
            Err(err) => return Err(ApiError::Storage(err)),
        };
        store.invalidate(&target);
        if !removed {
            return Err(ApiError::NotFound(format!("no array named '{owned}'")));
        }
        Ok(last)
    })
    .await?;
    levels.forget(name);
    if let Some(last) = last {
        writer.emit(LiveEvent::Deleted(info_of(&last).into()));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
