//! Reading the two kinds of file the store serves: `.npy` (header by `pread`, data from the
//! map) and `.npz` (the zip's members: stored ones sliced from the map, deflated ones
//! inflated once into the disk cache and mapped from there).

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use super::stamp::{FileStamp, Fnv64};
use super::{Source, StoredArray};
use crate::names::validate_name;
use crate::wire::npy::{parse_npy, NpyHeader, Trailing, MAX_DATA_OFFSET};

/// Numbers the temporary files of inflated members apart.
static PARTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Largest member of a deflated `.npz` that is inflated (a zip-bomb bound, in disk bytes).
pub const MAX_INFLATED_MEMBER: u64 = 4 << 30;

/// Map a whole file read-only and hand it out as shareable bytes.
pub(super) fn map_file(file: &File) -> std::io::Result<Bytes> {
    let len = file.metadata()?.len();
    if len == 0 {
        // mmap refuses zero lengths; an empty file is simply not an array.
        return Ok(Bytes::new());
    }
    // SAFETY: the map is read-only and private to this process. Of a served file, Downlink
    // only ever rewrites the `.npy` header in place (an append, under the store's header
    // lock), and nothing reads a header through a map: `read_npy_file` reads it by `pread`
    // and hands out only the data bytes after it, which no write changes while a version is
    // served (appends write after them; replacements are new files renamed into place).
    // Another program truncating or rewriting a served file is outside what any mmap-based
    // reader can defend against; the module docs say so. A Zarr array's decode cache is
    // written (by `pwrite`) only in blocks no reader has been handed yet (see `zarr`).
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(file)? };
    Ok(Bytes::from_owner(map))
}

/// A new sparse file of `len` bytes at `path` (its folder made; any file there replaced),
/// open for writing blocks into, and its map: the cache files that decoded or fetched data
/// fill as it is read.
///
/// A file already there is unlinked first, never truncated: whoever still maps it (the
/// levels of a chart, a request in flight) keeps reading its bytes.
pub(super) fn sparse_file(path: &Path, len: u64) -> std::io::Result<(File, Bytes)> {
    std::fs::create_dir_all(path.parent().unwrap_or(path))?;
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    file.set_len(len)?;
    let map = map_file(&file)?;
    Ok((file, map))
}

/// The first bytes of `file`, up to the longest `.npy` header: read with `pread`, never
/// through a map (see the module docs of the store). The caller holds the header lock.
fn read_prefix(file: &File) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mut prefix = vec![0u8; MAX_DATA_OFFSET];
    let mut filled = 0;
    while filled < prefix.len() {
        match file.read_at(&mut prefix[filled..], filled as u64)? {
            0 => break,
            n => filled += n,
        }
    }
    prefix.truncate(filled);
    Ok(prefix)
}

/// An `.npy` file: its header read whole by `pread`, its data a slice of the map. The caller
/// holds the store's header lock (shared).
pub(super) fn read_npy_file(
    name: &str,
    path: &Path,
    stamp: FileStamp,
) -> Result<StoredArray, String> {
    let file = File::open(path).map_err(|err| format!("cannot read it: {err}"))?;
    let prefix = read_prefix(&file).map_err(|err| format!("cannot read it: {err}"))?;
    let (header, offset) = NpyHeader::parse(&prefix).map_err(|e| e.to_string())?;
    let len = header.data_len().map_err(|e| e.to_string())?;
    let map = map_file(&file).map_err(|err| format!("cannot read it: {err}"))?;
    // Trailing bytes are allowed, as numpy.load allows them: an interrupted append leaves the
    // previous array intact with unused bytes after it.
    let end = (offset as u64)
        .checked_add(len)
        .filter(|end| *end <= map.len() as u64)
        .ok_or_else(|| {
            format!(
                "the data is truncated: the header needs {len} bytes after offset {offset}, the file has {}",
                map.len()
            )
        })?;
    let etag = array_etag(&stamp.etag(""), &header);
    Ok(StoredArray {
        npy_header_memo: Default::default(),
        name: name.to_string(),
        data: map.slice(offset..end as usize),
        header,
        etag,
        source: Source::Npy(path.to_path_buf()),
        filler: None,
    })
}

/// An `.npy` document held whole in `bytes` (an `.npz` member, never changed in place).
pub(super) fn read_npy_bytes(
    name: &str,
    source: Source,
    bytes: Bytes,
    etag: String,
) -> Result<StoredArray, String> {
    let view = parse_npy(&bytes, Trailing::Allow).map_err(|e| e.to_string())?;
    let start = view.data_offset;
    let end = start + view.data.len();
    Ok(StoredArray {
        npy_header_memo: Default::default(),
        name: name.to_string(),
        etag: array_etag(&etag, &view.header),
        header: view.header,
        data: bytes.slice(start..end),
        source,
        filler: None,
    })
}

/// The validator of an array version: its file's identity plus its header. The header is
/// part of it: an append rewrites the header in place, possibly within one tick of the
/// file's modification clock, and must still change the ETag.
pub(super) fn array_etag(file_etag: &str, header: &NpyHeader) -> String {
    let mut h = Fnv64::new();
    h.write(file_etag.as_bytes());
    h.write(header.dtype.descr_string().as_bytes());
    for dim in &header.shape {
        h.write(&dim.to_le_bytes());
    }
    h.write(&[u8::from(header.fortran_order)]);
    format!("{:016x}", h.finish())
}

/// The members of an `.npz` file, mapped. Deflated members are inflated into `cache`, a
/// folder of this archive's own (see [`inflated_member`]); what it held for other versions
/// of the archive is removed.
pub(super) fn read_npz(
    group: &str,
    path: &Path,
    stamp: FileStamp,
    cache: &Path,
) -> Result<Vec<(String, Arc<StoredArray>)>, String> {
    let file = File::open(path).map_err(|err| format!("cannot read it: {err}"))?;
    let bytes = map_file(&file).map_err(|err| format!("cannot read it: {err}"))?;
    let reader = std::io::Cursor::new(bytes.as_ref());
    let members = npz_members(
        group,
        path,
        reader,
        stamp,
        cache,
        |name, source, range, etag| {
            let data = bytes.slice(range.start as usize..range.end as usize);
            read_npy_bytes(name, source, data, etag)
        },
    )?;
    prune_inflated(cache, &members, stamp);
    Ok(members)
}

/// Remove from `cache` the inflated members of other versions of the archive.
pub(super) fn prune_inflated(
    cache: &Path,
    members: &[(String, Arc<StoredArray>)],
    stamp: FileStamp,
) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    let current: Vec<String> = members
        .iter()
        .filter_map(|(_, array)| match &array.source {
            Source::NpzMember { member, .. } => Some(format!("{}.npy", stamp.etag(member))),
            Source::Npy(_) | Source::Zarr { .. } => None,
        })
        .collect();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !current.contains(&name) && !name.ends_with(".part") && !name.ends_with(".bin") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A deflated member, inflated once into the disk cache and mapped from there, so its bytes
/// are page cache the kernel can drop, never the server's own memory. The file is named by
/// the member's version (`etag`) and written whole before it is renamed into place, so a
/// file found there is complete; at most [`MAX_INFLATED_MEMBER`] bytes are written.
fn inflated_member(
    member: &mut impl Read,
    file_name: &str,
    cache: &Path,
    etag: &str,
) -> Result<Bytes, String> {
    let path = cache.join(format!("{etag}.npy"));
    if let Ok(file) = File::open(&path) {
        return map_file(&file)
            .map_err(|err| format!("cannot read the inflated {file_name}: {err}"));
    }
    let failed = |err: std::io::Error| format!("zip member {file_name} cannot be inflated: {err}");
    std::fs::create_dir_all(cache).map_err(failed)?;
    // Named apart from any other load of the same member (another thread may be at it).
    let n = PARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let part = cache.join(format!("{etag}.{}-{n}.part", std::process::id()));
    let written = File::create(&part).and_then(|mut out| {
        let n = std::io::copy(&mut member.take(MAX_INFLATED_MEMBER + 1), &mut out)?;
        out.sync_all()?;
        Ok(n)
    });
    let placed = match written {
        Ok(n) if n > MAX_INFLATED_MEMBER => Err(format!(
            "zip member {file_name} inflates to more than {MAX_INFLATED_MEMBER} bytes"
        )),
        Ok(_) => std::fs::rename(&part, &path).map_err(failed),
        Err(err) => Err(failed(err)),
    };
    if let Err(reason) = placed {
        let _ = std::fs::remove_file(&part);
        return Err(reason);
    }
    let file = File::open(&path).map_err(failed)?;
    map_file(&file).map_err(failed)
}

/// The `.npy` members of the zip archive `reader` (of the file or object at `path`): a
/// stored member is made by `stored` from its byte range in the archive (checked to lie
/// inside it), a deflated one is inflated into `cache` and mapped. Members that are not
/// valid arrays are skipped with a warning; an archive that is not a valid zip is an error.
pub(super) fn npz_members<R: Read + std::io::Seek>(
    group: &str,
    path: &Path,
    mut reader: R,
    stamp: FileStamp,
    cache: &Path,
    mut stored: impl FnMut(&str, Source, std::ops::Range<u64>, String) -> Result<StoredArray, String>,
) -> Result<Vec<(String, Arc<StoredArray>)>, String> {
    let size = reader
        .seek(std::io::SeekFrom::End(0))
        .map_err(|err| format!("cannot read it: {err}"))?;
    let mut archive =
        zip::ZipArchive::new(reader).map_err(|e| format!("not a valid .npz (zip) file: {e}"))?;
    let mut members = Vec::new();
    for index in 0..archive.len() {
        let mut file = archive
            .by_index(index)
            .map_err(|e| format!("zip member {index} is unreadable: {e}"))?;
        let file_name = file.name().to_string();
        if file.is_dir() {
            continue;
        }
        let Some(member) = file_name.strip_suffix(".npy") else {
            tracing::warn!(path = %path.display(), member = %file_name, "skipping npz member that is not .npy");
            continue;
        };
        let name = format!("{group}/{member}");
        if let Err(err) = validate_name(&name) {
            tracing::warn!(path = %path.display(), member = %file_name, "skipping npz member: {err}");
            continue;
        }
        let source = Source::NpzMember {
            path: path.to_path_buf(),
            member: file_name.clone(),
        };
        let etag = stamp.etag(&file_name);
        let array = match file.compression() {
            zip::CompressionMethod::Stored => {
                let start = file.data_start();
                let range = start
                    .checked_add(file.compressed_size())
                    .filter(|end| *end <= size)
                    .map(|end| start..end)
                    .ok_or_else(|| {
                        format!("zip member {file_name} runs past the end of the file")
                    })?;
                stored(&name, source, range, etag)
            }
            _ => {
                let data = inflated_member(&mut file, &file_name, cache, &etag)?;
                read_npy_bytes(&name, source, data, etag)
            }
        };
        match array {
            Ok(array) => members.push((member.to_string(), Arc::new(array))),
            // One bad member does not hide its valid siblings.
            Err(reason) => {
                tracing::warn!(path = %path.display(), member = %file_name, "skipping npz member: {reason}");
            }
        }
    }
    Ok(members)
}
