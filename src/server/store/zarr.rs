//! Zarr v3 stores in the data directory (a folder ending in `.zarr` with a `zarr.json`, as
//! zarr-python 3 writes them), read with the `zarrs` crate.
//!
//! - `DIR/b.zarr/` holding an array is the array `b`; `DIR/run7.zarr/` holding a group with
//!   arrays `t` and `x` gives `run7/t` and `run7/x` (nested groups give longer names).
//! - An array is decoded lazily, one block of rows at a time, into a sparse file of its
//!   decoded C-order bytes under `DIR/.downlink/zarr/` that is mapped like any `.npy`. A
//!   slice decodes only the blocks it covers; a pyramid or a whole read decodes every block,
//!   each streamed from its chunks through memory and written to the file, so the decoded
//!   array is page cache the kernel can drop, never the server's own memory at once.
//! - The decoded bytes of all the stores, together, stay within a [`DecodeBudget`]: past it,
//!   the least recently used other stores' files are dropped (and decoded again when next
//!   read).
//! - The store's version is the identity of every file in it (a change to any chunk or
//!   metadata file is a new version, a new ETag and a new cache file). The store refuses to
//!   serve a folder that contains a symlink, so nothing outside the data directory is read.

use std::collections::HashMap;
use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use zarrs::array::{Array, ArrayBytes, ArraySubset};
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::ReadableStorageTraits;

use super::stamp::{FileStamp, Fnv64};
use super::{Source, StoredArray};
use crate::names::validate_name;
use crate::wire::dtype::DType;
use crate::wire::npy::{NpyHeader, Version};

/// Most bytes one decode call holds in memory (whole rows: one row of chunks where it fits,
/// and as many rows of chunks as fit when a whole array is decoded).
const MAX_BLOCK_BYTES: u64 = 64 << 20;

/// The default bound of the decode caches, in decoded bytes (`--decode-cache-max`).
pub const DEFAULT_DECODE_CACHE_MAX: u64 = 32 << 30;

/// The disk bound of the Zarr decode caches: the decoded bytes of every store, together.
///
/// Each store is charged for the blocks its [`Decoder`]s decode. When a charge takes the
/// total past the bound, the least recently used other stores are dropped until it fits:
/// their cache files are removed and the hooks are told (the store forgets what it read of
/// it, the level-of-detail cache its arrays' levels), so the next read opens and decodes it
/// again, and the disk space returns when the last request reading the old files ends. One
/// store larger than the bound is still decoded whole.
pub struct DecodeBudget {
    max: AtomicU64,
    state: Mutex<Charges>,
    /// Told the folder and the group name of every store dropped.
    hooks: RwLock<Vec<EvictHook>>,
}

/// What the budget tells of a store it dropped: its folder and its group name.
type EvictHook = Box<dyn Fn(&Path, &str) + Send + Sync>;

#[derive(Default)]
struct Charges {
    used: u64,
    next: u64,
    arrays: HashMap<u64, Charge>,
}

/// One store's share of the budget.
struct Charge {
    bytes: u64,
    used_at: Instant,
    /// Where its decode caches are.
    cache: PathBuf,
    store: PathBuf,
    group: String,
}

/// A store's charge, shared by its decoders (or an object's in a bucket, by its fetchers):
/// released when the last one is dropped.
pub(super) struct ChargeId {
    budget: Arc<DecodeBudget>,
    id: u64,
}

impl ChargeId {
    /// Charge `bytes` more, now written to the cache (see [`DecodeBudget`]).
    pub(super) fn charge(&self, bytes: u64) {
        self.budget.charge(self.id, bytes);
    }

    /// The cache was read: it is the most recently used.
    pub(super) fn touch(&self) {
        self.budget.touch(self.id);
    }
}

impl Drop for ChargeId {
    fn drop(&mut self) {
        self.budget.release(self.id);
    }
}

impl std::fmt::Debug for DecodeBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodeBudget")
            .field("max", &self.max.load(Ordering::Relaxed))
            .field("used", &self.used())
            .finish_non_exhaustive()
    }
}

impl DecodeBudget {
    /// A budget of `max` decoded bytes.
    pub fn new(max: u64) -> Arc<DecodeBudget> {
        Arc::new(DecodeBudget {
            max: AtomicU64::new(max),
            state: Mutex::default(),
            hooks: RwLock::default(),
        })
    }

    /// Bound the decoded bytes to `max` from now on.
    pub fn set_max(&self, max: u64) {
        self.max.store(max, Ordering::Relaxed);
    }

    /// Decoded bytes charged now.
    pub fn used(&self) -> u64 {
        self.charges().used
    }

    /// Call `hook` with the folder and group name of every store dropped from now on.
    pub fn on_evict(&self, hook: impl Fn(&Path, &str) + Send + Sync + 'static) {
        self.hooks
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(hook));
    }

    fn charges(&self) -> std::sync::MutexGuard<'_, Charges> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new store to charge (the one in folder `store`, its arrays `group`...), decoded into
    /// files in `cache`.
    pub(super) fn register(
        self: &Arc<Self>,
        cache: &Path,
        store: &Path,
        group: &str,
    ) -> Arc<ChargeId> {
        let mut charges = self.charges();
        charges.next += 1;
        let id = charges.next;
        charges.arrays.insert(
            id,
            Charge {
                bytes: 0,
                used_at: Instant::now(),
                cache: cache.to_path_buf(),
                store: store.to_path_buf(),
                group: group.to_string(),
            },
        );
        Arc::new(ChargeId {
            budget: Arc::clone(self),
            id,
        })
    }

    /// Charge store `id` with `bytes` more (none for a store already dropped), then drop
    /// the least recently used others until the total fits.
    fn charge(&self, id: u64, bytes: u64) {
        let max = self.max.load(Ordering::Relaxed);
        let dropped: Vec<Charge> = {
            let mut charges = self.charges();
            let Some(charge) = charges.arrays.get_mut(&id) else {
                return;
            };
            charge.bytes += bytes;
            charge.used_at = Instant::now();
            charges.used += bytes;
            let mut dropped = Vec::new();
            while charges.used > max {
                let oldest = charges
                    .arrays
                    .iter()
                    .filter(|(other, c)| **other != id && c.bytes > 0)
                    .min_by_key(|(_, c)| c.used_at)
                    .map(|(other, _)| *other);
                let Some(charge) = oldest.and_then(|o| charges.arrays.remove(&o)) else {
                    break;
                };
                charges.used -= charge.bytes;
                dropped.push(charge);
            }
            dropped
        };
        for charge in dropped {
            tracing::info!(
                store = %charge.store.display(),
                bytes = charge.bytes,
                "dropping a decoded Zarr store to stay within --decode-cache-max"
            );
            if let Ok(files) = std::fs::read_dir(&charge.cache) {
                for file in files.filter_map(Result::ok) {
                    let _ = std::fs::remove_file(file.path());
                }
            }
            for hook in self.hooks.read().unwrap_or_else(|p| p.into_inner()).iter() {
                hook(&charge.store, &charge.group);
            }
        }
    }

    /// Store `id` was read: it is the most recently used.
    fn touch(&self, id: u64) {
        if let Some(charge) = self.charges().arrays.get_mut(&id) {
            charge.used_at = Instant::now();
        }
    }

    /// Store `id` is gone (its decoders dropped): its bytes are no longer charged.
    fn release(&self, id: u64) {
        let mut charges = self.charges();
        if let Some(charge) = charges.arrays.remove(&id) {
            charges.used -= charge.bytes;
        }
    }
}

/// The members of a store: each array's path inside it (`""` for a store that is one array)
/// and the array, or why it cannot be served.
pub(super) type Members = Vec<(String, Result<Arc<StoredArray>, String>)>;

/// The version of the store in `dir`: a hash of the identity of every file and folder in it.
///
/// # Errors
/// When the folder cannot be walked or holds a symlink.
pub(super) fn store_version(dir: &Path) -> Result<u64, String> {
    let mut h = Fnv64::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|err| format!("cannot read the store: {err}"))?;
        if entry.path_is_symlink() {
            return Err(format!(
                "it holds a symlink ({}); Zarr stores with symlinks are not served",
                entry
                    .path()
                    .strip_prefix(dir)
                    .unwrap_or(entry.path())
                    .display()
            ));
        }
        if entry.file_type().is_file() {
            let meta = entry
                .metadata()
                .map_err(|err| format!("cannot read the store: {err}"))?;
            h.write(entry.path().as_os_str().as_encoded_bytes());
            h.write(FileStamp::of(&meta).etag("").as_bytes());
        }
    }
    Ok(h.finish())
}

/// What a Zarr store's arrays are read through: its folder, or its prefix of a bucket.
pub(super) type Storage = Arc<dyn ReadableStorageTraits>;

/// Every array of the store in `dir` (named `group` in the data directory), its data mapped
/// from a sparse cache file under `cache` (a folder of this store's own, emptied of other
/// versions).
pub(super) fn read_zarr(
    group: &str,
    dir: &Path,
    version: u64,
    cache: &Path,
    budget: &Arc<DecodeBudget>,
) -> Members {
    let storage: Storage = match FilesystemStore::new(dir) {
        Ok(storage) => Arc::new(storage),
        Err(err) => return vec![(String::new(), Err(format!("cannot open the store: {err}")))],
    };
    let mut metadata: Vec<_> = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.file_name() == "zarr.json")
        .filter_map(|e| {
            let rel = e
                .path()
                .parent()?
                .strip_prefix(dir)
                .ok()?
                .to_str()?
                .to_string();
            Some(rel)
        })
        .collect();
    metadata.sort();
    let metadata = metadata
        .into_iter()
        .map(|member| {
            let text = std::fs::read(dir.join(&member).join("zarr.json"))
                .map_err(|err| format!("cannot read zarr.json: {err}"));
            (member, text)
        })
        .collect();
    read_members(group, dir, version, cache, &storage, metadata, budget)
}

/// The arrays of a store read through `storage`, given the text of each `zarr.json` in it
/// by the path of its node (`""` for the root), in order.
pub(super) fn read_members(
    group: &str,
    dir: &Path,
    version: u64,
    cache: &Path,
    storage: &Storage,
    metadata: Vec<(String, Result<Vec<u8>, String>)>,
    budget: &Arc<DecodeBudget>,
) -> Members {
    let charge = budget.register(cache, dir, group);
    let mut members = Vec::new();
    let mut keep = Vec::new();
    for (member, text) in metadata {
        let meta = match text.and_then(|text| parse_metadata(&text)) {
            Ok(meta) if meta.get("node_type").and_then(|t| t.as_str()) == Some("array") => meta,
            Ok(_) => continue,
            Err(reason) => {
                members.push((member, Err(reason)));
                continue;
            }
        };
        let name = if member.is_empty() {
            group.to_string()
        } else {
            format!("{group}/{member}")
        };
        if let Err(err) = validate_name(&name) {
            tracing::warn!(store = %dir.display(), member = %member, "skipping Zarr array: {err}");
            continue;
        }
        let file_name = {
            let mut h = Fnv64::new();
            h.write(member.as_bytes());
            h.write(&version.to_le_bytes());
            format!("{:016x}.bin", h.finish())
        };
        keep.push(file_name.clone());
        let store = OpenStore {
            dir,
            storage,
            version,
            charge: &charge,
        };
        let array = open_array(&store, &name, &member, &meta, &cache.join(file_name));
        members.push((member, array.map(Arc::new)));
    }
    if let Ok(entries) = std::fs::read_dir(cache) {
        for entry in entries.filter_map(Result::ok) {
            if !keep.contains(&entry.file_name().to_string_lossy().into_owned()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    members
}

/// A `zarr.json`'s text, checked to be Zarr format 3.
fn parse_metadata(text: &[u8]) -> Result<serde_json::Value, String> {
    let json: serde_json::Value =
        serde_json::from_slice(text).map_err(|err| format!("zarr.json is not JSON: {err}"))?;
    if json.get("zarr_format").and_then(serde_json::Value::as_u64) != Some(3) {
        return Err("only Zarr format 3 is supported (zarr.json says otherwise)".into());
    }
    Ok(json)
}

/// What the arrays of one store are opened with.
struct OpenStore<'a> {
    /// Its folder (or key prefix).
    dir: &'a Path,
    storage: &'a Storage,
    version: u64,
    charge: &'a Arc<ChargeId>,
}

/// Member `member` (named `name`, its `zarr.json` `meta`) of `store`, decoded into
/// `cache_file`.
fn open_array(
    store: &OpenStore,
    name: &str,
    member: &str,
    meta: &serde_json::Value,
    cache_file: &Path,
) -> Result<StoredArray, String> {
    let OpenStore {
        dir,
        storage,
        version,
        charge,
    } = *store;
    let path = format!("/{member}");
    let array = Array::open(Arc::clone(storage), &path)
        .map_err(|err| format!("the Zarr array cannot be opened: {err}"))?;
    let descr = npy_descr(meta.get("data_type").unwrap_or(&serde_json::Value::Null))?;
    let dtype = DType::parse_descr(&descr).map_err(|err| err.to_string())?;
    let header = NpyHeader {
        version: Version::V1,
        dtype,
        fortran_order: false,
        shape: array.shape().to_vec(),
    };
    let nbytes = header.data_len().map_err(|err| err.to_string())?;
    let rows = header.shape.first().copied().unwrap_or(1);
    let row_bytes = header.dtype.itemsize() as u64 * header.shape.iter().skip(1).product::<u64>();
    let chunk_rows = match array.chunk_shape(&vec![0; header.shape.len()]) {
        Ok(shape) => shape.first().map_or(1, |n| n.get()),
        Err(err) => return Err(format!("the Zarr array's chunk grid is unsupported: {err}")),
    };
    let block_rows = chunk_rows
        .min((MAX_BLOCK_BYTES / row_bytes.max(1)).max(1))
        .max(1);
    let blocks = rows.div_ceil(block_rows);

    // Sparse: blocks are filled as they are decoded.
    let (file, data) = super::files::sparse_file(cache_file, nbytes)
        .map_err(|err| format!("cannot write its decode cache: {err}"))?;
    let etag = {
        let mut h = Fnv64::new();
        h.write(&version.to_le_bytes());
        h.write(member.as_bytes());
        format!("{:016x}", h.finish())
    };
    Ok(StoredArray {
        npy_header_memo: Default::default(),
        name: name.to_string(),
        etag: super::files::array_etag(&etag, &header),
        header,
        data,
        source: Source::Zarr {
            path: dir.to_path_buf(),
            member: member.to_string(),
        },
        filler: Some(super::Filler::Zarr(Arc::new(Decoder {
            array,
            file,
            rows,
            row_bytes,
            block_rows,
            decoded: Mutex::new(vec![false; usize::try_from(blocks).unwrap_or(0)]),
            complete: AtomicBool::new(blocks == 0),
            charge: Arc::clone(charge),
        }))),
    })
}

/// The `.npy` descr (native byte order, as `zarrs` decodes) of a Zarr v3 `data_type`.
fn npy_descr(data_type: &serde_json::Value) -> Result<String, String> {
    let native = if cfg!(target_endian = "little") {
        '<'
    } else {
        '>'
    };
    let (name, config) = match data_type {
        serde_json::Value::String(name) => (name.as_str(), None),
        serde_json::Value::Object(o) => (
            o.get("name").and_then(|n| n.as_str()).unwrap_or(""),
            o.get("configuration"),
        ),
        _ => ("", None),
    };
    let plain = match name {
        "bool" => Some("|b1".to_string()),
        "int8" => Some("|i1".to_string()),
        "uint8" => Some("|u1".to_string()),
        "int16" | "int32" | "int64" | "uint16" | "uint32" | "uint64" | "float16" | "float32"
        | "float64" => {
            let bits: u32 = name
                .trim_start_matches(char::is_alphabetic)
                .parse()
                .unwrap_or(8);
            let kind = match name.as_bytes()[0] {
                b'i' => 'i',
                b'u' => 'u',
                _ => 'f',
            };
            Some(format!("{native}{kind}{}", bits / 8))
        }
        "complex64" => Some(format!("{native}c8")),
        "complex128" => Some(format!("{native}c16")),
        _ => None,
    };
    if let Some(descr) = plain {
        return Ok(descr);
    }
    let time = match name {
        "numpy.datetime64" => 'M',
        "numpy.timedelta64" => 'm',
        _ => return Err(format!("the Zarr data type {data_type} is not supported")),
    };
    let unit = config
        .and_then(|c| c.get("unit"))
        .and_then(|u| u.as_str())
        .ok_or_else(|| format!("the Zarr data type {data_type} has no unit"))?;
    let scale = config
        .and_then(|c| c.get("scale_factor"))
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(1);
    Ok(if scale == 1 {
        format!("{native}{time}8[{unit}]")
    } else {
        format!("{native}{time}8[{scale}{unit}]")
    })
}

/// Decodes a Zarr array's rows into its cache file on demand.
pub struct Decoder {
    array: Array<dyn ReadableStorageTraits>,
    file: File,
    rows: u64,
    row_bytes: u64,
    block_rows: u64,
    /// Which blocks of `block_rows` rows are in the file; held while a block is decoded, so
    /// two readers never decode the same block at once.
    decoded: Mutex<Vec<bool>>,
    complete: AtomicBool,
    /// Its store's charge, for the blocks it decodes.
    charge: Arc<ChargeId>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("rows", &self.rows)
            .field("block_rows", &self.block_rows)
            .field("complete", &self.is_complete())
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// Whether every row is decoded.
    pub fn is_complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }

    /// Decode the blocks that hold `rows` (clamped to the array) unless they already are.
    ///
    /// # Errors
    /// A chunk that cannot be read or decoded (the message says which rows).
    pub fn ensure(&self, rows: Range<u64>) -> Result<(), String> {
        let end = rows.end.min(self.rows);
        if rows.start >= end || self.is_complete() {
            self.charge.budget.touch(self.charge.id);
            return Ok(());
        }
        let mut decoded = self
            .decoded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Runs of missing blocks, each decoded in one call of at most MAX_BLOCK_BYTES (in
        // which zarrs decodes the chunks in parallel).
        let per_call = (MAX_BLOCK_BYTES / (self.block_rows * self.row_bytes).max(1)).max(1);
        let last = end.div_ceil(self.block_rows);
        let mut block = rows.start / self.block_rows;
        while block < last {
            if decoded[block as usize] {
                block += 1;
                continue;
            }
            let mut run_end = block + 1;
            while run_end < last && run_end - block < per_call && !decoded[run_end as usize] {
                run_end += 1;
            }
            let (from, to) = (
                block * self.block_rows,
                (run_end * self.block_rows).min(self.rows),
            );
            let bytes = (to - from) * self.row_bytes;
            self.charge.budget.charge(self.charge.id, bytes);
            self.decode_rows(from, to)?;
            for slot in &mut decoded[block as usize..run_end as usize] {
                *slot = true;
            }
            block = run_end;
        }
        if decoded.iter().all(|d| *d) {
            self.complete.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Decode rows `start..end` (clamped to the array) into the file.
    fn decode_rows(&self, start: u64, end: u64) -> Result<(), String> {
        use std::os::unix::fs::FileExt;
        let end = end.min(self.rows);
        let shape = self.array.shape();
        let ranges: Vec<Range<u64>> = if shape.is_empty() {
            Vec::new()
        } else {
            std::iter::once(start..end)
                .chain(shape[1..].iter().map(|n| 0..*n))
                .collect()
        };
        let failed = |err: String| format!("rows {start}..{end} cannot be decoded: {err}");
        let bytes: ArrayBytes = self
            .array
            .retrieve_array_subset(&ArraySubset::new_with_ranges(&ranges))
            .map_err(|err| failed(err.to_string()))?;
        let raw = bytes.into_fixed().map_err(|err| failed(err.to_string()))?;
        let want = (end - start) * self.row_bytes;
        if raw.len() as u64 != want {
            return Err(failed(format!(
                "{} bytes decoded, {want} expected",
                raw.len()
            )));
        }
        self.file
            .write_all_at(&raw, start * self.row_bytes)
            .map_err(|err| failed(format!("the decode cache cannot be written: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use super::npy_descr;
    use serde_json::json;

    #[test]
    fn zarr_data_types_map_to_native_order_descrs() {
        let native = if cfg!(target_endian = "little") {
            "<"
        } else {
            ">"
        };
        for (data_type, want) in [
            (json!("bool"), "|b1".to_string()),
            (json!("int8"), "|i1".to_string()),
            (json!("uint8"), "|u1".to_string()),
            (json!("int16"), format!("{native}i2")),
            (json!("uint64"), format!("{native}u8")),
            (json!("float16"), format!("{native}f2")),
            (json!("float64"), format!("{native}f8")),
            (json!("complex64"), format!("{native}c8")),
            (
                json!({"name": "numpy.datetime64", "configuration": {"unit": "ns", "scale_factor": 1}}),
                format!("{native}M8[ns]"),
            ),
            (
                json!({"name": "numpy.timedelta64", "configuration": {"unit": "ms", "scale_factor": 10}}),
                format!("{native}m8[10ms]"),
            ),
        ] {
            assert_eq!(
                npy_descr(&data_type).as_deref(),
                Ok(want.as_str()),
                "{data_type}"
            );
        }
        for unsupported in [
            json!("string"),
            json!({"name": "numpy.datetime64"}),
            json!(3),
        ] {
            let err = npy_descr(&unsupported).unwrap_err();
            assert!(
                err.contains("not supported") || err.contains("no unit"),
                "{err}"
            );
        }
    }
}
