//! The site's static files, as a deployed app serves them.
//!
//! - **Precompressed.** At start-up a background thread writes `NAME.br` (brotli, quality
//!   11) and `NAME.gz` (gzip, level 9) beside each `.wasm`, `.js` and `.css` file of the
//!   site that lacks them or has them older than itself; each is written to a temporary
//!   name and renamed, so a half-written file is never served. The static file handler
//!   (leptos_axum's, a tower-http `ServeDir`) then answers `Accept-Encoding: br` or `gzip`
//!   with them, and anything else with the file itself. A site folder the server cannot
//!   write to is served uncompressed, with one warning.
//! - **Cached for good when hashed.** cargo-leptos' `hash-files` names each build's JS, wasm
//!   and CSS by their content (`downlink.<hash>.wasm`, the hashes in `hash.txt` beside the
//!   server binary); those go out `Cache-Control: public, max-age=31536000, immutable`.
//!   Anything else under `/pkg/` gets `no-cache` (kept, revalidated with
//!   `If-Modified-Since`), and everything `Vary: Accept-Encoding`.
//!
//! The site is not embedded in the binary: `LEPTOS_SITE_ROOT` (default `target/site`)
//! names the folder `cargo leptos build --release` writes, and a deployment ships it
//! beside the binary (README, "Deploying").

use std::io::Write;
use std::path::{Path, PathBuf};

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::services::ServeDir;

/// Extensions of the files worth compressing.
const COMPRESSIBLE: [&str; 3] = ["wasm", "js", "css"];

/// Remove the stale `.br` and `.gz` files under `root` now (a new build must never be
/// answered with the last one's bytes), then write the missing ones on a thread of its own
/// (start-up does not wait for it; until then those files go out uncompressed).
pub fn precompress_in_background(root: PathBuf) {
    for path in files(&root) {
        for suffix in ["br", "gz"] {
            let compressed = PathBuf::from(format!("{}.{suffix}", path.display()));
            if compressed.exists() && !fresh(&compressed, &path) {
                if let Err(err) = std::fs::remove_file(&compressed) {
                    tracing::warn!(path = %compressed.display(), "cannot remove a stale compressed file: {err}");
                }
            }
        }
    }
    let spawned = std::thread::Builder::new()
        .name("precompress".into())
        .spawn(move || {
            let written = precompress(&root);
            if written > 0 {
                tracing::info!(dir = %root.display(), written, "precompressed the site's files");
            }
        });
    if let Err(err) = spawned {
        tracing::warn!("cannot start precompressing the site: {err}");
    }
}

/// Write the missing or stale compressed files under `root`; how many it wrote.
pub fn precompress(root: &Path) -> usize {
    let mut written = 0;
    for path in files(root) {
        for (suffix, compress) in [("br", brotli_of as fn(&[u8]) -> Vec<u8>), ("gz", gzip_of)] {
            let target = PathBuf::from(format!("{}.{suffix}", path.display()));
            if fresh(&target, &path) {
                continue;
            }
            match std::fs::read(&path)
                .and_then(|bytes| write_atomically(&target, &compress(&bytes)))
            {
                Ok(()) => written += 1,
                Err(err) => {
                    tracing::warn!(path = %target.display(), "cannot precompress the site; serving it uncompressed: {err}");
                    return written;
                }
            }
        }
    }
    written
}

/// The compressible files under `root`.
fn files(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|path| {
            path.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| COMPRESSIBLE.contains(&e))
        })
        .collect()
}

/// Whether `compressed` exists and is at least as new as `source`.
fn fresh(compressed: &Path, source: &Path) -> bool {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    matches!((modified(compressed), modified(source)), (Some(c), Some(s)) if c >= s)
}

fn write_atomically(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = PathBuf::from(format!("{}.{}.part", target.display(), std::process::id()));
    let written = std::fs::File::create(&temp).and_then(|mut file| file.write_all(bytes));
    match written.and_then(|()| std::fs::rename(&temp, target)) {
        Ok(()) => Ok(()),
        Err(err) => {
            let _ = std::fs::remove_file(&temp);
            Err(err)
        }
    }
}

fn brotli_of(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    // Writing into a Vec cannot fail.
    let _ = brotli::BrotliCompress(&mut &bytes[..], &mut out, &params);
    out
}

fn gzip_of(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        flate2::Compression::best(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The hash file cargo-leptos writes beside the server binary when it hashes file names.
pub fn hash_file(options: &leptos::prelude::LeptosOptions) -> Option<PathBuf> {
    Some(
        std::env::current_exe()
            .ok()?
            .parent()?
            .join(&*options.hash_file),
    )
}

/// Whether a file name carries a content hash, as cargo-leptos' `hash-files` writes them
/// (`downlink.0b5c2e1f9a8d7c6b.wasm`: the output name, the hash, the extension).
pub fn is_hashed(file_name: &str) -> bool {
    let parts: Vec<&str> = file_name.split('.').collect();
    parts.len() >= 3
        && parts[parts.len() - 2].len() >= 8
        && parts[parts.len() - 2]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The service of `/pkg/`: the files under `SITE_ROOT/pkg`, their `.br` or `.gz` as the
/// client's `Accept-Encoding` allows, with `Last-Modified` and 304 to `If-Modified-Since`,
/// and the caching headers of [`cache_headers`].
pub fn pkg_service(options: &leptos::prelude::LeptosOptions) -> axum::Router {
    let dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    axum::Router::new()
        .fallback_service(ServeDir::new(dir).precompressed_br().precompressed_gzip())
        .layer(axum::middleware::from_fn(cache_headers))
}

/// `Vary: Accept-Encoding` on every `/pkg/` answer; `Cache-Control: public,
/// max-age=31536000, immutable` on a hashed name (its content never changes: a new build
/// has a new name), `no-cache` on any other (kept, but revalidated).
async fn cache_headers(request: Request, next: Next) -> Response {
    let hashed = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .is_some_and(is_hashed);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let policy = if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn compresses_what_is_missing_or_stale_and_both_decode() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = dir.path().join("pkg").join("app.wasm");
        std::fs::create_dir_all(wasm.parent().unwrap()).unwrap();
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&wasm, &body).unwrap();
        std::fs::write(dir.path().join("favicon.ico"), b"not compressed").unwrap();
        assert_eq!(precompress(dir.path()), 2);
        assert_eq!(precompress(dir.path()), 0, "fresh files are kept");

        let br = std::fs::read(dir.path().join("pkg/app.wasm.br")).unwrap();
        let mut inflated = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut inflated).unwrap();
        assert_eq!(inflated, body);
        let gz = std::fs::read(dir.path().join("pkg/app.wasm.gz")).unwrap();
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(inflated, body);
        assert!(br.len() < body.len() / 10 && gz.len() < body.len() / 5);
        assert!(!dir.path().join("favicon.ico.br").exists());
    }

    #[test]
    fn hashed_names_are_told_apart() {
        assert!(is_hashed("downlink.3fJ9kq0aZ1bX.wasm"));
        assert!(is_hashed("downlink.0b5c2e1f9a8d7c6b.css"));
        assert!(!is_hashed("downlink.wasm"));
        assert!(!is_hashed("downlink_bg.wasm"));
        assert!(!is_hashed("downlink.d.ts"));
    }
}
