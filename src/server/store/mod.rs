//! The array store: a data directory of `.npy` files, `.npz` groups and Zarr v3 stores, served
//! without copying.
//!
//! - `DIR/a/b.npy` is the array `a/b`; member `x.npy` of `DIR/a/run.npz` is `a/run/x`; the
//!   Zarr array `DIR/a/b.zarr/` is `a/b` and array `x` of the Zarr group `DIR/a/run.zarr/` is
//!   `a/run/x`. When several spellings exist, the `.npy` file wins, then a Zarr array, then
//!   the group with the longest name (and the listing says nothing of the shadowed ones).
//! - Files are memory-mapped once and their data handed out as [`Bytes`] slices of the map,
//!   so a response never copies the array. Stored (uncompressed) `.npz` members are sliced
//!   from the map of the zip file the same way; deflated members are inflated once into a
//!   file under `DIR/.downlink/npz/` (named by the archive's version, removed when it
//!   changes, emptied at start-up) and mapped from there.
//! - Every lookup checks the file's identity (inode, length, modification time) with one
//!   `lstat`, so a file added, replaced or removed on disk is seen by the next request without
//!   a restart. A file that is replaced by rename keeps serving its old map to the requests
//!   already holding it.
//! - **What changes in place, and how readers stay whole.** Downlink rewrites bytes of a
//!   served file in one place only: an append writes its new rows after the old data, then the
//!   new `.npy` header over the old one ([`Store::rewrite_header`]). The data bytes of a
//!   version a reader holds are never rewritten. Readers never parse a header from the map:
//!   they read it with `pread` under the store's header lock, which the header rewrite holds,
//!   so a header is read whole, old or new. Other programs must not rewrite or truncate a
//!   served file in place (undefined for every memory-mapped reader).
//! - Hidden files, names that are not valid array names, symlinks and unreadable or invalid
//!   files are skipped with one logged warning per file version; they are never listed or
//!   served.
//!
//! Every method blocks on the file system (`stat`, `pread`, `mmap`): call them from a blocking
//! task ([`crate::server::task::blocking`]). The one exception is [`Store::get_cached`], the
//! request fast path, which does one `lstat` per candidate file and no reads, cheap enough for
//! an async worker as nginx's per-request `open`/`fstat` is.
//!
//! - Zarr arrays are decoded on demand into a sparse cache file under `DIR/.downlink/zarr/`
//!   (see `zarr`): [`Store::get`] hands out an array whose every row is decoded,
//!   [`Store::get_lazy`] one whose caller decodes the rows it reads
//!   ([`StoredArray::ensure_rows`]). A Zarr store's files are checked for changes at most
//!   once per [`ZARR_RECHECK`].
//!
//! - **A bucket instead of a directory** (`--data s3://BUCKET/PREFIX`, see `remote`): the
//!   same names, listing and arrays, read by range GETs; `root` is then a local cache
//!   directory (fetched blocks, inflated members, pyramids), and Zarr stores in the bucket
//!   are not served.
//!
//! - `files`: reading `.npy` and `.npz` files.
//! - `zarr`: reading Zarr v3 stores.
//! - `remote`: reading and writing objects in a bucket.
//! - `stamp`: file identities and the ETag hash.

mod files;
pub mod remote;
mod stamp;
mod zarr;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::names::validate_name;
use crate::wire::npy::{self, NpyHeader};

pub use files::MAX_INFLATED_MEMBER;
use stamp::FileStamp;
pub use stamp::Fnv64;
pub use zarr::{DecodeBudget, Decoder, DEFAULT_DECODE_CACHE_MAX};

/// Notes of missing keys kept before the expired ones are dropped.
const MAX_ABSENT: usize = 4096;

/// How long a Zarr store is trusted unchanged before its files are checked again (a change
/// made by another program is seen within this time; one made through Downlink, at once).
pub const ZARR_RECHECK: Duration = Duration::from_secs(1);

/// One array as stored: its header, its data bytes (exactly the header's data length) and
/// the identity of the file version it came from.
#[derive(Debug)]
pub struct StoredArray {
    /// The array's name, e.g. `demo/pass/t`.
    pub name: String,
    /// Dtype, shape and memory order as stored.
    pub header: NpyHeader,
    /// The data bytes, a zero-copy slice of the memory map where possible.
    pub data: Bytes,
    /// Strong validator of this version of the array (hex, without quotes).
    pub etag: String,
    /// Where the array lives on disk.
    pub source: Source,
    /// For a Zarr array or an object in a bucket: what fills `data` (rows not yet filled
    /// read as zeros, so readers call [`StoredArray::ensure_rows`] first). `None`: `data` is
    /// whole.
    pub filler: Option<Filler>,
    /// The `.npy` header of the array as stored, made when first sent (see
    /// [`StoredArray::npy_header`]); `Default::default()` when the array is made.
    pub npy_header_memo: OnceLock<Bytes>,
}

/// What fills a [`StoredArray`]'s data on demand.
#[derive(Debug, Clone)]
pub enum Filler {
    /// Decodes a Zarr array's chunks.
    Zarr(Arc<Decoder>),
    /// Fetches an object's bytes from a bucket.
    Remote(Arc<remote::Fetcher>),
}

impl Filler {
    fn ensure(&self, rows: std::ops::Range<u64>) -> Result<(), remote::Failure> {
        match self {
            Filler::Zarr(decoder) => decoder.ensure(rows).map_err(remote::Failure::Invalid),
            Filler::Remote(fetcher) => fetcher.ensure(rows),
        }
    }

    fn is_complete(&self) -> bool {
        match self {
            Filler::Zarr(decoder) => decoder.is_complete(),
            Filler::Remote(fetcher) => fetcher.is_complete(),
        }
    }
}

impl StoredArray {
    /// The `.npy` (version 1.0) header of the whole array as stored, made once: every
    /// untouched `.npy` answer of this version starts with it.
    pub fn npy_header(&self) -> Bytes {
        self.npy_header_memo
            .get_or_init(|| {
                let header = NpyHeader {
                    version: npy::Version::V1,
                    ..self.header.clone()
                };
                Bytes::from(header.to_bytes())
            })
            .clone()
    }

    /// Make sure rows `rows` (along the first axis; a 0-d array has one) are in `data`.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] when a chunk cannot be decoded, [`StoreError::Unreachable`]
    /// when the bucket fails to send it.
    pub fn ensure_rows(&self, rows: std::ops::Range<u64>) -> Result<(), StoreError> {
        match &self.filler {
            Some(filler) => filler
                .ensure(rows)
                .map_err(|failure| StoreError::of(&self.name, failure)),
            None => Ok(()),
        }
    }

    /// Make sure data bytes `bytes` are in `data` (a Zarr array decodes every row: its
    /// rows are its unit).
    ///
    /// # Errors
    /// As [`StoredArray::ensure_rows`].
    pub fn ensure_bytes(&self, bytes: std::ops::Range<u64>) -> Result<(), StoreError> {
        match &self.filler {
            Some(Filler::Remote(fetcher)) => fetcher
                .ensure_bytes(bytes)
                .map_err(|failure| StoreError::of(&self.name, failure)),
            Some(Filler::Zarr(_)) => self.ensure_all(),
            None => Ok(()),
        }
    }

    /// Make sure every row is in `data`.
    ///
    /// # Errors
    /// As [`StoredArray::ensure_rows`].
    pub fn ensure_all(&self) -> Result<(), StoreError> {
        self.ensure_rows(0..u64::MAX)
    }

    /// Whether all of `data` can be read without decoding anything.
    pub fn is_whole(&self) -> bool {
        self.filler.as_ref().is_none_or(Filler::is_complete)
    }

    /// For an array in a bucket whose data is not all fetched yet: what streams its bytes.
    pub fn remote(&self) -> Option<&Arc<remote::Fetcher>> {
        match &self.filler {
            Some(Filler::Remote(fetcher)) if !fetcher.is_complete() => Some(fetcher),
            _ => None,
        }
    }
}

/// Where a stored array comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A whole `.npy` file.
    Npy(PathBuf),
    /// A member of an `.npz` group (read-only through the API).
    NpzMember {
        /// The `.npz` file.
        path: PathBuf,
        /// The member's file name inside the zip, e.g. `x.npy`.
        member: String,
    },
    /// An array of a Zarr v3 store (read-only through the API).
    Zarr {
        /// The store's folder (`... .zarr`).
        path: PathBuf,
        /// The array's path inside the store (`""` when the store is the array).
        member: String,
    },
}

/// Why an array could not be served.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No file or member has that name.
    #[error("no array named '{0}'")]
    NotFound(String),
    /// The file exists but is not a valid, supported array.
    #[error("array '{name}' cannot be read: {reason}")]
    Invalid {
        /// The array's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The bucket holding the array did not answer, or failed the request; the same
    /// request may succeed later.
    #[error("array '{name}' cannot be read now, the bucket failed: {reason}")]
    Unreachable {
        /// The array's name.
        name: String,
        /// What the store said, or why it said nothing.
        reason: String,
    },
    /// The bucket could not be listed; the same request may succeed later.
    #[error("the arrays cannot be listed now, the bucket failed: {0}")]
    ListingUnreachable(String),
}

impl StoreError {
    /// The error of array `name` for `failure`.
    pub fn of(name: &str, failure: remote::Failure) -> StoreError {
        let name = name.to_string();
        match failure {
            remote::Failure::Unreachable(reason) => StoreError::Unreachable { name, reason },
            remote::Failure::Invalid(reason) => StoreError::Invalid { name, reason },
        }
    }
}

/// What one file on disk holds, as last loaded.
#[derive(Debug, Clone)]
enum Content {
    Npy(Arc<StoredArray>),
    /// Members by their name inside the group (`x` for `x.npy`), in zip order.
    Npz(Arc<Vec<(String, Arc<StoredArray>)>>),
    /// The arrays of a Zarr store by their path inside it (`""`: the store is one array),
    /// each servable or not.
    Zarr(Arc<zarr::Members>),
    /// Not servable; the reason was logged once when this version was first seen.
    Invalid(String),
    /// The bucket did not answer (or failed the request): never cached, asked again next time.
    Unreachable(String),
}

/// What probing one candidate file found.
enum Probe {
    /// No regular file there.
    Absent,
    /// The file's current content.
    Found(Content),
    /// The file exists but its content is not known without reading it.
    Unknown,
}

#[derive(Debug)]
struct Cached {
    stamp: FileStamp,
    content: Content,
    /// A Zarr store: its version (every file's identity) and when it was last checked.
    store: Option<(u64, Instant)>,
}

/// The data directory and a cache of what its files hold, keyed by file path.
#[derive(Debug, Clone)]
pub struct Store {
    /// The data directory; with a bucket, the local cache directory.
    root: PathBuf,
    /// The bucket served instead of `root`'s files, if any.
    bucket: Option<Arc<remote::Bucket>>,
    /// Keys of the bucket found missing, and when (so the candidates of a name are not
    /// asked for again within [`remote::RECHECK`]).
    absent: Arc<RwLock<HashMap<PathBuf, Instant>>>,
    cache: Arc<RwLock<HashMap<PathBuf, Cached>>>,
    /// Held to read an `.npy` header (shared) and to rewrite one in place (exclusive).
    headers: Arc<RwLock<()>>,
    /// Held to resolve several names as one set (shared) and to replace a set (exclusive).
    sets: Arc<RwLock<()>>,
    /// The disk bound of the Zarr decode caches.
    budget: Arc<DecodeBudget>,
}

impl Store {
    /// A store over `root` (which should exist; a missing directory lists as empty).
    pub fn new(root: impl Into<PathBuf>) -> Store {
        let cache: Arc<RwLock<HashMap<PathBuf, Cached>>> = Arc::default();
        let budget = DecodeBudget::new(DEFAULT_DECODE_CACHE_MAX);
        // A store dropped from the decode caches is read afresh next time (weakly held: the
        // budget lives in the cache's own entries).
        let entries = Arc::downgrade(&cache);
        budget.on_evict(move |store, _| {
            if let Some(entries) = entries.upgrade() {
                entries
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .remove(store);
            }
        });
        Store {
            root: root.into(),
            bucket: None,
            absent: Arc::default(),
            cache,
            headers: Arc::default(),
            sets: Arc::default(),
            budget,
        }
    }

    /// The disk bound of the Zarr decode caches (see [`DecodeBudget`]).
    pub fn decode_budget(&self) -> &Arc<DecodeBudget> {
        &self.budget
    }

    /// A store over the objects of `bucket`, keeping what it fetches, inflates and builds
    /// under the local directory `cache`.
    pub fn in_bucket(bucket: remote::Bucket, cache: impl Into<PathBuf>) -> Store {
        Store {
            bucket: Some(Arc::new(bucket)),
            ..Store::new(cache)
        }
    }

    /// The data directory this store serves (with a bucket: its local cache directory).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The bucket this store serves, if it serves one.
    pub fn bucket(&self) -> Option<&Arc<remote::Bucket>> {
        self.bucket.as_ref()
    }

    /// Where a bucket's fetched blocks go (`ROOT/.downlink/s3/`, one folder per object).
    fn fetched_dir(&self) -> PathBuf {
        self.root.join(".downlink").join("s3")
    }

    /// Where deflated `.npz` members are inflated (`DIR/.downlink/npz/`, one folder per
    /// archive).
    fn inflated_dir(&self) -> PathBuf {
        self.root.join(".downlink").join("npz")
    }

    /// Where Zarr arrays are decoded (`DIR/.downlink/zarr/`, one folder per store).
    fn decoded_dir(&self) -> PathBuf {
        self.root.join(".downlink").join("zarr")
    }

    /// Empty the caches of inflated `.npz` members and decoded Zarr arrays (at start-up: they
    /// then hold only what was served since, each once).
    ///
    /// # Errors
    /// When a folder exists but cannot be removed.
    pub fn clear_inflated(&self) -> std::io::Result<()> {
        for dir in [self.inflated_dir(), self.decoded_dir(), self.fetched_dir()] {
            match std::fs::remove_dir_all(dir) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
                _ => {}
            }
        }
        Ok(())
    }

    /// The array called `name` (which must already be a valid name), every row readable
    /// (a Zarr array is decoded whole, block by block, if it is not yet).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when no file or member has the name, [`StoreError::Invalid`]
    /// when the file that has it cannot be served or a Zarr chunk cannot be decoded.
    pub fn get(&self, name: &str) -> Result<Arc<StoredArray>, StoreError> {
        let array = self.get_lazy(name)?;
        array.ensure_all()?;
        Ok(array)
    }

    /// As [`Store::get`], but a Zarr array's rows are left for the caller to decode with
    /// [`StoredArray::ensure_rows`] (a slice then decodes only the chunks it needs).
    ///
    /// # Errors
    /// As [`Store::get`], less the decoding.
    pub fn get_lazy(&self, name: &str) -> Result<Arc<StoredArray>, StoreError> {
        self.resolve(name, |path| match self.load(path) {
            Some(content) => Probe::Found(content),
            None => Probe::Absent,
        })
        .unwrap_or_else(|| Err(StoreError::NotFound(name.to_string())))
    }

    /// Several arrays resolved as one set: a write of several arrays at once
    /// ([`Store::commit_set`]) is seen whole or not at all. Lazy, as [`Store::get_lazy`].
    ///
    /// # Errors
    /// As [`Store::get_lazy`], for the first name that fails.
    pub fn get_set(&self, names: &[String]) -> Result<Vec<Arc<StoredArray>>, StoreError> {
        let _set = self
            .sets
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        names.iter().map(|name| self.get_lazy(name)).collect()
    }

    /// Run `renames` (the file changes of a write of several arrays, to the files `paths`)
    /// while no set is being resolved, so [`Store::get_set`] sees all of them or none.
    pub fn commit_set<T>(&self, paths: &[PathBuf], renames: impl FnOnce() -> T) -> T {
        let _set = self
            .sets
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = renames();
        for path in paths {
            self.invalidate(path);
        }
        result
    }

    /// The request fast path: the array if every file it depends on is cached and unchanged,
    /// checked with one `lstat` each (answered from the kernel's inode cache, as nginx's
    /// per-request `open`/`fstat` is) and no reads. `None` means "call [`Store::get`] on a
    /// blocking thread".
    pub fn get_cached(&self, name: &str) -> Option<Result<Arc<StoredArray>, StoreError>> {
        self.resolve(name, |path| self.probe_cached(path))
    }

    /// Resolve a name against its candidate files: `a/b/c` is a/b/c.npy, else the Zarr array
    /// a/b/c.zarr, else member c of a/b.npz or of the Zarr group a/b.zarr, else member b/c of
    /// a.npz or a.zarr. `None` when a probe could not tell.
    fn resolve(
        &self,
        name: &str,
        probe: impl Fn(&Path) -> Probe,
    ) -> Option<Result<Arc<StoredArray>, StoreError>> {
        debug_assert!(validate_name(name).is_ok());
        let invalid = |reason: &str| StoreError::Invalid {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        let unreachable = |reason: String| StoreError::Unreachable {
            name: name.to_string(),
            reason,
        };
        match probe(&self.root.join(format!("{name}.npy"))) {
            Probe::Unknown => return None,
            Probe::Found(Content::Npy(array)) => return Some(Ok(array)),
            Probe::Found(Content::Invalid(reason)) => return Some(Err(invalid(&reason))),
            Probe::Found(Content::Unreachable(reason)) => return Some(Err(unreachable(reason))),
            Probe::Found(Content::Npz(_) | Content::Zarr(_)) | Probe::Absent => {}
        }
        let zarr_member = |members: &zarr::Members, member: &str| {
            members.iter().find(|(m, _)| m == member).map(|(_, found)| {
                found
                    .as_ref()
                    .map(Arc::clone)
                    .map_err(|reason| invalid(reason))
            })
        };
        match probe(&self.root.join(format!("{name}.zarr"))) {
            Probe::Unknown => return None,
            Probe::Found(Content::Zarr(members)) => {
                if let Some(found) = zarr_member(&members, "") {
                    return Some(found);
                }
            }
            Probe::Found(Content::Invalid(reason)) => return Some(Err(invalid(&reason))),
            Probe::Found(Content::Unreachable(reason)) => return Some(Err(unreachable(reason))),
            Probe::Found(_) | Probe::Absent => {}
        }
        let segments: Vec<&str> = name.split('/').collect();
        for split in (1..segments.len()).rev() {
            let npz = self
                .root
                .join(format!("{}.npz", segments[..split].join("/")));
            let member = segments[split..].join("/");
            match probe(&npz) {
                Probe::Unknown => return None,
                Probe::Found(Content::Npz(members)) => {
                    if let Some((_, array)) = members.iter().find(|(m, _)| *m == member) {
                        return Some(Ok(Arc::clone(array)));
                    }
                }
                Probe::Found(Content::Invalid(reason)) => return Some(Err(invalid(&reason))),
                Probe::Found(Content::Unreachable(reason)) => {
                    return Some(Err(unreachable(reason)))
                }
                Probe::Found(_) | Probe::Absent => {}
            }
            let group = self
                .root
                .join(format!("{}.zarr", segments[..split].join("/")));
            match probe(&group) {
                Probe::Unknown => return None,
                Probe::Found(Content::Zarr(members)) => {
                    if let Some(found) = zarr_member(&members, &member) {
                        return Some(found);
                    }
                }
                Probe::Found(Content::Invalid(reason)) => return Some(Err(invalid(&reason))),
                Probe::Found(Content::Unreachable(reason)) => {
                    return Some(Err(unreachable(reason)))
                }
                Probe::Found(_) | Probe::Absent => {}
            }
        }
        Some(Err(StoreError::NotFound(name.to_string())))
    }

    /// The file a (valid) name is stored in when written through the API.
    pub fn npy_path(&self, name: &str) -> PathBuf {
        self.root.join(format!("{name}.npy"))
    }

    /// The read-only file or folder that owns `name`, if any: an `.npz` group or a Zarr
    /// group that a prefix of the name is, or a Zarr array of the name itself (writes there
    /// are refused).
    pub fn read_only_owner(&self, name: &str) -> Option<PathBuf> {
        let segments: Vec<&str> = name.split('/').collect();
        if self.bucket.is_some() {
            let found = |path: PathBuf| self.load(&path).map(|_| path);
            return found(self.root.join(format!("{name}.zarr"))).or_else(|| {
                (1..segments.len()).find_map(|split| {
                    let prefix = segments[..split].join("/");
                    found(self.root.join(format!("{prefix}.npz")))
                        .or_else(|| found(self.root.join(format!("{prefix}.zarr"))))
                })
            });
        }
        let zarr = |path: PathBuf| path.join("zarr.json").is_file().then_some(path);
        zarr(self.root.join(format!("{name}.zarr"))).or_else(|| {
            (1..segments.len()).find_map(|split| {
                let prefix = segments[..split].join("/");
                let npz = self.root.join(format!("{prefix}.npz"));
                if std::fs::symlink_metadata(&npz).is_ok_and(|m| m.is_file()) {
                    return Some(npz);
                }
                zarr(self.root.join(format!("{prefix}.zarr")))
            })
        })
    }

    /// Forget what is cached for `path`, so the next lookup reads it again. Writers call
    /// this after every change: file clocks are coarse, and a rewrite inside one tick would
    /// otherwise look unchanged.
    pub fn invalidate(&self, path: &Path) {
        self.cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(path);
        self.absent
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(path);
    }

    /// Write an appended array's new `.npy` header over the start of `file`, while no
    /// reader of this store reads a header (see the module docs). The caller syncs.
    ///
    /// # Errors
    /// When the write fails.
    pub fn rewrite_header(&self, file: &File, header: &[u8]) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let _writing = self
            .headers
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all_at(header, 0)
    }

    /// Every servable array, sorted by name.
    ///
    /// # Errors
    /// [`StoreError::ListingUnreachable`] when the bucket cannot be listed.
    pub fn list(&self) -> Result<Vec<Arc<StoredArray>>, StoreError> {
        if let Some(bucket) = &self.bucket {
            return self.list_bucket(bucket);
        }
        let mut seen_paths = HashSet::new();
        let mut contents = Vec::new();
        let mut walker = walkdir::WalkDir::new(&self.root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        while let Some(entry) = walker.next() {
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let is_store = entry.depth() > 0 && entry.file_type().is_dir() && ext == "zarr";
            if is_store {
                walker.skip_current_dir();
            } else if !entry.file_type().is_file() || (ext != "npy" && ext != "npz") {
                continue;
            }
            seen_paths.insert(path.to_path_buf());
            contents.extend(self.load(path));
        }
        self.forget_all_but(&seen_paths);
        Ok(arrays_of(contents))
    }

    /// [`Store::list`] of a bucket: one listing, and a header read for each object whose
    /// identity is not cached yet.
    fn list_bucket(
        &self,
        bucket: &Arc<remote::Bucket>,
    ) -> Result<Vec<Arc<StoredArray>>, StoreError> {
        let objects = bucket.list().map_err(StoreError::ListingUnreachable)?;
        let mut seen_paths = HashSet::new();
        let mut contents = Vec::new();
        for object in objects {
            let segments: Vec<&str> = object.key.split('/').collect();
            if segments.iter().any(|s| s.starts_with('.')) {
                continue;
            }
            // A key inside a Zarr store stands for the store, listed once.
            if let Some(end) = segments.iter().position(|s| s.ends_with(".zarr")) {
                let path = self.root.join(segments[..=end].join("/"));
                if end + 1 < segments.len() && seen_paths.insert(path.clone()) {
                    contents.extend(self.load(&path));
                }
                continue;
            }
            let ext = Path::new(&object.key).extension().and_then(|e| e.to_str());
            if !matches!(ext, Some("npy" | "npz")) {
                continue;
            }
            let path = self.root.join(&object.key);
            seen_paths.insert(path.clone());
            contents.push(self.object_content(bucket, &path, object));
        }
        // A listing missing the arrays whose headers did not come would not be the truth.
        if let Some(reason) = contents.iter().find_map(|content| match content {
            Content::Unreachable(reason) => Some(reason.clone()),
            _ => None,
        }) {
            return Err(StoreError::ListingUnreachable(reason));
        }
        self.forget_all_but(&seen_paths);
        Ok(arrays_of(contents))
    }

    /// What the object for `path` holds now: from the cache when its identity was checked
    /// within [`remote::RECHECK`] or has not changed since; `None` when there is no object.
    fn load_object(&self, bucket: &Arc<remote::Bucket>, path: &Path) -> Option<Content> {
        match self.probe_bucket_cached(path) {
            Probe::Absent => return None,
            Probe::Found(content) => return Some(content),
            Probe::Unknown => {}
        }
        let key = path.strip_prefix(&self.root).ok()?.to_str()?.to_string();
        if is_zarr_path(path) {
            return self.load_bucket_zarr(bucket, path, &key);
        }
        match bucket.head(&key) {
            Ok(Some(object)) => Some(self.object_content(bucket, path, object)),
            Ok(None) => {
                self.remember_absent(path);
                None
            }
            // Not cached: the next request asks again.
            Err(reason) => Some(Content::Unreachable(reason)),
        }
    }

    /// Note that there is no object for `path` (the notes expire after
    /// [`remote::RECHECK`], and expired ones are dropped once there are many).
    fn remember_absent(&self, path: &Path) {
        let mut absent = self
            .absent
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if absent.len() >= MAX_ABSENT {
            absent.retain(|_, checked| checked.elapsed() < remote::RECHECK);
        }
        absent.insert(path.to_path_buf(), Instant::now());
    }

    /// What the cache knows of the object for `path`, if it was checked within
    /// [`remote::RECHECK`].
    fn probe_bucket_cached(&self, path: &Path) -> Probe {
        let absent = self
            .absent
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(path)
            .is_some_and(|checked| checked.elapsed() < remote::RECHECK);
        if absent {
            return Probe::Absent;
        }
        match self.read_cache().get(path) {
            Some(hit)
                if hit
                    .store
                    .is_some_and(|(_, checked)| checked.elapsed() < remote::RECHECK) =>
            {
                Probe::Found(hit.content.clone())
            }
            _ => Probe::Unknown,
        }
    }

    /// What the Zarr store in the bucket's folder `key` (at `path`) holds now: read again
    /// only when its version (every object's identity, from one listing) changed.
    fn load_bucket_zarr(
        &self,
        bucket: &Arc<remote::Bucket>,
        path: &Path,
        key: &str,
    ) -> Option<Content> {
        let listing = match remote::list_zarr(bucket, key) {
            Ok(Some(listing)) => listing,
            Ok(None) => {
                self.remember_absent(path);
                return None;
            }
            Err(reason) => return Some(Content::Unreachable(reason)),
        };
        let (version, metadata) = listing;
        let stamp = FileStamp::of_object(0, &format!("{version:016x}"));
        let cached = self
            .read_cache()
            .get(path)
            .filter(|hit| hit.stamp == stamp)
            .map(|hit| hit.content.clone());
        let content = cached.unwrap_or_else(|| match self.name_of(path) {
            Some(group) => {
                let metadata = metadata
                    .into_iter()
                    .map(|(node, object)| (node, bucket.read_whole(&object).map(|b| b.to_vec())))
                    .collect();
                let storage = bucket.zarr_storage(key);
                let cache = own_folder(&self.decoded_dir(), path);
                let members =
                    zarr::read_members(&group, path, version, &cache, &storage, metadata, &self.budget);
                for (member, failed) in &members {
                    if let Err(reason) = failed {
                        tracing::warn!(store = %key, member = %member, "skipping Zarr array: {reason}");
                    }
                }
                Content::Zarr(Arc::new(members))
            }
            None => Content::Invalid(
                "its key is not a valid array name (letters, digits, '_', '.', '-' only)".into(),
            ),
        });
        Some(self.remember(path, stamp, content, Some((version, Instant::now()))))
    }

    /// What `object` (at `path`) holds, read unless its identity is the one cached.
    fn object_content(
        &self,
        bucket: &Arc<remote::Bucket>,
        path: &Path,
        object: remote::Object,
    ) -> Content {
        let stamp = FileStamp::of_object(object.size, &object.e_tag);
        let (cached, known_invalid) = match self.read_cache().get(path) {
            Some(hit) if hit.stamp == stamp => match &hit.content {
                // Not trusted past the recheck: the failure may have been the network's.
                Content::Invalid(_) => (None, true),
                content => (Some(content.clone()), false),
            },
            _ => (None, false),
        };
        let content = cached.unwrap_or_else(|| {
            let content = self.read_object(bucket, path, &object, stamp);
            if let (Content::Invalid(reason), false) = (&content, known_invalid) {
                tracing::warn!(object = %object.key, "skipping object: {reason}");
            }
            content
        });
        if let Content::Unreachable(_) = content {
            return content;
        }
        self.absent
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(path);
        self.remember(path, stamp, content, Some((0, Instant::now())))
    }

    fn read_object(
        &self,
        bucket: &Arc<remote::Bucket>,
        path: &Path,
        object: &remote::Object,
        stamp: FileStamp,
    ) -> Content {
        let Some(name) = self.name_of(path) else {
            return Content::Invalid(
                "its key is not a valid array name (letters, digits, '_', '.', '-' only)".into(),
            );
        };
        let dir = own_folder(&self.fetched_dir(), path);
        // Dropped past the disk bound like a Zarr store's decode cache: its files removed,
        // and this entry and its levels forgotten (see `DecodeBudget`).
        let charge = self.budget.register(&dir, path, &name);
        let cache = remote::Cache {
            dir: &dir,
            charge: &charge,
        };
        if path.extension().is_some_and(|e| e == "npz") {
            remote::read_npz(bucket, &name, path, object, stamp, &cache)
                .map_or_else(Content::Invalid, |members| Content::Npz(Arc::new(members)))
        } else {
            match remote::read_npy(bucket, &name, path, object, stamp, &cache) {
                Ok(array) => Content::Npy(Arc::new(array)),
                Err(remote::Failure::Invalid(reason)) => Content::Invalid(reason),
                Err(remote::Failure::Unreachable(reason)) => Content::Unreachable(reason),
            }
        }
    }
}

/// The arrays of what a listing found (in its order), each name once: a plain `.npy` shadows
/// a group member of the same name; sorted by name.
fn arrays_of(contents: Vec<Content>) -> Vec<Arc<StoredArray>> {
    let mut by_name: HashMap<String, Arc<StoredArray>> = HashMap::new();
    for content in contents {
        match content {
            Content::Npy(array) => {
                by_name.insert(array.name.clone(), array);
            }
            Content::Npz(members) => {
                for (_, array) in members.iter() {
                    // A plain .npy of the same name shadows the member.
                    by_name
                        .entry(array.name.clone())
                        .or_insert_with(|| Arc::clone(array));
                }
            }
            Content::Zarr(members) => {
                for array in members.iter().filter_map(|(_, a)| a.as_ref().ok()) {
                    by_name
                        .entry(array.name.clone())
                        .or_insert_with(|| Arc::clone(array));
                }
            }
            Content::Invalid(_) | Content::Unreachable(_) => {}
        }
    }
    let mut arrays: Vec<_> = by_name.into_values().collect();
    arrays.sort_by(|a, b| a.name.cmp(&b.name));
    arrays
}

impl Store {
    /// [`Store::get`] off the async worker threads.
    ///
    /// # Errors
    /// What the cache knows of `path`, checked against the file's current identity.
    fn probe_cached(&self, path: &Path) -> Probe {
        if self.bucket.is_some() {
            return self.probe_bucket_cached(path);
        }
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return Probe::Absent;
        };
        if is_zarr_path(path) && meta.file_type().is_dir() {
            // Checking a store, and decoding its rows, is work for a blocking thread.
            return Probe::Unknown;
        }
        if !meta.file_type().is_file() {
            return Probe::Absent;
        }
        match self.read_cache().get(path) {
            Some(hit) if hit.stamp == FileStamp::of(&meta) => Probe::Found(hit.content.clone()),
            _ => Probe::Unknown,
        }
    }

    /// What `path` holds now, from the cache when the file has not changed; `None` when
    /// there is no regular file there.
    fn load(&self, path: &Path) -> Option<Content> {
        if let Some(bucket) = &self.bucket {
            return self.load_object(bucket, path);
        }
        // lstat: a symlink is not followed, so nothing outside the directory is ever read.
        let meta = std::fs::symlink_metadata(path).ok()?;
        if is_zarr_path(path) && meta.file_type().is_dir() {
            return self.load_zarr(path, &meta);
        }
        if !meta.file_type().is_file() {
            return None;
        }
        let stamp = FileStamp::of(&meta);
        if let Some(hit) = self.read_cache().get(path) {
            if hit.stamp == stamp {
                return Some(hit.content.clone());
            }
        }
        let content = self.read_file(path, stamp);
        if let Content::Invalid(reason) = &content {
            tracing::warn!(path = %path.display(), "skipping file: {reason}");
        }
        Some(self.remember(path, stamp, content, None))
    }

    /// Cache what `path` holds (`store`: a Zarr store's version and when it was checked),
    /// and hand it back.
    fn remember(
        &self,
        path: &Path,
        stamp: FileStamp,
        content: Content,
        store: Option<(u64, Instant)>,
    ) -> Content {
        self.cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(
                path.to_path_buf(),
                Cached {
                    stamp,
                    content: content.clone(),
                    store,
                },
            );
        content
    }

    /// What the Zarr store in folder `path` holds now: from the cache when it was checked
    /// within [`ZARR_RECHECK`] or its files have not changed since. `None` when the folder
    /// is no Zarr store (no `zarr.json`).
    fn load_zarr(&self, path: &Path, meta: &std::fs::Metadata) -> Option<Content> {
        let root_meta = std::fs::symlink_metadata(path.join("zarr.json")).ok()?;
        if !root_meta.file_type().is_file() {
            return None;
        }
        let stamp = FileStamp::of(meta);
        let cached = self.read_cache().get(path).and_then(|hit| {
            let (version, checked) = hit.store?;
            Some((version, checked, hit.content.clone()))
        });
        if let Some((_, checked, content)) = &cached {
            if checked.elapsed() < ZARR_RECHECK {
                return Some(content.clone());
            }
        }
        let version = match zarr::store_version(path) {
            Ok(version) => version,
            Err(reason) => return Some(self.remember_invalid(path, stamp, reason)),
        };
        let content = match cached {
            Some((known, _, content)) if known == version => content,
            _ => match self.check_store(path) {
                Ok(group) => {
                    let cache = own_folder(&self.decoded_dir(), path);
                    let members = zarr::read_zarr(&group, path, version, &cache, &self.budget);
                    for (member, failed) in &members {
                        if let Err(reason) = failed {
                            tracing::warn!(store = %path.display(), member = %member, "skipping Zarr array: {reason}");
                        }
                    }
                    Content::Zarr(Arc::new(members))
                }
                Err(reason) => return Some(self.remember_invalid(path, stamp, reason)),
            },
        };
        Some(self.remember(path, stamp, content, Some((version, Instant::now()))))
    }

    /// The group name of a Zarr store's folder, if it may be served.
    fn check_store(&self, path: &Path) -> Result<String, String> {
        let name = self.name_of(path).ok_or_else(|| {
            "its path is not a valid array name (letters, digits, '_', '.', '-' only)".to_string()
        })?;
        self.check_inside_root(path)?;
        Ok(name)
    }

    /// Cache `path` as not servable, logging why once per version of its folder.
    fn remember_invalid(&self, path: &Path, stamp: FileStamp, reason: String) -> Content {
        let seen = self
            .read_cache()
            .get(path)
            .is_some_and(|hit| hit.stamp == stamp && matches!(hit.content, Content::Invalid(_)));
        if !seen {
            tracing::warn!(path = %path.display(), "skipping Zarr store: {reason}");
        }
        self.remember(
            path,
            stamp,
            Content::Invalid(reason),
            Some((0, Instant::now())),
        )
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, HashMap<PathBuf, Cached>> {
        self.cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn forget_all_but(&self, live: &HashSet<PathBuf>) {
        self.cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|path, _| live.contains(path));
    }

    fn read_file(&self, path: &Path, stamp: FileStamp) -> Content {
        let Some(stem_name) = self.name_of(path) else {
            return Content::Invalid(
                "its path is not a valid array name (letters, digits, '_', '.', '-' only)".into(),
            );
        };
        if let Err(reason) = self.check_inside_root(path) {
            return Content::Invalid(reason);
        }
        let is_npz = path.extension().is_some_and(|e| e == "npz");
        let result = if is_npz {
            let cache = own_folder(&self.inflated_dir(), path);
            files::read_npz(&stem_name, path, stamp, &cache)
                .map(|members| Content::Npz(Arc::new(members)))
        } else {
            let _reading = self
                .headers
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            files::read_npy_file(&stem_name, path, stamp).map(|a| Content::Npy(Arc::new(a)))
        };
        result.unwrap_or_else(Content::Invalid)
    }

    /// The array name of a file or store path (without its extension), if it is a valid name.
    fn name_of(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?.with_extension("");
        let name = rel.to_str()?.to_string();
        validate_name(&name).ok().map(|()| name)
    }

    /// Refuse a file whose real location is outside the data directory (a symlinked folder).
    fn check_inside_root(&self, path: &Path) -> Result<(), String> {
        let real = path
            .canonicalize()
            .map_err(|err| format!("cannot resolve its path: {err}"))?;
        let root = self
            .root
            .canonicalize()
            .map_err(|err| format!("cannot resolve the data directory: {err}"))?;
        if real.starts_with(&root) {
            Ok(())
        } else {
            Err("it lies outside the data directory (through a symlink)".into())
        }
    }
}

/// The folder of `base` that holds what is cached for the file or store at `path`, named
/// by a hash of the path.
fn own_folder(base: &Path, path: &Path) -> PathBuf {
    let mut h = Fnv64::new();
    h.write(path.as_os_str().as_encoded_bytes());
    base.join(format!("{:016x}", h.finish()))
}

/// Whether `path` names a Zarr store's folder (`... .zarr`).
fn is_zarr_path(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "zarr")
}
