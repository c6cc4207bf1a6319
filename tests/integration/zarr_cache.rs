//! The disk bound of the Zarr decode caches (`--decode-cache-max`): past it, the least
//! recently used other stores are dropped and decoded again when next read.
#![cfg(feature = "ssr")]

use std::path::Path;

use crate::common;
use common::{f64s, respond as send};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use downlink::lod::LodAnswer;
use downlink::server::limits::Limits;
use downlink::server::store::Store;
use downlink::server::write::WriteConfig;
use downlink::server::{router, AppState};
use leptos::prelude::LeptosOptions;

const ROWS: u64 = 100_000;
const CHUNK: u64 = 10_000;

/// A Zarr v3 array of `ROWS` float64 (`value(i)`) in chunks of `CHUNK`, with the plain
/// bytes codec, as zarr-python writes it, in `DIR/name.zarr/`.
fn zarr_array(root: &Path, name: &str, value: impl Fn(u64) -> f64) {
    let dir = root.join(format!("{name}.zarr"));
    std::fs::create_dir_all(dir.join("c")).unwrap();
    let meta = serde_json::json!({
        "zarr_format": 3, "node_type": "array", "shape": [ROWS], "data_type": "float64",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [CHUNK]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0.0,
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
    });
    std::fs::write(dir.join("zarr.json"), meta.to_string()).unwrap();
    for chunk in 0..ROWS / CHUNK {
        let rows = chunk * CHUNK..(chunk + 1) * CHUNK;
        std::fs::write(
            dir.join("c").join(chunk.to_string()),
            f64s(rows.map(&value)),
        )
        .unwrap();
    }
}

/// The decode cache files on disk.
fn decoded_files(root: &Path) -> usize {
    walkdir::WalkDir::new(root.join(".downlink").join("zarr"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .count()
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Vec<u8>) {
    let (status, _, body) = send(app, Request::get(uri).body(Body::empty()).unwrap()).await;
    (status, body)
}

fn values(body: &[u8]) -> Vec<f64> {
    body.chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn decoded_stores_stay_within_the_bound_and_read_right_after_being_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    zarr_array(root, "a", |i| i as f64);
    zarr_array(root, "b", |i| -(i as f64));
    let store = Store::new(root);
    let budget = std::sync::Arc::clone(store.decode_budget());
    // Room for one decoded array (800 kB) and not two.
    let limits = Limits {
        decode_cache_max: 1 << 20,
        ..Limits::default()
    };
    let options = LeptosOptions::builder().output_name("downlink").build();
    let app = router(AppState::over(
        options,
        store,
        WriteConfig::default(),
        &limits,
    ));
    let whole_a: Vec<f64> = (0..ROWS).map(|i| i as f64).collect();

    let (status, body) = get(&app, "/api/arrays/a?format=raw").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(values(&body), whole_a);
    let (_, body) = get(&app, "/api/lod/a?bins=10").await;
    let lod_a = LodAnswer::decode(&body).unwrap();
    assert_eq!(budget.used(), ROWS * 8);
    assert_eq!(decoded_files(root), 1);

    // Decoding b takes the total past the bound: a's decode cache goes.
    let (_, body) = get(&app, "/api/arrays/b?slice=99998:&format=raw").await;
    assert_eq!(values(&body), [-99_998.0, -99_999.0]);
    let (_, body) = get(&app, "/api/arrays/b?format=raw").await;
    assert_eq!(values(&body).len(), ROWS as usize);
    assert!(budget.used() <= 1 << 20, "{} bytes charged", budget.used());
    assert_eq!(decoded_files(root), 1, "a's file was removed");

    // a reads right again (decoded afresh), its chart too; now b is the one dropped.
    let (_, body) = get(&app, "/api/lod/a?bins=10").await;
    assert_eq!(LodAnswer::decode(&body).unwrap(), lod_a);
    let (_, body) = get(&app, "/api/arrays/a?format=raw").await;
    assert_eq!(values(&body), whole_a);
    assert_eq!(budget.used(), ROWS * 8);
    assert_eq!(decoded_files(root), 1);
}
