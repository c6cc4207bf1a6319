//! Appending rows to a stored `.npy` along axis 0, in place where the file allows it.
//!
//! In place: the rows go after the old data and are synced, then the header is rewritten
//! through [`Store::rewrite_header`] and synced. A crash between the two steps leaves the
//! old header, which describes the old array exactly. Otherwise (a header with no room left
//! for the longer shape, or a stored array in Fortran order, which cannot grow along axis 0
//! in place) the whole array is written once more into a new file in C order, with room in
//! its header, and renamed into place; later appends to it are in place.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::sync_dir;
use super::upload::Upload;
use crate::server::error::ApiError;
use crate::server::store::{Store, StoredArray};
use crate::wire::convert::fortran_elements;
use crate::wire::npy::{NpyHeader, MAX_DATA_OFFSET};

/// Extra header room a rewritten file gets, so the next appends are in place.
const HEADER_ROOM: usize = 128;

/// Whether rows of `add` can be appended to `stored`: the same dtype and trailing shape.
/// Memory order does not matter: Fortran-order rows are reordered on the way in.
///
/// # Errors
/// 409 for another dtype, another trailing shape or a 0-d array.
pub(super) fn check_appendable(stored: &NpyHeader, add: &NpyHeader) -> Result<(), ApiError> {
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
    Ok(())
}

/// Append the upload's rows to `stored`, the current version of the file at `target` (see
/// the module docs). `spare` is a temporary path for a rewrite.
pub(super) fn append_file(
    store: &Store,
    target: &Path,
    stored: &StoredArray,
    upload: &Upload,
    spare: &Path,
) -> std::io::Result<()> {
    let mut header = stored.header.clone();
    header.shape[0] = header.shape[0]
        .checked_add(upload.header.shape[0])
        .ok_or_else(|| std::io::Error::other("the array would be too long"))?;
    header.data_len().map_err(invalid)?;
    let reorder = stored.header.fortran_order && stored.header.shape.len() > 1;
    if !reorder {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(target)?;
        let offset = header_len(&file)?;
        let grown = header.to_bytes_with_capacity(offset);
        if grown.len() == offset {
            // Rows after the old data (over any bytes an interrupted append left), durable,
            // then the header.
            file.seek(SeekFrom::Start(offset as u64 + stored.data.len() as u64))?;
            std::io::copy(&mut upload.rows_in_c_order()?, &mut file)?;
            file.sync_data()?;
            store.rewrite_header(&file, &grown)?;
            return file.sync_data();
        }
    }
    header.fortran_order = false;
    rewrite(target, &header, stored, upload, spare)
}

/// The length of the `.npy` header at the start of `file` (its data offset).
fn header_len(file: &File) -> std::io::Result<usize> {
    let mut prefix = Vec::with_capacity(MAX_DATA_OFFSET);
    file.take(MAX_DATA_OFFSET as u64).read_to_end(&mut prefix)?;
    NpyHeader::parse(&prefix)
        .map(|(_, offset)| offset)
        .map_err(invalid)
}

/// Write `stored` and the upload's rows as one new C-order file under `header`, and rename
/// it over `target`.
fn rewrite(
    target: &Path,
    header: &NpyHeader,
    stored: &StoredArray,
    upload: &Upload,
    spare: &Path,
) -> std::io::Result<()> {
    let natural = header.to_bytes().len();
    let mut out = std::io::BufWriter::new(File::create(spare)?);
    let written = (|| {
        out.write_all(&header.to_bytes_with_capacity(natural + HEADER_ROOM))?;
        let old = &stored.header;
        if old.fortran_order && old.shape.len() > 1 {
            for element in fortran_elements(&stored.data, &old.shape, old.dtype.itemsize()) {
                out.write_all(element)?;
            }
        } else {
            out.write_all(&stored.data)?;
        }
        std::io::copy(&mut upload.rows_in_c_order()?, &mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(spare, target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(spare);
    }
    written?;
    sync_dir(target.parent().unwrap_or(Path::new(".")))
}

fn invalid(err: crate::wire::WireError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, err.to_string())
}
