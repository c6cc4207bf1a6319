//! Arrays in an S3-compatible bucket (`--data s3://BUCKET/PREFIX`), through Apache Arrow's
//! `object_store`.
//!
//! - Keys under the prefix are named as the files of a data directory are: `PREFIX/a/b.npy`
//!   is the array `a/b`, member `x.npy` of `PREFIX/a/run.npz` is `a/run/x`. Keys with a hidden
//!   segment (starting with `.`) are never listed or served.
//! - An object's identity is its size and ETag, read with one HEAD (or from a listing) at
//!   most once per [`RECHECK`]: a change made by another replica or another program is seen
//!   within that time, one made through this process at once. What an object holds (its
//!   `.npy` header, an `.npz`'s central directory) is cached by that identity.
//! - Data is never downloaded whole to answer a read. A contiguous selection streams from
//!   range GETs of its bytes ([`Fetcher::stream`]); work that needs the bytes at hand (a conversion, a
//!   strided slice, a pyramid build) fetches the blocks it reads into a sparse cache file
//!   under the local cache directory, mapped like any `.npy` ([`Fetcher::ensure`]). Every
//!   GET is conditional on the ETag, so a read never mixes two versions of an object: one
//!   replaced mid-read fails that read, and the next request sees the new version.
//! - Writes upload a validated temporary file ([`Bucket::upload`]): one PUT, or a multipart
//!   upload above [`MULTIPART_ABOVE`]. Either way S3 replaces the object atomically: readers
//!   see the old array or the new one, never a mix.
//!
//! - A store that cannot be reached, or fails a request, is told apart from an object
//!   that is not a valid array ([`Failure`]): the first answers 502 and is asked again by
//!   the next request, the second 422 like any invalid file.
//!
//! Every method blocks on the network: call them from a blocking task, never from an async
//! worker ([`Fetcher::stream`] is the exception, polled by the response body).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path as Key;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use zarrs::storage::storage_adapter::async_to_sync::{
    AsyncToSyncBlockOn, AsyncToSyncStorageAdapter,
};
use zarrs_object_store::AsyncObjectStore;

use super::files::{array_etag, npz_members, prune_inflated};
use super::stamp::{FileStamp, Fnv64};
use super::zarr::ChargeId;
use super::{Filler, Source, StoredArray};
use crate::wire::npy::{NpyHeader, MAX_DATA_OFFSET};

/// How long an object's identity is trusted before it is checked again with a HEAD.
pub const RECHECK: Duration = Duration::from_secs(1);

/// Bodies above this size are uploaded in parts (S3's multipart upload).
pub const MULTIPART_ABOVE: u64 = 32 << 20;

/// Size of one part of a multipart upload, and of one block fetched into a cache file.
const BLOCK: u64 = 8 << 20;

/// Bytes of one range GET of a streamed body (see [`Fetcher::stream`]).
const STREAM_RANGE: u64 = 64 << 20;

/// Blocks fetched, or parts uploaded, at once.
const CONCURRENCY: usize = 8;

/// A bucket and a prefix in it, as the data source.
pub struct Bucket {
    objects: Arc<dyn ObjectStore>,
    /// `""`, or the prefix with a trailing `/`.
    prefix: String,
    /// `s3://BUCKET/PREFIX`, for messages.
    url: String,
    /// The runtime the blocking calls wait on.
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket").field("url", &self.url).finish()
    }
}

/// What a HEAD or a listing says of one object: its size and ETag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The key below the prefix, e.g. `a/b.npy`.
    pub key: String,
    /// Bytes.
    pub size: u64,
    /// The store's ETag without quotes (may be empty when the store gives none).
    pub e_tag: String,
    /// The ETag as the store gave it, sent back in `If-Match`.
    raw_e_tag: Option<String>,
}

impl Bucket {
    /// The bucket named by `url` (`s3://BUCKET` or `s3://BUCKET/PREFIX`), configured from
    /// the AWS environment variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ALLOW_HTTP`, ...). Call within a runtime.
    ///
    /// # Errors
    /// A URL that is not `s3://`, or a configuration `object_store` refuses.
    pub fn open(url: &str) -> Result<Bucket, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{url} is not an s3:// URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("{url} names no bucket"));
        }
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        if std::env::var_os("AWS_REGION").is_none()
            && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        {
            builder = builder.with_region("us-east-1");
        }
        let objects = builder
            .build()
            .map_err(|err| format!("cannot use {url}: {err}"))?;
        Ok(Bucket::new(
            Arc::new(objects),
            prefix,
            url,
            tokio::runtime::Handle::current(),
        ))
    }

    /// A bucket over any object store (the tests use `object_store`'s in-memory one).
    pub fn new(
        objects: Arc<dyn ObjectStore>,
        prefix: &str,
        url: &str,
        runtime: tokio::runtime::Handle,
    ) -> Bucket {
        let prefix = prefix.trim_matches('/');
        Bucket {
            objects,
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            url: url.to_string(),
            runtime,
        }
    }

    /// `s3://BUCKET/PREFIX`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn location(&self, key: &str) -> Key {
        Key::from(format!("{}{key}", self.prefix))
    }

    fn object(&self, meta: &ObjectMeta) -> Option<Object> {
        let key = meta.location.as_ref().strip_prefix(&self.prefix)?;
        Some(Object {
            key: key.to_string(),
            size: meta.size,
            e_tag: bare_etag(meta.e_tag.as_deref()),
            raw_e_tag: meta.e_tag.clone(),
        })
    }

    fn wait<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Check that the bucket answers (one listing request).
    ///
    /// # Errors
    /// When it does not, with the store's reason (no such bucket, refused credentials...).
    pub fn check(&self) -> Result<(), String> {
        let prefix = self.location("");
        let prefix = (!self.prefix.is_empty()).then_some(&prefix);
        self.wait(self.objects.list_with_delimiter(prefix))
            .map(drop)
            .map_err(|err| format!("cannot list {}: {err}", self.url))
    }

    /// The object at `key`, or `None` when there is none.
    ///
    /// # Errors
    /// When the store cannot be reached.
    pub fn head(&self, key: &str) -> Result<Option<Object>, String> {
        match self.wait(self.objects.head(&self.location(key))) {
            Ok(meta) => Ok(self.object(&meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(format!("{}: {err}", self.url)),
        }
    }

    /// Every object under the prefix.
    ///
    /// # Errors
    /// When the store cannot be listed.
    pub fn list(&self) -> Result<Vec<Object>, String> {
        self.list_under("")
    }

    /// Every object under `folder` (a key prefix below the prefix; `""` for all).
    ///
    /// # Errors
    /// When the store cannot be listed.
    pub fn list_under(&self, folder: &str) -> Result<Vec<Object>, String> {
        let prefix = self.location(folder);
        let prefix = (!prefix.as_ref().is_empty()).then_some(&prefix);
        let metas: Vec<ObjectMeta> = self
            .wait(self.objects.list(prefix).try_collect())
            .map_err(|err| format!("cannot list {}: {err}", self.url))?;
        Ok(metas.iter().filter_map(|m| self.object(m)).collect())
    }

    /// The whole of `object` (of that version).
    ///
    /// # Errors
    /// As [`Bucket::read`].
    pub fn read_whole(&self, object: &Object) -> Result<Bytes, String> {
        if object.size == 0 {
            return Ok(Bytes::new());
        }
        self.read(object, 0..object.size)
    }

    /// The Zarr store whose root is `folder` (e.g. `a/run.zarr`), for `zarrs` to read.
    pub(super) fn zarr_storage(&self, folder: &str) -> super::zarr::Storage {
        let below = object_store::prefix::PrefixStore::new(
            Arc::clone(&self.objects),
            self.location(folder),
        );
        Arc::new(AsyncToSyncStorageAdapter::new(
            Arc::new(AsyncObjectStore::new(below)),
            BlockOn(self.runtime.clone()),
        ))
    }

    /// Bytes `range` of `object` (of that version: a changed object is an error).
    ///
    /// # Errors
    /// When the object changed, is gone, or the store cannot be reached.
    pub fn read(&self, object: &Object, range: Range<u64>) -> Result<Bytes, String> {
        self.wait(async {
            let got = self
                .objects
                .get_opts(
                    &self.location(&object.key),
                    get_options(object, range.clone()),
                )
                .await?;
            got.bytes().await
        })
        .map_err(|err| read_error(object, &err))
        .and_then(|bytes| {
            if bytes.len() as u64 == range.end - range.start {
                Ok(bytes)
            } else {
                Err(format!(
                    "{}: {} bytes came for a range of {}",
                    object.key,
                    bytes.len(),
                    range.end - range.start
                ))
            }
        })
    }

    /// Upload the file at `path` as `key`, replacing any object there atomically.
    ///
    /// # Errors
    /// When the file cannot be read or the store refuses the upload (a multipart upload that
    /// fails is aborted, leaving the old object).
    pub fn upload(&self, key: &str, path: &Path) -> Result<(), String> {
        let location = self.location(key);
        let failed = |err: &dyn std::fmt::Display| format!("cannot upload {key}: {err}");
        let mut file = File::open(path).map_err(|err| failed(&err))?;
        let size = file.metadata().map_err(|err| failed(&err))?.len();
        if size <= MULTIPART_ABOVE {
            let mut body = Vec::with_capacity(size as usize);
            file.read_to_end(&mut body).map_err(|err| failed(&err))?;
            self.wait(self.objects.put(&location, PutPayload::from(body)))
                .map_err(|err| failed(&err))?;
            return Ok(());
        }
        self.wait(async {
            let upload = self
                .objects
                .put_multipart(&location)
                .await
                .map_err(|err| failed(&err))?;
            let mut parts =
                object_store::WriteMultipart::new_with_chunk_size(upload, BLOCK as usize);
            let mut buffer = vec![0u8; BLOCK as usize];
            loop {
                // At most CONCURRENCY parts in flight: memory stays at a few blocks.
                if let Err(err) = parts.wait_for_capacity(CONCURRENCY).await {
                    let _ = parts.abort().await;
                    return Err(failed(&err));
                }
                let n = match file.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(err) => {
                        let _ = parts.abort().await;
                        return Err(failed(&err));
                    }
                };
                parts.write(&buffer[..n]);
            }
            parts.finish().await.map(drop).map_err(|err| failed(&err))
        })
    }

    /// Store `body` as `key` (a small object, in one PUT).
    ///
    /// # Errors
    /// When the store refuses.
    pub fn put_bytes(&self, key: &str, body: Vec<u8>) -> Result<(), String> {
        self.wait(
            self.objects
                .put(&self.location(key), PutPayload::from(body)),
        )
        .map(drop)
        .map_err(|err| format!("cannot upload {key}: {err}"))
    }

    /// Download the object `key`, if there is one, to the file `path` (written whole, then
    /// renamed into place). Whether there was one.
    ///
    /// # Errors
    /// When the store or the file system fails.
    pub fn download(&self, key: &str, path: &Path) -> Result<bool, String> {
        let Some(object) = self.head(key)? else {
            return Ok(false);
        };
        let bytes = self.read_whole(&object)?;
        let failed = |err: std::io::Error| format!("cannot write {}: {err}", path.display());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        let part = path.with_extension(format!("{}.part", std::process::id()));
        std::fs::write(&part, &bytes)
            .and_then(|()| std::fs::rename(&part, path))
            .map_err(|err| {
                let _ = std::fs::remove_file(&part);
                failed(err)
            })?;
        Ok(true)
    }

    /// Upload the file `path` as `key` unless an object is there already (a conditional
    /// PUT, `If-None-Match: *`: of two replicas racing, one stores it and the other's PUT
    /// is refused, harmlessly, as both hold the same bytes).
    ///
    /// # Errors
    /// When the file cannot be read or the store fails otherwise.
    pub fn upload_new(&self, key: &str, path: &Path) -> Result<(), String> {
        let body =
            std::fs::read(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let options = object_store::PutOptions::from(object_store::PutMode::Create);
        match self.wait(
            self.objects
                .put_opts(&self.location(key), PutPayload::from(body), options),
        ) {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(object_store::Error::Precondition { .. }) => Ok(()),
            Err(err) => Err(format!("cannot upload {key}: {err}")),
        }
    }

    /// Delete `key` (deleting a missing key is not an error, as in S3).
    ///
    /// # Errors
    /// When the store refuses.
    pub fn delete(&self, key: &str) -> Result<(), String> {
        match self.wait(self.objects.delete(&self.location(key))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(format!("cannot delete {key}: {err}")),
        }
    }
}

/// Runs `zarrs`' storage futures on the server's runtime, from a blocking thread.
struct BlockOn(tokio::runtime::Handle);

impl AsyncToSyncBlockOn for BlockOn {
    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

/// A Zarr store's version (a hash of every object's key and identity) and the `zarr.json`
/// object of each node by the node's path (`""` for the root).
pub(super) type ZarrListing = (u64, Vec<(String, Object)>);

/// The Zarr store in the bucket's folder `folder` (`a/run.zarr`), from one listing of it.
/// `None` when the folder holds no root `zarr.json`.
///
/// # Errors
/// When the folder cannot be listed.
pub(super) fn list_zarr(bucket: &Bucket, folder: &str) -> Result<Option<ZarrListing>, String> {
    let mut objects = bucket.list_under(&format!("{folder}/"))?;
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    let mut version = Fnv64::new();
    let mut metadata = Vec::new();
    for object in &objects {
        version.write(object.key.as_bytes());
        version.write(&object.size.to_le_bytes());
        version.write(object.e_tag.as_bytes());
        let Some(rel) = object
            .key
            .strip_prefix(folder)
            .and_then(|k| k.strip_prefix('/'))
        else {
            continue;
        };
        let node = if rel == "zarr.json" {
            Some("")
        } else {
            rel.strip_suffix("/zarr.json")
        };
        if let Some(node) = node {
            metadata.push((node.to_string(), object.clone()));
        }
    }
    if !metadata.iter().any(|(node, _)| node.is_empty()) {
        return Ok(None);
    }
    Ok(Some((version.finish(), metadata)))
}

/// Why an array in the bucket could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The store did not answer, failed the request, sent less than asked, or the object
    /// changed while it was read: the same request may succeed later.
    #[error("{0}")]
    Unreachable(String),
    /// What the store sent is not a servable array (or its local cache file failed).
    #[error("{0}")]
    Invalid(String),
}

/// An ETag as a plain string: no quotes, no weak marker.
fn bare_etag(e_tag: Option<&str>) -> String {
    e_tag
        .unwrap_or("")
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_string()
}

fn get_options(object: &Object, range: Range<u64>) -> GetOptions {
    GetOptions {
        range: Some(GetRange::Bounded(range)),
        if_match: object.raw_e_tag.clone(),
        ..GetOptions::default()
    }
}

fn read_error(object: &Object, err: &object_store::Error) -> String {
    match err {
        object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. } => {
            format!("{} changed while it was read; read it again", object.key)
        }
        _ => format!("{} cannot be read: {err}", object.key),
    }
}

/// `Read + Seek` over one version of an object, by range GETs with a read-ahead that grows
/// while reads are sequential (the zip crate reads an `.npz`'s directory through it, and
/// inflates deflated members from it).
pub struct RangeReader<'a> {
    bucket: &'a Bucket,
    object: Object,
    at: u64,
    buffer: Bytes,
    /// Offset of `buffer` in the object.
    buffer_at: u64,
    ahead: u64,
}

impl<'a> RangeReader<'a> {
    /// A reader at the start of `object`.
    pub fn new(bucket: &'a Bucket, object: Object) -> RangeReader<'a> {
        RangeReader {
            bucket,
            object,
            at: 0,
            buffer: Bytes::new(),
            buffer_at: 0,
            ahead: MIN_AHEAD,
        }
    }
}

const MIN_AHEAD: u64 = 64 << 10;

impl Read for RangeReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let size = self.object.size;
        if self.at >= size || out.is_empty() {
            return Ok(0);
        }
        let end = self.buffer_at + self.buffer.len() as u64;
        if self.at < self.buffer_at || self.at >= end {
            // Sequential reads double the read-ahead (up to a block); a jump resets it.
            self.ahead = if self.at == end {
                (self.ahead * 2).min(BLOCK)
            } else {
                MIN_AHEAD
            };
            let to = (self.at + self.ahead.max(out.len() as u64)).min(size);
            self.buffer = self
                .bucket
                .read(&self.object, self.at..to)
                .map_err(std::io::Error::other)?;
            self.buffer_at = self.at;
        }
        let from = (self.at - self.buffer_at) as usize;
        let n = out.len().min(self.buffer.len() - from);
        out[..n].copy_from_slice(&self.buffer[from..from + n]);
        self.at += n as u64;
        Ok(n)
    }
}

impl Seek for RangeReader<'_> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.object.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.at.checked_add_signed(d),
        };
        self.at = target.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        Ok(self.at)
    }
}

/// Fetches an array's data bytes (bytes `base..base + len` of one object version) into its
/// sparse cache file on demand, or streams them.
pub struct Fetcher {
    bucket: Arc<Bucket>,
    object: Object,
    base: u64,
    len: u64,
    /// Bytes per row along axis 0; `None` when a row is not contiguous (a Fortran-order
    /// array of more than one dimension: its rows span the whole data).
    row_bytes: Option<u64>,
    file: File,
    /// The cache file's name.
    file_name: Option<String>,
    /// Where each block of [`BLOCK`] bytes stands. The lock is never held across the
    /// network: a reader claims the blocks it fetches ([`Block::Fetching`]), and waits on
    /// `arrived` for those another reader claimed, so no block is fetched twice at once.
    blocks: Mutex<Vec<Block>>,
    /// Notified whenever fetched blocks are marked.
    arrived: Condvar,
    complete: AtomicBool,
    /// The object's share of the cache's disk bound (`--decode-cache-max`), charged for
    /// every block written.
    charge: Arc<ChargeId>,
}

/// Where one block of a [`Fetcher`]'s cache file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// Not in the file (never fetched, or its fetch failed).
    Missing,
    /// A reader is fetching it.
    Fetching,
    /// In the file.
    Here,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("key", &self.object.key)
            .field("base", &self.base)
            .field("len", &self.len)
            .field("complete", &self.is_complete())
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A fetcher of bytes `base..base + len` of `object`, rows of `row_bytes` (`None`: rows
    /// are not contiguous), into the (new, sparse) file `cache_file`; and that file's map.
    ///
    /// # Errors
    /// When the cache file cannot be made.
    pub(super) fn new(
        bucket: &Arc<Bucket>,
        object: &Object,
        (base, len): (u64, u64),
        row_bytes: Option<u64>,
        cache_file: &Path,
        charge: &Arc<ChargeId>,
    ) -> Result<(Fetcher, Bytes), String> {
        let (file, map) = super::files::sparse_file(cache_file, len)
            .map_err(|err| format!("cannot make its cache file: {err}"))?;
        let blocks = usize::try_from(len.div_ceil(BLOCK)).unwrap_or(0);
        Ok((
            Fetcher {
                bucket: Arc::clone(bucket),
                object: object.clone(),
                base,
                len,
                row_bytes: row_bytes.map(|n| n.max(1)),
                file,
                file_name: cache_file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned()),
                blocks: Mutex::new(vec![Block::Missing; blocks]),
                arrived: Condvar::new(),
                complete: AtomicBool::new(blocks == 0),
                charge: Arc::clone(charge),
            },
            map,
        ))
    }

    /// Whether every byte is in the cache file.
    pub fn is_complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }

    /// Fetch the blocks that hold `rows` (clamped to the array) unless they already are,
    /// [`CONCURRENCY`] range GETs at a time.
    ///
    /// # Errors
    /// [`Failure::Unreachable`] when the object changed or cannot be read,
    /// [`Failure::Invalid`] when the cache file cannot be written.
    pub fn ensure(&self, rows: Range<u64>) -> Result<(), Failure> {
        match self.row_bytes {
            Some(row) => {
                self.ensure_bytes(rows.start.saturating_mul(row)..rows.end.saturating_mul(row))
            }
            None => self.ensure_bytes(0..self.len),
        }
    }

    /// The key of the object, for messages.
    pub fn key(&self) -> &str {
        &self.object.key
    }

    /// [`Fetcher::ensure`] of data bytes `bytes` (clamped to the data).
    ///
    /// # Errors
    /// As [`Fetcher::ensure`].
    pub fn ensure_bytes(&self, bytes: Range<u64>) -> Result<(), Failure> {
        let from = bytes.start.min(self.len);
        let to = bytes.end.min(self.len);
        self.charge.touch();
        if from >= to || self.is_complete() {
            return Ok(());
        }
        let wanted = from / BLOCK..to.div_ceil(BLOCK);
        let mut blocks = self.lock_blocks();
        loop {
            // Claim the missing blocks; the ones another reader is fetching are waited for.
            let mine: Vec<u64> = wanted
                .clone()
                .filter(|b| blocks[*b as usize] == Block::Missing)
                .collect();
            for block in &mine {
                blocks[*block as usize] = Block::Fetching;
            }
            if !mine.is_empty() {
                // The network is waited for without the lock: other readers of this array
                // claim and fetch other blocks meanwhile.
                drop(blocks);
                let fetched =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.fetch(&mine)));
                blocks = self.lock_blocks();
                let written = match fetched {
                    Ok(written) => written,
                    // Never leave a claim behind: the other readers would wait for ever.
                    Err(panic) => {
                        for block in &mine {
                            blocks[*block as usize] = Block::Missing;
                        }
                        self.arrived.notify_all();
                        drop(blocks);
                        std::panic::resume_unwind(panic);
                    }
                };
                let mut failed = None;
                for (block, result) in written {
                    blocks[block as usize] = match result {
                        Ok(()) => Block::Here,
                        // Missing again: a later read fetches it anew.
                        Err(failure) => {
                            failed = failed.or(Some(failure));
                            Block::Missing
                        }
                    };
                }
                if blocks.iter().all(|b| *b == Block::Here) {
                    self.complete.store(true, Ordering::Release);
                }
                self.arrived.notify_all();
                if let Some(failure) = failed {
                    return Err(failure);
                }
            }
            while wanted
                .clone()
                .any(|b| blocks[b as usize] == Block::Fetching)
            {
                blocks = self
                    .arrived
                    .wait(blocks)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            // A block another reader failed to fetch is missing again: claim it this time.
            if wanted.clone().all(|b| blocks[b as usize] == Block::Here) {
                return Ok(());
            }
        }
    }

    fn lock_blocks(&self) -> std::sync::MutexGuard<'_, Vec<Block>> {
        self.blocks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Fetch `blocks` into the cache file, [`CONCURRENCY`] range GETs at a time: each one's
    /// outcome (every block written counts, even when another fails).
    fn fetch(&self, blocks: &[u64]) -> Vec<(u64, Result<(), Failure>)> {
        use std::os::unix::fs::FileExt;
        let objects = &self.bucket.objects;
        let location = self.bucket.location(&self.object.key);
        self.bucket.wait(
            futures_util::stream::iter(blocks.iter().copied())
                .map(|block| {
                    let start = block * BLOCK;
                    let range = self.base + start..self.base + (start + BLOCK).min(self.len);
                    let options = get_options(&self.object, range);
                    let location = location.clone();
                    async move {
                        let got = objects.get_opts(&location, options).await;
                        let bytes = match got {
                            Ok(got) => got.bytes().await,
                            Err(err) => Err(err),
                        };
                        (block, bytes)
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .map(|(block, bytes)| {
                    let written = bytes
                        .map_err(|err| Failure::Unreachable(read_error(&self.object, &err)))
                        .and_then(|bytes| {
                            let start = block * BLOCK;
                            if bytes.len() as u64 != (start + BLOCK).min(self.len) - start {
                                return Err(Failure::Unreachable(format!(
                                    "{}: a short read",
                                    self.object.key
                                )));
                            }
                            self.file.write_all_at(&bytes, start).map_err(|err| {
                                Failure::Invalid(format!("cannot write its cache file: {err}"))
                            })?;
                            self.charge.charge(bytes.len() as u64);
                            Ok(())
                        });
                    (block, written)
                })
                .collect(),
        )
    }

    /// Data bytes `from..to` as they arrive, from range GETs of [`STREAM_RANGE`] bytes in
    /// order (each conditional on the ETag), the next one sent while the last is read so
    /// the connection never idles between them. Each GET is short, so a client that reads
    /// slowly holds no request open for long: the store's request timeout and retries
    /// apply to one range, not to the whole body.
    pub fn stream(&self, from: u64, to: u64) -> BoxStream<'static, std::io::Result<Bytes>> {
        let objects = Arc::clone(&self.bucket.objects);
        let location = self.bucket.location(&self.object.key);
        let object = self.object.clone();
        let base = self.base;
        let ranges = (from..to)
            .step_by(STREAM_RANGE as usize)
            .map(move |start| base + start..base + (start + STREAM_RANGE).min(to));
        futures_util::stream::iter(ranges)
            .map(move |range| {
                let (objects, location) = (Arc::clone(&objects), location.clone());
                let options = get_options(&object, range);
                async move { objects.get_opts(&location, options).await }
            })
            .buffered(2)
            .map_ok(|got| got.into_stream())
            .try_flatten()
            .map_err({
                let object = self.object.clone();
                move |err| std::io::Error::other(read_error(&object, &err))
            })
            .boxed()
    }
}

/// Names the cache files of one process apart, so two loads of one version never share one.
static CACHE_FILES: AtomicU64 = AtomicU64::new(0);

/// Where the blocks fetched of one object go: its own folder, and its charge against the
/// cache's disk bound.
pub(super) struct Cache<'a> {
    /// The object's folder under the cache directory.
    pub(super) dir: &'a Path,
    /// What every block written is charged to.
    pub(super) charge: &'a Arc<ChargeId>,
}

/// The `.npy` object `object` as the array `name`, its data fetched on demand into a new
/// file in `cache` (a folder of this object's own; files of other versions are removed).
///
/// # Errors
/// [`Failure::Unreachable`] when the header cannot be read; [`Failure::Invalid`] when it
/// cannot be parsed, or the object is shorter than it says.
pub(super) fn read_npy(
    bucket: &Arc<Bucket>,
    name: &str,
    path: &Path,
    object: &Object,
    stamp: FileStamp,
    cache: &Cache,
) -> Result<StoredArray, Failure> {
    let prefix = bucket
        .read(object, 0..object.size.min(MAX_DATA_OFFSET as u64))
        .map_err(Failure::Unreachable)?;
    let (header, offset) =
        NpyHeader::parse(&prefix).map_err(|e| Failure::Invalid(e.to_string()))?;
    let etag = array_etag(&stamp.etag(""), &header);
    let array = array_at(
        bucket,
        name,
        Source::Npy(path.to_path_buf()),
        object,
        offset as u64..object.size,
        header,
        etag,
        cache,
    )
    .map_err(Failure::Invalid)?;
    prune_fetched(cache.dir, &[&array]);
    Ok(array)
}

/// The members of the `.npz` object `object`: its central directory read by range GETs,
/// stored members fetched on demand like an `.npy`, deflated ones inflated once into `cache`.
///
/// # Errors
/// When the object is not a valid zip archive.
pub(super) fn read_npz(
    bucket: &Arc<Bucket>,
    group: &str,
    path: &Path,
    object: &Object,
    stamp: FileStamp,
    cache: &Cache,
) -> Result<Vec<(String, Arc<StoredArray>)>, String> {
    let reader = RangeReader::new(bucket, object.clone());
    let members = npz_members(
        group,
        path,
        reader,
        stamp,
        cache.dir,
        |name, source, range, etag| {
            let head_end = range.end.min(range.start + MAX_DATA_OFFSET as u64);
            let prefix = bucket.read(object, range.start..head_end)?;
            let (header, offset) = NpyHeader::parse(&prefix).map_err(|e| e.to_string())?;
            let etag = array_etag(&etag, &header);
            let data = range.start + offset as u64..range.end;
            array_at(bucket, name, source, object, data, header, etag, cache)
        },
    )?;
    prune_inflated(cache.dir, &members, stamp);
    let arrays: Vec<&StoredArray> = members.iter().map(|(_, a)| a.as_ref()).collect();
    prune_fetched(cache.dir, &arrays);
    Ok(members)
}

/// An array whose data starts at `within.start` of `object` (and must end by `within.end`).
#[allow(clippy::too_many_arguments)]
fn array_at(
    bucket: &Arc<Bucket>,
    name: &str,
    source: Source,
    object: &Object,
    within: Range<u64>,
    header: NpyHeader,
    etag: String,
    cache: &Cache,
) -> Result<StoredArray, String> {
    let len = header.data_len().map_err(|e| e.to_string())?;
    if within
        .start
        .checked_add(len)
        .is_none_or(|end| end > within.end)
    {
        return Err(format!(
            "the data is truncated: the header needs {len} bytes after offset {}, the object has {}",
            within.start, within.end
        ));
    }
    let row_bytes = header.dtype.itemsize() as u64 * header.shape.iter().skip(1).product::<u64>();
    let row_bytes = (!header.fortran_order || header.shape.len() < 2).then_some(row_bytes);
    let n = CACHE_FILES.fetch_add(1, Ordering::Relaxed);
    let file = cache
        .dir
        .join(format!("{etag}.{}-{n}.bin", std::process::id()));
    let (fetcher, data) = Fetcher::new(
        bucket,
        object,
        (within.start, len),
        row_bytes,
        &file,
        cache.charge,
    )?;
    Ok(StoredArray {
        npy_header_memo: Default::default(),
        name: name.to_string(),
        header,
        data,
        etag,
        source,
        filler: Some(Filler::Remote(Arc::new(fetcher))),
    })
}

/// Remove from `cache` the fetched data files of anything but `arrays` (a file still mapped
/// by a reader of an older version stays readable: removing it only unlinks its name).
fn prune_fetched(cache: &Path, arrays: &[&StoredArray]) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    let keep: Vec<String> = arrays
        .iter()
        .filter_map(|a| match &a.filler {
            Some(Filler::Remote(f)) => f.file_name.clone(),
            _ => None,
        })
        .collect();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".bin") && !keep.contains(&name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
