//! Helpers shared by the router tests (`tests/integration/api.rs`, `tests/integration/write.rs`, `tests/integration/write_sets.rs`, ...).

#![allow(dead_code, reason = "each test file uses some of these")]

use std::path::Path;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use downlink::wire::dtype::DType;
use downlink::wire::npy::{write_npy, NpyHeader, Version};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Send `request` through the router; the status, headers and whole body of the answer.
pub async fn respond(app: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

/// An `.npy` document (C order) of `data`.
pub fn npy(descr: &str, shape: &[u64], data: &[u8]) -> Vec<u8> {
    let header = NpyHeader {
        version: Version::V1,
        dtype: DType::parse_descr(descr).unwrap(),
        fortran_order: false,
        shape: shape.to_vec(),
    };
    write_npy(&header, data).unwrap()
}

/// Write an .npy of `data` as `dir/name.npy`.
pub fn save(dir: &Path, name: &str, descr: &str, shape: &[u64], fortran: bool, data: &[u8]) {
    let header = NpyHeader {
        version: Version::V1,
        dtype: DType::parse_descr(descr).unwrap(),
        fortran_order: fortran,
        shape: shape.to_vec(),
    };
    let path = dir.join(format!("{name}.npy"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, write_npy(&header, data).unwrap()).unwrap();
}

/// `values` as little-endian f64 bytes.
pub fn f64s(values: impl IntoIterator<Item = f64>) -> Vec<u8> {
    values.into_iter().flat_map(f64::to_le_bytes).collect()
}

/// Runs `task` on a worker of the server's own runtime (whose stacks hold a debug build's
/// page render; a test thread's 2 MiB may not).
pub fn on_server_runtime<F>(task: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let runtime = downlink::server::runtime().expect("runtime");
    runtime
        .block_on(async move { tokio::spawn(task).await })
        .expect("the task did not panic");
}
