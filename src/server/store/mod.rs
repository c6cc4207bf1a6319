//! The array store: a data directory of `.npy` files and `.npz` groups, served without copying.
//!
//! - `DIR/a/b.npy` is the array `a/b`; member `x.npy` of `DIR/a/run.npz` is `a/run/x`. When
//!   both spellings exist, the `.npy` file wins (and the listing says nothing of the shadowed
//!   member).
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
//! - `files`: reading `.npy` and `.npz` files.
//! - `stamp`: file identities and the ETag hash.

mod files;
mod stamp;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::names::validate_name;
use crate::wire::npy::NpyHeader;

pub use files::MAX_INFLATED_MEMBER;
use stamp::FileStamp;
pub use stamp::Fnv64;

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
}

/// What one file on disk holds, as last loaded.
#[derive(Debug, Clone)]
enum Content {
    Npy(Arc<StoredArray>),
    /// Members by their name inside the group (`x` for `x.npy`), in zip order.
    Npz(Arc<Vec<(String, Arc<StoredArray>)>>),
    /// Not servable; the reason was logged once when this version was first seen.
    Invalid(String),
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
}

/// The data directory and a cache of what its files hold, keyed by file path.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    cache: Arc<RwLock<HashMap<PathBuf, Cached>>>,
    /// Held to read an `.npy` header (shared) and to rewrite one in place (exclusive).
    headers: Arc<RwLock<()>>,
    /// Held to resolve several names as one set (shared) and to replace a set (exclusive).
    sets: Arc<RwLock<()>>,
}

impl Store {
    /// A store over `root` (which should exist; a missing directory lists as empty).
    pub fn new(root: impl Into<PathBuf>) -> Store {
        Store {
            root: root.into(),
            cache: Arc::default(),
            headers: Arc::default(),
            sets: Arc::default(),
        }
    }

    /// The data directory this store serves.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where deflated `.npz` members are inflated (`DIR/.downlink/npz/`, one folder per
    /// archive).
    fn inflated_dir(&self) -> PathBuf {
        self.root.join(".downlink").join("npz")
    }

    /// Empty the cache of inflated members (at start-up: it then holds only members of the
    /// archives served since, each once).
    ///
    /// # Errors
    /// When the folder exists but cannot be removed.
    pub fn clear_inflated(&self) -> std::io::Result<()> {
        match std::fs::remove_dir_all(self.inflated_dir()) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }

    /// The array called `name` (which must already be a valid name).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when no file or member has the name, [`StoreError::Invalid`]
    /// when the file that has it cannot be served.
    pub fn get(&self, name: &str) -> Result<Arc<StoredArray>, StoreError> {
        self.resolve(name, |path| match self.load(path) {
            Some(content) => Probe::Found(content),
            None => Probe::Absent,
        })
        .unwrap_or_else(|| Err(StoreError::NotFound(name.to_string())))
    }

    /// Several arrays resolved as one set: a write of several arrays at once
    /// ([`Store::commit_set`]) is seen whole or not at all.
    ///
    /// # Errors
    /// As [`Store::get`], for the first name that fails.
    pub fn get_set(&self, names: &[String]) -> Result<Vec<Arc<StoredArray>>, StoreError> {
        let _set = self
            .sets
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        names.iter().map(|name| self.get(name)).collect()
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

    /// Resolve a name against its candidate files: `a/b/c` is a/b/c.npy, else member c of
    /// a/b.npz, else member b/c of a.npz. `None` when a probe could not tell.
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
        match probe(&self.root.join(format!("{name}.npy"))) {
            Probe::Unknown => return None,
            Probe::Found(Content::Npy(array)) => return Some(Ok(array)),
            Probe::Found(Content::Invalid(reason)) => return Some(Err(invalid(&reason))),
            Probe::Found(Content::Npz(_)) | Probe::Absent => {}
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
                Probe::Found(Content::Npy(_)) | Probe::Absent => {}
            }
        }
        Some(Err(StoreError::NotFound(name.to_string())))
    }

    /// The file a (valid) name is stored in when written through the API.
    pub fn npy_path(&self, name: &str) -> PathBuf {
        self.root.join(format!("{name}.npy"))
    }

    /// The `.npz` group that owns `name`, if a prefix of the name is one (writes to group
    /// members are refused).
    pub fn npz_owner(&self, name: &str) -> Option<PathBuf> {
        let segments: Vec<&str> = name.split('/').collect();
        (1..segments.len())
            .map(|split| {
                self.root
                    .join(format!("{}.npz", segments[..split].join("/")))
            })
            .find(|path| std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()))
    }

    /// Forget what is cached for `path`, so the next lookup reads it again. Writers call
    /// this after every change: file clocks are coarse, and a rewrite inside one tick would
    /// otherwise look unchanged.
    pub fn invalidate(&self, path: &Path) {
        self.cache
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
    pub fn list(&self) -> Vec<Arc<StoredArray>> {
        let mut seen_paths = HashSet::new();
        let mut by_name: HashMap<String, Arc<StoredArray>> = HashMap::new();
        let walker = walkdir::WalkDir::new(&self.root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker.filter_map(Result::ok) {
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.path();
            let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
                continue;
            };
            if ext != "npy" && ext != "npz" {
                continue;
            }
            seen_paths.insert(path.to_path_buf());
            match self.load(path) {
                Some(Content::Npy(array)) => {
                    by_name.insert(array.name.clone(), array);
                }
                Some(Content::Npz(members)) => {
                    for (_, array) in members.iter() {
                        // A plain .npy of the same name shadows the member.
                        by_name
                            .entry(array.name.clone())
                            .or_insert_with(|| Arc::clone(array));
                    }
                }
                Some(Content::Invalid(_)) | None => {}
            }
        }
        self.forget_all_but(&seen_paths);
        let mut arrays: Vec<_> = by_name.into_values().collect();
        arrays.sort_by(|a, b| a.name.cmp(&b.name));
        arrays
    }

    /// [`Store::get`] off the async worker threads.
    ///
    /// # Errors
    /// What the cache knows of `path`, checked against the file's current identity.
    fn probe_cached(&self, path: &Path) -> Probe {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return Probe::Absent;
        };
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
        // lstat: a symlink is not followed, so nothing outside the directory is ever read.
        let meta = std::fs::symlink_metadata(path).ok()?;
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
        self.cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(
                path.to_path_buf(),
                Cached {
                    stamp,
                    content: content.clone(),
                },
            );
        Some(content)
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
            let cache = self.inflated_dir().join(format!("{:016x}", {
                let mut h = Fnv64::new();
                h.write(path.as_os_str().as_encoded_bytes());
                h.finish()
            }));
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

    /// The array name of a file path (without its extension), if it is a valid name.
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
