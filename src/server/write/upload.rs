//! Receiving an upload: the body streamed to a temporary file under the size limit, then
//! validated as a whole `.npy` document before anything stored is touched.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{header, HeaderMap};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::Writer;
use crate::server::error::ApiError;
use crate::server::task::blocking;
use crate::wire::convert::fortran_to_c;
use crate::wire::npy::{check_upload, NpyHeader, MAX_DATA_OFFSET};

/// Content types a write accepts.
pub const ACCEPTED_TYPES: [&str; 2] = ["application/x-npy", "application/octet-stream"];

/// A temporary upload file, deleted on drop unless kept.
pub(super) struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl TempFile {
    /// A temporary file at `path` (not created yet), deleted on drop.
    pub(super) fn new(path: PathBuf) -> TempFile {
        TempFile { path, keep: false }
    }

    /// Where it is.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Keep the file (it is about to be renamed into place); its path.
    pub(super) fn keep(mut self) -> PathBuf {
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
pub(super) struct Upload {
    /// The whole body, on disk.
    pub(super) file: TempFile,
    /// The upload's `.npy` header, validated against its length.
    pub(super) header: NpyHeader,
    /// Where its data starts in the file.
    pub(super) data_offset: u64,
    /// Bytes of data (exactly what the header says).
    pub(super) data_len: u64,
}

impl Upload {
    /// The data bytes, as they are in the file.
    pub(super) fn data(&self) -> std::io::Result<impl Read> {
        let mut file = File::open(&self.file.path)?;
        file.seek(SeekFrom::Start(self.data_offset))?;
        Ok(file.take(self.data_len))
    }

    /// The data in C order. Rows uploaded in Fortran order (2-D and up) are reordered in
    /// memory, which the upload limit bounds; all others stream from the file.
    pub(super) fn rows_in_c_order(&self) -> std::io::Result<Box<dyn Read + '_>> {
        let header = &self.header;
        if !(header.fortran_order && header.shape.len() > 1) {
            return Ok(Box::new(self.data()?));
        }
        let mut data = Vec::new();
        self.data()?.read_to_end(&mut data)?;
        let reordered = fortran_to_c(&data, &header.shape, header.dtype.itemsize());
        Ok(Box::new(std::io::Cursor::new(reordered)))
    }
}

/// The media type of a request, lower-case and without parameters.
pub(super) fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// Stream a request body to a temporary file and validate it as one `.npy` document.
/// `durable`: sync the file to disk (a PUT renames it into place; an append copies it into a
/// file it then syncs).
///
/// # Errors
/// 415 for another content type, 413 over the limit, 400 for an interrupted body, 408 for a
/// stalled one, 422 for a body that is not a valid `.npy` document, 500 when the temporary
/// file cannot be written.
pub(super) async fn receive(
    writer: &Writer,
    headers: &HeaderMap,
    body: Body,
    durable: bool,
) -> Result<Upload, ApiError> {
    let (file, total) = receive_body(writer, headers, body, &ACCEPTED_TYPES, durable).await?;
    let path = file.path.clone();
    let (header, data_offset) = blocking(move || validate(&path, total)).await?;
    let data_len = header.data_len().map_err(ApiError::BadUpload)?;
    Ok(Upload {
        file,
        header,
        data_offset: data_offset as u64,
        data_len,
    })
}

/// Stream a request body of one of the `accepted` media types to a temporary file under the
/// upload limit; the file and its length. Nothing is validated but the type and the size.
///
/// # Errors
/// As [`receive`], but for the validation.
pub(super) async fn receive_body(
    writer: &Writer,
    headers: &HeaderMap,
    body: Body,
    accepted: &[&str],
    durable: bool,
) -> Result<(TempFile, u64), ApiError> {
    let content_type = content_type(headers);
    if !content_type
        .as_deref()
        .is_some_and(|t| accepted.contains(&t))
    {
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type must be {} (got {})",
            accepted.join(" or "),
            content_type.as_deref().unwrap_or("none")
        )));
    }
    let max = writer.config().max_upload;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(too_large(max));
    }

    tokio::fs::create_dir_all(writer.tmp_dir())
        .await
        .map_err(ApiError::Storage)?;
    let temp = TempFile::new(writer.temp_path());
    let mut file = tokio::fs::File::create(&temp.path)
        .await
        .map_err(ApiError::Storage)?;
    let mut stream = body.into_data_stream();
    let mut total: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| {
            if stalled(&err) {
                return ApiError::Timeout;
            }
            ApiError::BadParam(format!(
                "the upload was interrupted: {err}; nothing was stored"
            ))
        })?;
        total += chunk.len() as u64;
        if total > max {
            return Err(too_large(max));
        }
        file.write_all(&chunk).await.map_err(ApiError::Storage)?;
    }
    file.flush().await.map_err(ApiError::Storage)?;
    if durable {
        file.sync_all().await.map_err(ApiError::Storage)?;
    }
    Ok((temp, total))
}

/// 413: over the upload limit of `max` bytes.
pub(super) fn too_large(max: u64) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the upload is over the limit of {max} bytes (DOWNLINK_MAX_UPLOAD); nothing was stored"
    ))
}

/// Whether a body error is the body timeout's (the upload stalled; see `server::limits`).
fn stalled(err: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(error) = cause {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// Check the upload at `path`, `total` bytes long, from its first bytes.
fn validate(path: &Path, total: u64) -> Result<(NpyHeader, usize), ApiError> {
    check_file(path, total)
        .map_err(ApiError::Storage)?
        .map_err(ApiError::BadUpload)
}

/// Check the `.npy` document in the file at `path` (`total` bytes) as an upload is checked:
/// the outer error is the file system's, the inner one the document's.
pub(super) fn check_file(
    path: &Path,
    total: u64,
) -> std::io::Result<Result<(NpyHeader, usize), crate::wire::WireError>> {
    let mut prefix = Vec::with_capacity(MAX_DATA_OFFSET);
    File::open(path)?
        .take(MAX_DATA_OFFSET as u64)
        .read_to_end(&mut prefix)?;
    Ok(check_upload(&prefix, total))
}
