//! Several arrays stored at once, all or none: `PUT /api/bundle` (a Downlink bundle body)
//! and `PUT /api/arrays/{group}` with an `.npz` body (what `np.savez` and
//! `np.savez_compressed` write). When the group is an `.npz` file already, that file is
//! replaced by the archive as sent, validated the same way (one rename).
//!
//! - **Staged first.** The body is streamed to a temporary file under the upload limit, as
//!   for one array. Every array in it is then validated and written to its own temporary
//!   `.npy` (bundle data copied, `.npz` members inflated), each synced. A malformed body, an
//!   array that cannot be stored or a name that cannot be written fails here, and only the
//!   temporaries are deleted.
//! - **Committed under a journal.** The commit writes a journal (`commit-*.json` in
//!   `DIR/.downlink/tmp/`) of every rename and removal, syncs it, then makes the renames
//!   under the store's set lock ([`Store::commit_set`]), then syncs the folders and removes
//!   the journal. A bundle read resolves all its names under the same lock, so it sees the
//!   old set or the new set, never a mix. A crash after the journal is written is finished
//!   at the next start ([`recover`]); a crash before it leaves temporaries only.
//! - **Bounded.** At most [`MAX_SET_ARRAYS`] arrays. The upload limit bounds the body and,
//!   for an `.npz`, the inflated members too, counted as they inflate, so a zip bomb stops
//!   at the limit. Entries whose data overlap (a trick of some zip bombs) are refused.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::upload::{check_file, content_type, receive_body, too_large, TempFile};
use super::{path_error, sync_dir, Writer};
use crate::catalog::{ArrayInfo, LiveEvent};
use crate::names::validate_name;
use crate::server::describe::info_of;
use crate::server::error::ApiError;
use crate::server::levels::LevelsCache;
use crate::server::store::{Store, StoredArray};
use crate::server::task::blocking;
use crate::wire::npy::{NpyHeader, Version};
use crate::wire::{bundle_header_len, bundle_spans};

/// Media type of a bundle body.
pub const BUNDLE_TYPE: &str = "application/x-downlink-bundle";
/// Media types of an `.npz` body.
pub const NPZ_TYPES: [&str; 2] = ["application/zip", "application/x-npz"];
/// Most arrays one set may hold (as many as a bundle read may ask for).
pub const MAX_SET_ARRAYS: usize = crate::server::api::MAX_BUNDLE_ARRAYS;

/// Whether a PUT's body is an `.npz` archive (a group), by its Content-Type.
pub fn is_npz(headers: &HeaderMap) -> bool {
    content_type(headers).is_some_and(|t| NPZ_TYPES.contains(&t.as_str()))
}

/// One array written to its temporary file, waiting for the commit.
struct Staged {
    name: String,
    file: TempFile,
}

/// What a commit does, written down before it starts so a crash can finish it. Paths are
/// relative: temporaries to the temporary folder, targets to the data directory.
#[derive(Serialize, Deserialize)]
struct Journal {
    renames: Vec<(String, String)>,
    removals: Vec<String>,
}

/// The answer of a set write: the arrays stored, as the listing shows them.
#[derive(Serialize)]
struct Stored {
    arrays: Vec<ArrayInfo>,
}

/// `PUT /api/bundle`: store every array of a bundle body, all or none (200).
///
/// # Errors
/// 415, 413, 408 and 400 as for one upload; 422 for a malformed bundle or an array that
/// cannot be stored; 405 for a name inside an `.npz` group; 409 where a file stands in the
/// way of a folder.
pub async fn put_bundle(
    store: &Store,
    levels: &LevelsCache,
    writer: &Writer,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    super::refuse_on_bucket(store, "a write of several arrays at once (PUT /api/bundle)")?;
    let (body, len) = receive_body(writer, headers, body, &[BUNDLE_TYPE], false).await?;
    let (checking, staging) = (store.clone(), writer.clone());
    let staged = blocking(move || stage_bundle(&checking, &staging, &body, len)).await?;
    let stored = commit(store, levels, writer, staged, Vec::new()).await?;
    Ok((StatusCode::OK, Json(Stored { arrays: stored })).into_response())
}

/// `PUT /api/arrays/{group}` with an `.npz` body: the group becomes the archive's members,
/// all or none. `.npy` files directly in the group's folder that the archive does not hold
/// are removed in the same commit. 201 when the group had no arrays, else 200.
///
/// # Errors
/// When the group is an `.npz` file already, the file is replaced by the archive as sent
/// (after the same validation): one rename, so readers see the old members or the new ones.
///
/// # Errors
/// As [`put_bundle`].
pub async fn put_npz(
    store: &Store,
    levels: &LevelsCache,
    writer: &Writer,
    group: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    super::refuse_on_bucket(store, "a PUT of an .npz group")?;
    let (body, _) = receive_body(writer, headers, body, &NPZ_TYPES, false).await?;
    let npz = store.root().join(format!("{group}.npz"));
    if std::fs::symlink_metadata(&npz).is_ok_and(|m| m.is_file()) {
        return replace_npz(store, levels, writer, group, npz, body).await;
    }
    let (checking, staging, owned) = (store.clone(), writer.clone(), group.to_string());
    let (staged, old) = blocking(move || {
        let staged = stage_npz(&checking, &staging, &owned, body.path(), None)?;
        Ok((staged, members_on_disk(&checking, &owned)))
    })
    .await?;
    let created = old.is_empty();
    let removals = old
        .into_iter()
        .filter(|name| !staged.iter().any(|s| &s.name == name))
        .collect();
    let stored = commit(store, levels, writer, staged, removals).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(Stored { arrays: stored })).into_response())
}

/// Replace the `.npz` file `npz` of `group` by the archive `body`, once every member of it
/// has been validated as [`put_npz`] does: one rename under the store's set lock, with the
/// write locks of every old and new member held; then the events (members gone, members
/// stored). 200 with the members stored.
async fn replace_npz(
    store: &Store,
    levels: &LevelsCache,
    writer: &Writer,
    group: &str,
    npz: PathBuf,
    body: TempFile,
) -> Result<Response, ApiError> {
    let (checking, staging, owned, archive) = (
        store.clone(),
        writer.clone(),
        group.to_string(),
        npz.clone(),
    );
    let (body, new, old) = blocking(move || {
        // Inflated to check, then thrown away: the archive is stored as it came.
        let staged = stage_npz(&checking, &staging, &owned, body.path(), Some(&archive))?;
        let new: Vec<String> = staged.iter().map(|s| s.name.clone()).collect();
        Ok((body, new, npz_members(&archive, &owned)))
    })
    .await?;
    let guards = lock_all(writer, new.iter().chain(&old)).await;
    let (committing, gone_names) = (store.clone(), old.clone());
    let (stored, gone) = blocking(move || {
        let gone: Vec<_> = gone_names
            .iter()
            .filter(|name| !new.contains(name))
            .filter_map(|name| committing.get(name).ok())
            .collect();
        let from = body.keep();
        committing
            .commit_set(std::slice::from_ref(&npz), || std::fs::rename(&from, &npz))
            .map_err(|err| {
                let _ = std::fs::remove_file(&from);
                ApiError::Storage(err)
            })?;
        sync_dir(npz.parent().unwrap_or(Path::new("."))).map_err(ApiError::Storage)?;
        let stored = new
            .iter()
            .map(|name| Ok(committing.get(name)?))
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok((stored, gone))
    })
    .await?;
    let arrays = announce(levels, writer, &old, &gone, &stored);
    drop(guards);
    Ok((StatusCode::OK, Json(Stored { arrays })).into_response())
}

/// The names of the `.npy` members of the archive at `path`, as arrays of `group` (none if
/// it cannot be read).
fn npz_members(path: &Path, group: &str) -> Vec<String> {
    let Ok(archive) = File::open(path).map(zip::ZipArchive::new) else {
        return Vec::new();
    };
    let Ok(archive) = archive else {
        return Vec::new();
    };
    archive
        .file_names()
        .filter_map(|file| Some(format!("{group}/{}", file.strip_suffix(".npy")?)))
        .filter(|name| validate_name(name).is_ok())
        .collect()
}

/// The arrays stored directly in `group`'s folder (`group/*.npy`), by name.
fn members_on_disk(store: &Store, group: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(store.root().join(group)) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|entry| {
            let file = entry.file_name().into_string().ok()?;
            let name = format!("{group}/{}", file.strip_suffix(".npy")?);
            validate_name(&name).is_ok().then_some(name)
        })
        .collect()
}

/// Check a name of a set: valid, not inside an `.npz` group or a Zarr store (other than
/// `replacing`, the `.npz` file the set replaces).
fn check_name(store: &Store, name: &str, replacing: Option<&Path>) -> Result<(), ApiError> {
    validate_name(name).map_err(|err| ApiError::BadSet(format!("'{name}': {err}")))?;
    let owner = store.read_only_owner(name);
    if let Some(owner) = owner.filter(|owner| Some(owner.as_path()) != replacing) {
        return Err(ApiError::MethodNotAllowed(format!(
            "'{name}' is inside {}, which is read-only; nothing was stored",
            owner.display()
        )));
    }
    Ok(())
}

fn too_many(count: usize) -> ApiError {
    ApiError::BadSet(format!(
        "it holds {count} arrays, more than the {MAX_SET_ARRAYS} one write may hold"
    ))
}

/// Validate a bundle body (the file at `body`, `len` bytes) and write each array to its own
/// temporary `.npy`.
fn stage_bundle(
    store: &Store,
    writer: &Writer,
    body: &TempFile,
    len: u64,
) -> Result<Vec<Staged>, ApiError> {
    let bad = |err: crate::wire::WireError| ApiError::BadSet(format!("not a valid bundle: {err}"));
    let mut file = File::open(body.path()).map_err(ApiError::Storage)?;
    let mut head = Vec::new();
    (&mut file)
        .take(16)
        .read_to_end(&mut head)
        .map_err(ApiError::Storage)?;
    let header_len = bundle_header_len(&head).map_err(bad)?;
    (&mut file)
        .take(header_len.saturating_sub(head.len()) as u64)
        .read_to_end(&mut head)
        .map_err(ApiError::Storage)?;
    let spans = bundle_spans(&head, len).map_err(bad)?;
    if spans.is_empty() {
        return Err(ApiError::BadSet("the bundle holds no arrays".into()));
    }
    if spans.len() > MAX_SET_ARRAYS {
        return Err(too_many(spans.len()));
    }
    let mut staged = Vec::with_capacity(spans.len());
    for span in spans {
        check_name(store, &span.name, None)?;
        let header = NpyHeader {
            version: Version::V1,
            dtype: span.dtype,
            fortran_order: false,
            shape: span.shape,
        };
        let temp = TempFile::new(writer.temp_path());
        let mut out = File::create(temp.path()).map_err(ApiError::Storage)?;
        out.write_all(&header.to_bytes())
            .map_err(ApiError::Storage)?;
        file.seek(SeekFrom::Start(span.offset))
            .map_err(ApiError::Storage)?;
        std::io::copy(&mut (&mut file).take(span.nbytes), &mut out).map_err(ApiError::Storage)?;
        out.sync_all().map_err(ApiError::Storage)?;
        staged.push(Staged {
            name: span.name,
            file: temp,
        });
    }
    Ok(staged)
}

/// Validate an `.npz` body and inflate each member to its own temporary `.npy`, counting
/// the inflated bytes against the upload limit. `replacing`: the `.npz` file of the group
/// the body will replace (its members may be named).
fn stage_npz(
    store: &Store,
    writer: &Writer,
    group: &str,
    body: &Path,
    replacing: Option<&Path>,
) -> Result<Vec<Staged>, ApiError> {
    let bad = |reason: String| ApiError::BadSet(format!("not a valid .npz: {reason}"));
    let file = File::open(body).map_err(ApiError::Storage)?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    if archive.len() > MAX_SET_ARRAYS {
        return Err(too_many(archive.len()));
    }
    let max = writer.config().max_upload;
    let mut inflated_total: u64 = 0;
    let mut spans: Vec<(u64, u64, String)> = Vec::new();
    let mut staged: Vec<Staged> = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| bad(format!("member {index} is unreadable: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let file_name = entry.name().to_string();
        let member = file_name
            .strip_suffix(".npy")
            .ok_or_else(|| bad(format!("member {file_name} is not an .npy file")))?;
        let name = format!("{group}/{member}");
        check_name(store, &name, replacing)?;
        if staged.iter().any(|s| s.name == name) {
            return Err(bad(format!("member {file_name} is in the archive twice")));
        }
        spans.push((
            entry.data_start(),
            entry.compressed_size(),
            file_name.clone(),
        ));

        let temp = TempFile::new(writer.temp_path());
        let mut out = File::create(temp.path()).map_err(ApiError::Storage)?;
        let room = max.saturating_sub(inflated_total);
        let written = std::io::copy(&mut (&mut entry).take(room + 1), &mut out)
            .map_err(|e| bad(format!("member {file_name} cannot be inflated: {e}")))?;
        if written > room {
            return Err(too_large(max));
        }
        inflated_total += written;
        out.sync_all().map_err(ApiError::Storage)?;
        drop(out);
        check_file(temp.path(), written)
            .map_err(ApiError::Storage)?
            .map_err(|e| bad(format!("member {file_name} is not a valid .npy: {e}")))?;
        staged.push(Staged { name, file: temp });
    }
    spans.sort();
    for pair in spans.windows(2) {
        let ((start, len, first), (next, _, second)) = (&pair[0], &pair[1]);
        if start.saturating_add(*len) > *next {
            return Err(bad(format!("members {first} and {second} overlap")));
        }
    }
    if staged.is_empty() {
        return Err(bad("the archive holds no .npy members".into()));
    }
    Ok(staged)
}

/// Rename the staged arrays into place and remove `removals`, all or none, with every
/// name's write lock held; then the events. The arrays stored, in staged order.
async fn commit(
    store: &Store,
    levels: &LevelsCache,
    writer: &Writer,
    staged: Vec<Staged>,
    removals: Vec<String>,
) -> Result<Vec<ArrayInfo>, ApiError> {
    let guards = lock_all(writer, staged.iter().map(|s| &s.name).chain(&removals)).await;
    let (committing, journals) = (store.clone(), writer.clone());
    let removed = removals.clone();
    let (stored, gone) = blocking(move || {
        let gone: Vec<_> = removed
            .iter()
            .filter_map(|name| committing.get(name).ok())
            .collect();
        let journal = Journal {
            renames: staged
                .iter()
                .map(|s| (file_name(s.file.path()), format!("{}.npy", s.name)))
                .collect(),
            removals: removed.iter().map(|name| format!("{name}.npy")).collect(),
        };
        for (_, target) in &journal.renames {
            let dir = committing.root().join(target);
            let dir = dir.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(|err| path_error(target, err))?;
        }
        let journal_path = journals.write_journal(&journal)?;
        for staged in staged {
            // From here the journal owns the temporaries: the next start finishes the renames.
            staged.file.keep();
        }
        let paths: Vec<PathBuf> = journal
            .renames
            .iter()
            .map(|(_, target)| target)
            .chain(&journal.removals)
            .map(|target| committing.root().join(target))
            .collect();
        let applied = committing.commit_set(&paths, || {
            apply(committing.root(), journals.tmp_dir(), &journal)
        });
        applied.map_err(ApiError::Storage)?;
        let dirs: BTreeSet<PathBuf> = paths
            .iter()
            .map(|path| path.parent().unwrap_or(Path::new(".")).to_path_buf())
            .collect();
        for dir in &dirs {
            sync_dir(dir).map_err(ApiError::Storage)?;
        }
        std::fs::remove_file(&journal_path).map_err(ApiError::Storage)?;
        let stored = journal
            .renames
            .iter()
            .map(|(_, target)| {
                let name = target.strip_suffix(".npy").unwrap_or(target);
                Ok(committing.get(name)?)
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok((stored, gone))
    })
    .await?;
    let stored = announce(levels, writer, &removals, &gone, &stored);
    drop(guards);
    Ok(stored)
}

/// The write locks of `names`, taken in name order, so two sets that share names never
/// wait for each other in a circle.
async fn lock_all<'a>(
    writer: &Writer,
    names: impl IntoIterator<Item = &'a String>,
) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
    let names: BTreeSet<&String> = names.into_iter().collect();
    let mut guards = Vec::with_capacity(names.len());
    for name in names {
        guards.push(writer.lock(name).await);
    }
    guards
}

/// After a set's commit: forget the levels of `replaced`, announce the arrays `gone` and
/// `stored`; the stored ones as the listing shows them.
fn announce(
    levels: &LevelsCache,
    writer: &Writer,
    replaced: &[String],
    gone: &[Arc<StoredArray>],
    stored: &[Arc<StoredArray>],
) -> Vec<ArrayInfo> {
    for name in replaced {
        levels.forget(name);
    }
    for array in gone {
        writer.emit(LiveEvent::Deleted(info_of(array).into()));
    }
    for array in stored {
        writer.emit(LiveEvent::Changed(info_of(array).into()));
    }
    stored.iter().map(|array| info_of(array)).collect()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Make a journal's renames and removals. A rename whose temporary is gone was made before
/// (this is how a crash is finished); a removal of a file that is gone is done.
fn apply(root: &Path, tmp: &Path, journal: &Journal) -> std::io::Result<()> {
    for (temp, target) in &journal.renames {
        let from = tmp.join(temp);
        if from.exists() {
            std::fs::rename(&from, root.join(target))?;
        }
    }
    for removal in &journal.removals {
        match std::fs::remove_file(root.join(removal)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
    }
    Ok(())
}

impl Writer {
    /// Write `journal` durably into the temporary folder: `.part` first, synced, then
    /// renamed, so the next start finds a whole journal or none.
    fn write_journal(&self, journal: &Journal) -> Result<PathBuf, ApiError> {
        let path = self.temp_path().with_extension("commit.json");
        let part = path.with_extension("part");
        let text = serde_json::to_vec(journal).map_err(|e| ApiError::Internal(e.to_string()))?;
        let mut file = File::create(&part).map_err(ApiError::Storage)?;
        file.write_all(&text).map_err(ApiError::Storage)?;
        file.sync_all().map_err(ApiError::Storage)?;
        std::fs::rename(&part, &path).map_err(ApiError::Storage)?;
        sync_dir(self.tmp_dir()).map_err(ApiError::Storage)?;
        Ok(path)
    }
}

/// Finish the commits a crash interrupted: every whole journal in `tmp` is applied and
/// removed. Called at start-up, before the temporaries are deleted.
///
/// # Errors
/// When a journal cannot be read or applied.
pub(super) fn recover(root: &Path, tmp: &Path) -> std::io::Result<usize> {
    let mut finished = 0;
    for entry in std::fs::read_dir(tmp)? {
        let path = entry?.path();
        if !path.to_string_lossy().ends_with(".commit.json") {
            continue;
        }
        let journal: Journal = serde_json::from_slice(&std::fs::read(&path)?)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        for (_, target) in &journal.renames {
            if let Some(dir) = root.join(target).parent() {
                std::fs::create_dir_all(dir)?;
            }
        }
        apply(root, tmp, &journal)?;
        std::fs::remove_file(&path)?;
        finished += 1;
    }
    Ok(finished)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crash after the journal was written and some renames made: the next start makes
    /// the rest, removes what the journal removes, and deletes the journal.
    #[test]
    fn recovery_finishes_an_interrupted_commit() {
        let root = tempfile::tempdir().unwrap();
        let tmp = root.path().join(".downlink/tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::create_dir_all(root.path().join("g")).unwrap();
        // `a` was renamed before the crash; `b` was not; `old` is to be removed.
        std::fs::write(root.path().join("g/a.npy"), b"new a").unwrap();
        std::fs::write(tmp.join("upload-1-2.npy"), b"new b").unwrap();
        std::fs::write(root.path().join("g/old.npy"), b"old").unwrap();
        let journal = Journal {
            renames: vec![
                ("upload-1-1.npy".into(), "g/a.npy".into()),
                ("upload-1-2.npy".into(), "g/sub/b.npy".into()),
            ],
            removals: vec!["g/old.npy".into()],
        };
        std::fs::write(
            tmp.join("upload-1-3.commit.json"),
            serde_json::to_vec(&journal).unwrap(),
        )
        .unwrap();
        // A journal that was never finished writing is not a commit.
        std::fs::write(tmp.join("upload-1-4.commit.part"), b"{\"renames\": [").unwrap();

        assert_eq!(recover(root.path(), &tmp).unwrap(), 1);
        assert_eq!(
            std::fs::read(root.path().join("g/a.npy")).unwrap(),
            b"new a"
        );
        assert_eq!(
            std::fs::read(root.path().join("g/sub/b.npy")).unwrap(),
            b"new b"
        );
        assert!(!root.path().join("g/old.npy").exists());
        assert!(!tmp.join("upload-1-3.commit.json").exists());
        assert!(!tmp.join("upload-1-2.npy").exists());
    }
}
