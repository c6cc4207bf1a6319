//! A bucket as the data source (`--data s3://...`), through the router, on `object_store`'s
//! in-memory store: the same names, listing and read contract as a directory, writes that
//! replace objects whole, and POST refused with its reason. (`tests/interop/test_s3.py`
//! runs the same against a real S3 server.)
#![cfg(feature = "ssr")]

use crate::common;
use common::{f64s, npy, respond as send};

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use downlink::server::limits::Limits;
use downlink::server::store::remote::{Bucket, RECHECK};
use downlink::server::store::Store;
use downlink::server::write::WriteConfig;
use downlink::server::{router, AppState};
use downlink::wire::bundle::decode_bundle;
use downlink::wire::npy::{parse_npy, Trailing};
use leptos::prelude::LeptosOptions;
use object_store::memory::InMemory;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// An `.npz` of `members` (stored or deflated).
fn npz(deflated: bool, members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if deflated {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, doc) in members {
        out.start_file(*name, options).unwrap();
        out.write_all(doc).unwrap();
    }
    out.finish().unwrap().into_inner()
}

async fn put(objects: &InMemory, key: &str, bytes: Vec<u8>) {
    objects
        .put(&Key::from(key), PutPayload::from(bytes))
        .await
        .unwrap();
}

/// A bucket holding a few arrays under `pre/` (and one key outside it), the router over it,
/// and the bucket's store to change objects behind the server's back.
async fn app() -> (tempfile::TempDir, Arc<InMemory>, Router) {
    let objects = Arc::new(InMemory::new());
    let ramp = f64s((0..3_000_000).map(f64::from));
    put(&objects, "pre/ramp.npy", npy("<f8", &[3_000_000], &ramp)).await;
    let be: Vec<u8> = (0..12i16).flat_map(i16::to_be_bytes).collect();
    put(&objects, "pre/g/be.npy", npy(">i2", &[4, 3], &be)).await;
    let members = [
        ("a.npy", npy("<f8", &[3], &f64s([1.0, 2.0, 3.0]))),
        ("b.npy", npy("<f8", &[2], &f64s([4.0, 5.0]))),
    ];
    put(&objects, "pre/run.npz", npz(false, &members)).await;
    put(&objects, "pre/packed.npz", npz(true, &members)).await;
    put(&objects, "pre/.hidden.npy", npy("<f8", &[1], &f64s([1.0]))).await;
    put(
        &objects,
        "pre/broken.npy",
        b"\x93NUMPY\x01\x00garbage".to_vec(),
    )
    .await;
    put(&objects, "elsewhere.npy", npy("<f8", &[1], &f64s([1.0]))).await;
    let (cache, app) = app_over(Arc::clone(&objects) as Arc<dyn ObjectStore>);
    (cache, objects, app)
}

/// The router over the objects under `pre/` of `objects` (requests from loopback, so writes
/// are allowed), and its local cache directory.
fn app_over(objects: Arc<dyn ObjectStore>) -> (tempfile::TempDir, Router) {
    app_within(objects, &Default::default())
}

fn app_within(objects: Arc<dyn ObjectStore>, limits: &Limits) -> (tempfile::TempDir, Router) {
    let cache = tempfile::tempdir().unwrap();
    let bucket = Bucket::new(
        objects,
        "pre",
        "s3://memory/pre",
        tokio::runtime::Handle::current(),
    );
    let state = AppState::over(
        LeptosOptions::builder().output_name("downlink").build(),
        Store::in_bucket(bucket, cache.path()),
        WriteConfig::default(),
        limits,
    );
    let app = router(state).layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    (cache, app)
}

async fn get(app: &Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn f64s_of(doc: &[u8]) -> Vec<f64> {
    let view = parse_npy(doc, Trailing::Reject).unwrap();
    view.data
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_lists_and_serves_as_a_directory_does() {
    let (_cache, _objects, app) = app().await;
    let (status, _, body) = get(&app, "/api/arrays").await;
    assert_eq!(status, StatusCode::OK);
    let listing: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = listing["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["g/be", "packed/a", "packed/b", "ramp", "run/a", "run/b"]
    );
    let listed_etag = listing["arrays"][3]["etag"].as_str().unwrap().to_string();

    // The whole array, streamed from the bucket: 24 MB, exact.
    let (status, headers, body) = get(&app, "/api/arrays/ramp").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::ETAG].to_str().unwrap(), listed_etag);
    let values = f64s_of(&body);
    assert_eq!(values.len(), 3_000_000);
    assert!(values.iter().enumerate().all(|(i, v)| *v == i as f64));

    // 304 across requests, a slice, a conversion, a strided slice, a Range.
    let (status, _, _) = send(
        &app,
        Request::get("/api/arrays/ramp")
            .header(header::IF_NONE_MATCH, &listed_etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    let (_, _, body) = get(&app, "/api/arrays/ramp?slice=2999998:").await;
    assert_eq!(f64s_of(&body), [2_999_998.0, 2_999_999.0]);
    let (_, _, body) = get(&app, "/api/arrays/ramp?slice=10:1000000:250000").await;
    assert_eq!(f64s_of(&body), [10.0, 250_010.0, 500_010.0, 750_010.0]);
    let (_, headers, body) = get(&app, "/api/arrays/g/be?dtype=%3Cf8").await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/x-npy");
    assert_eq!(f64s_of(&body), (0..12).map(f64::from).collect::<Vec<_>>());
    let (status, headers, body) = send(
        &app,
        Request::get("/api/arrays/ramp?format=raw")
            .header(header::RANGE, "bytes=8000000-8000015")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        headers[header::CONTENT_RANGE],
        "bytes 8000000-8000015/24000000"
    );
    assert_eq!(body, f64s([1_000_000.0, 1_000_001.0]));

    // Stored and deflated .npz members; a bundle of several.
    for group in ["run", "packed"] {
        let (status, _, body) = get(&app, &format!("/api/arrays/{group}/a")).await;
        assert_eq!(status, StatusCode::OK, "{group}");
        assert_eq!(f64s_of(&body), [1.0, 2.0, 3.0]);
    }
    let (status, _, body) = get(&app, "/api/bundle?name=run/b&name=g/be&name=packed/a").await;
    assert_eq!(status, StatusCode::OK);
    let bundle = decode_bundle(&body).unwrap();
    assert_eq!(bundle.len(), 3);
    assert_eq!(bundle[0].data, f64s([4.0, 5.0]).as_slice());

    // Hidden keys, keys outside the prefix and invalid objects are not served.
    assert_eq!(
        get(&app, "/api/arrays/elsewhere").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/api/arrays/.hidden").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&app, "/api/arrays/broken").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_made_behind_the_servers_back_is_seen_within_the_recheck_time() {
    let (_cache, objects, app) = app().await;
    let (_, headers, _) = get(&app, "/api/arrays/g/be").await;
    let etag = headers[header::ETAG].clone();
    put(
        &objects,
        "pre/g/be.npy",
        npy("<f8", &[2], &f64s([7.0, 8.0])),
    )
    .await;
    tokio::time::sleep(RECHECK + std::time::Duration::from_millis(100)).await;
    let (status, headers, body) = get(&app, "/api/arrays/g/be").await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(headers[header::ETAG], etag);
    assert_eq!(f64s_of(&body), [7.0, 8.0]);
    objects.delete(&Key::from("pre/g/be.npy")).await.unwrap();
    tokio::time::sleep(RECHECK + std::time::Duration::from_millis(100)).await;
    assert_eq!(get(&app, "/api/arrays/g/be").await.0, StatusCode::NOT_FOUND);
}

fn write(method: &str, uri: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-npy")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_replace_objects_whole_and_post_says_why_it_cannot() {
    let (_cache, objects, app) = app().await;
    let doc = npy("<f8", &[3], &f64s([1.5, 2.5, 3.5]));
    let (status, _, _) = send(&app, write("PUT", "/api/arrays/new/x", doc.clone())).await;
    assert_eq!(status, StatusCode::CREATED);
    // Stored as the .npy document itself, for any S3 client to read.
    let stored = objects
        .get(&Key::from("pre/new/x.npy"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(stored.as_ref(), doc.as_slice());
    let (_, _, body) = get(&app, "/api/arrays/new/x").await;
    assert_eq!(f64s_of(&body), [1.5, 2.5, 3.5]);
    let (status, _, _) = send(
        &app,
        write("PUT", "/api/arrays/new/x", npy("<f8", &[1], &f64s([9.0]))),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f64s_of(&get(&app, "/api/arrays/new/x").await.2), [9.0]);

    // A malformed body stores nothing and leaves the object as it was.
    let (status, _, _) = send(
        &app,
        write("PUT", "/api/arrays/new/x", b"\x93NUMPY nonsense".to_vec()),
    )
    .await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(f64s_of(&get(&app, "/api/arrays/new/x").await.2), [9.0]);

    let (status, _, body) = send(
        &app,
        write("POST", "/api/arrays/new/x", npy("<f8", &[1], &f64s([1.0]))),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let message = String::from_utf8_lossy(&body);
    assert!(message.contains("object store"), "{message}");

    let delete = || {
        Request::delete("/api/arrays/new/x")
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&app, delete()).await.0, StatusCode::NO_CONTENT);
    assert!(objects.head(&Key::from("pre/new/x.npy")).await.is_err());
    assert_eq!(
        get(&app, "/api/arrays/new/x").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(send(&app, delete()).await.0, StatusCode::NOT_FOUND);
    // Members of a group in the bucket are read-only, as in a directory.
    let (status, _, _) = send(&app, write("PUT", "/api/arrays/run/a", doc)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_object_replaced_mid_read_fails_the_read_never_mixes_versions() {
    let (_cache, objects, app) = app().await;
    // The server knows this version; then the object is replaced before its data is read.
    assert_eq!(get(&app, "/api/arrays/run/a").await.0, StatusCode::OK);
    let (status, _, _) = get(&app, "/api/arrays/ramp?slice=0:1").await;
    assert_eq!(status, StatusCode::OK);
    let other = f64s((0..3_000_000).map(|i| -f64::from(i)));
    put(&objects, "pre/ramp.npy", npy("<f8", &[3_000_000], &other)).await;
    let response = downlink_body(&app, "/api/arrays/ramp").await;
    // Within the recheck time the old version's identity is trusted; its bytes are gone,
    // so the conditional GET fails and the body errors rather than sending new bytes
    // under the old header and ETag.
    assert!(response.is_err(), "the body should have failed");
}

/// The body of a GET, or the error the body stream ended with.
async fn downlink_body(app: &Router, uri: &str) -> Result<Vec<u8>, String> {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .map_err(|err| err.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zarr_store_in_the_bucket_is_served_as_in_a_directory() {
    let (_cache, objects, app) = app().await;
    // A Zarr v3 array as zarr-python writes it with the plain bytes codec: 6 float64
    // values in chunks of 4 (the last chunk padded with the fill value).
    let meta = serde_json::json!({
        "zarr_format": 3, "node_type": "array", "shape": [6], "data_type": "float64",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0.0,
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
    });
    let group = serde_json::json!({"zarr_format": 3, "node_type": "group"});
    put(
        &objects,
        "pre/z.zarr/zarr.json",
        group.to_string().into_bytes(),
    )
    .await;
    put(
        &objects,
        "pre/z.zarr/v/zarr.json",
        meta.to_string().into_bytes(),
    )
    .await;
    put(&objects, "pre/z.zarr/v/c/0", f64s([0.0, 1.0, 2.0, 3.0])).await;
    put(&objects, "pre/z.zarr/v/c/1", f64s([4.0, 5.0, 0.0, 0.0])).await;

    let (_, _, body) = get(&app, "/api/arrays").await;
    let listing: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(listing["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "z/v" && a["shape"] == serde_json::json!([6])));
    let (status, _, body) = get(&app, "/api/arrays/z/v").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f64s_of(&body), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    let (_, _, body) = get(&app, "/api/arrays/z/v?slice=3:5").await;
    assert_eq!(f64s_of(&body), [3.0, 4.0]);
    // Read-only, as in a directory.
    let (status, _, _) = send(
        &app,
        write("PUT", "/api/arrays/z/v", npy("<f8", &[1], &f64s([1.0]))),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // A chunk rewritten by another program is seen within the recheck time.
    put(&objects, "pre/z.zarr/v/c/0", f64s([9.0, 9.0, 9.0, 9.0])).await;
    tokio::time::sleep(RECHECK + std::time::Duration::from_millis(100)).await;
    let (_, _, body) = get(&app, "/api/arrays/z/v?slice=0:2").await;
    assert_eq!(f64s_of(&body), [9.0, 9.0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_of_a_big_fortran_order_array_read_right_from_the_bucket() {
    use downlink::wire::dtype::DType;
    use downlink::wire::npy::{write_npy, NpyHeader, Version};
    let (_cache, objects, app) = app().await;
    // (600000, 3) float64 in Fortran order: 14.4 MB, two fetch blocks; element (i, j) is
    // i + j * 1e6, stored column after column.
    let rows = 600_000u64;
    let data = f64s((0..3).flat_map(|j| (0..rows).map(move |i| i as f64 + j as f64 * 1e6)));
    let header = NpyHeader {
        version: Version::V1,
        dtype: DType::parse_descr("<f8").unwrap(),
        fortran_order: true,
        shape: vec![rows, 3],
    };
    put(&objects, "pre/cols.npy", write_npy(&header, &data).unwrap()).await;
    let (status, _, body) = get(&app, "/api/arrays/cols?slice=599998:").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        f64s_of(&body),
        [
            599_998.0,
            1_599_998.0,
            2_599_998.0,
            599_999.0,
            1_599_999.0,
            2_599_999.0
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_members_of_a_bundle_are_fetched_at_once() {
    use object_store::throttle::{ThrottleConfig, ThrottledStore};
    let objects = Arc::new(ThrottledStore::new(
        InMemory::new(),
        ThrottleConfig::default(),
    ));
    for i in 0..4 {
        let doc = npy("<f8", &[3], &f64s([f64::from(i); 3]));
        objects
            .put(&Key::from(format!("pre/m{i}.npy")), PutPayload::from(doc))
            .await
            .unwrap();
    }
    let (_cache, app) = app_over(Arc::clone(&objects) as Arc<dyn ObjectStore>);
    // The headers are known (a listing read them); then every GET takes 300 ms.
    assert_eq!(get(&app, "/api/arrays").await.0, StatusCode::OK);
    objects.config_mut(|c| c.wait_get_per_call = std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    let (status, _, body) = get(&app, "/api/bundle?name=m0&name=m1&name=m2&name=m3").await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    let bundle = decode_bundle(&body).unwrap();
    for (i, item) in bundle.iter().enumerate() {
        assert_eq!(item.data, f64s([i as f64; 3]).as_slice());
    }
    // One after the other would take 1.2 s.
    assert!(took < std::time::Duration::from_millis(800), "{took:?}");
}

/// An in-memory store whose next `failures` range GETs fail, as a network blip would; and
/// while `down`, every GET, HEAD and listing fails, as when the store cannot be reached.
#[derive(Debug, Default)]
struct Flaky {
    inner: InMemory,
    failures: std::sync::atomic::AtomicUsize,
    down: std::sync::atomic::AtomicBool,
}

impl Flaky {
    fn is_down(&self) -> bool {
        self.down.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn refused() -> object_store::Error {
    object_store::Error::Generic {
        store: "Flaky",
        source: "connection refused".into(),
    }
}

impl std::fmt::Display for Flaky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Flaky")
    }
}

#[async_trait::async_trait]
impl ObjectStore for Flaky {
    async fn put_opts(
        &self,
        location: &Key,
        payload: PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Key,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Key,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        use std::sync::atomic::Ordering;
        if self.is_down() {
            return Err(refused());
        }
        let ranged = options.range.is_some();
        if ranged && self.failures.load(Ordering::SeqCst) > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Err(object_store::Error::Generic {
                store: "Flaky",
                source: "connection reset".into(),
            });
        }
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: futures_util::stream::BoxStream<'static, object_store::Result<Key>>,
    ) -> futures_util::stream::BoxStream<'static, object_store::Result<Key>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&Key>,
    ) -> futures_util::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>>
    {
        if self.is_down() {
            return futures_util::StreamExt::boxed(futures_util::stream::once(async {
                Err(refused())
            }));
        }
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&Key>,
    ) -> object_store::Result<object_store::ListResult> {
        if self.is_down() {
            return Err(refused());
        }
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Key,
        to: &Key,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_network_blip_reading_a_header_is_not_remembered_past_the_recheck() {
    let objects = Arc::new(Flaky::default());
    let doc = npy("<f8", &[2], &f64s([1.0, 2.0]));
    objects
        .put(&Key::from("pre/x.npy"), PutPayload::from(doc))
        .await
        .unwrap();
    let (_cache, app) = app_over(Arc::clone(&objects) as Arc<dyn ObjectStore>);
    // The header read fails once: that request cannot be answered...
    objects
        .failures
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let (status, _, _) = get(&app, "/api/arrays/x").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    // ...but once the recheck time is past, the object (unchanged) is read again.
    tokio::time::sleep(RECHECK + std::time::Duration::from_millis(100)).await;
    let (status, _, body) = get(&app, "/api/arrays/x").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f64s_of(&body), [1.0, 2.0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_that_does_not_answer_is_a_502_never_a_bad_or_missing_array() {
    use std::sync::atomic::Ordering;
    let objects = Arc::new(Flaky::default());
    let x = f64s((0..1000).map(f64::from));
    objects
        .put(
            &Key::from("pre/x.npy"),
            PutPayload::from(npy("<f8", &[1000], &x)),
        )
        .await
        .unwrap();
    let (_cache, app) = app_over(Arc::clone(&objects) as Arc<dyn ObjectStore>);
    let error_of = |body: &[u8]| -> String {
        let json: serde_json::Value = serde_json::from_slice(body).unwrap();
        json["error"].as_str().unwrap().to_string()
    };

    // The store is down: the listing is not "no arrays", the array is not "not found"
    // nor "malformed", and its chart's data says the same.
    objects.down.store(true, Ordering::SeqCst);
    let (status, _, body) = get(&app, "/api/arrays").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let error = error_of(&body);
    assert!(
        error.contains("cannot be listed now") && error.contains("connection refused"),
        "{error}"
    );
    for uri in [
        "/api/arrays/x",
        "/api/lod/x?start=0&stop=1000&bins=10",
        "/zarr/x/zarr.json",
    ] {
        let (status, _, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{uri}");
        let error = error_of(&body);
        assert!(error.contains("cannot be read now"), "{uri}: {error}");
    }

    // Back up: nothing of the outage was remembered.
    objects.down.store(false, Ordering::SeqCst);
    let (status, _, body) = get(&app, "/api/arrays/x").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f64s_of(&body), (0..1000).map(f64::from).collect::<Vec<_>>());

    // The header is known, but the rows a strided slice needs do not come.
    objects.failures.store(1000, Ordering::SeqCst);
    let (status, _, body) = get(&app, "/api/arrays/x?slice=::2").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(error_of(&body).contains("x"), "{}", error_of(&body));
    objects.failures.store(0, Ordering::SeqCst);
    let (status, _, body) = get(&app, "/api/arrays/x?slice=::2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        f64s_of(&body),
        (0..1000).step_by(2).map(f64::from).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_of_other_blocks_does_not_wait_for_another_readers_fetch() {
    use object_store::throttle::{ThrottleConfig, ThrottledStore};
    const BLOCK: usize = 8 << 20;
    let objects = Arc::new(ThrottledStore::new(
        InMemory::new(),
        ThrottleConfig::default(),
    ));
    // 20 blocks of u8, byte i holding i % 251.
    let data: Vec<u8> = (0..20 * BLOCK).map(|i| (i % 251) as u8).collect();
    let doc = npy("|u1", &[data.len() as u64], &data);
    objects
        .put(&Key::from("pre/x.npy"), PutPayload::from(doc))
        .await
        .unwrap();
    let (_cache, app) = app_over(Arc::clone(&objects) as Arc<dyn ObjectStore>);
    // The header is known (a listing read it); then every GET takes 300 ms.
    assert_eq!(get(&app, "/api/arrays").await.0, StatusCode::OK);
    objects.config_mut(|c| c.wait_get_per_call = std::time::Duration::from_millis(300));

    // A strided slice of the first 16 blocks: 2 rounds of 8 GETs at once, about 600 ms.
    let first = (0, 16 * BLOCK - 1);
    let slow = tokio::spawn({
        let app = app.clone();
        async move {
            let uri = format!(
                "/api/arrays/x?slice={}:{}:{}",
                first.0,
                first.1 + 1,
                first.1
            );
            get(&app, &uri).await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // Meanwhile, two bytes of the last block: one GET of its own.
    let at = 19 * BLOCK + 5;
    let started = std::time::Instant::now();
    let (status, _, body) = get(&app, &format!("/api/arrays/x?slice={at}:{}:2", at + 4)).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    let view = parse_npy(&body, Trailing::Reject).unwrap();
    assert_eq!(view.data, [(at % 251) as u8, ((at + 2) % 251) as u8]);
    // Waiting for the other reader's fetch to end first would take 900 ms.
    assert!(took < std::time::Duration::from_millis(550), "{took:?}");

    let (status, _, body) = slow.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let view = parse_npy(&body, Trailing::Reject).unwrap();
    assert_eq!(view.data, [0, (first.1 % 251) as u8]);
}

/// Bytes of disk the fetched-block files under `dir` take (they are sparse).
fn fetched_on_disk(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "bin"))
        .map(|e| e.metadata().unwrap().blocks() * 512)
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn fetched_blocks_stay_within_the_cache_bound() {
    const BLOCK: usize = 8 << 20;
    let objects = Arc::new(InMemory::new());
    // Three arrays of 2 blocks of u8 each; the bound holds 3 blocks.
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        let data: Vec<u8> = (0..2 * BLOCK).map(|j| ((i + j) % 251) as u8).collect();
        let doc = npy("|u1", &[data.len() as u64], &data);
        put(&objects, &format!("pre/{name}.npy"), doc).await;
    }
    let limits = Limits {
        decode_cache_max: 3 * BLOCK as u64,
        ..Default::default()
    };
    let (cache, app) = app_within(Arc::clone(&objects) as Arc<dyn ObjectStore>, &limits);
    // A strided slice from the first byte to the last needs every block of the array.
    let whole = format!("slice=0:{}:{}", 2 * BLOCK, 2 * BLOCK - 1);
    for (i, name) in ["a", "b", "c", "a"].iter().enumerate() {
        let (status, _, body) = get(&app, &format!("/api/arrays/{name}?{whole}")).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        let view = parse_npy(&body, Trailing::Reject).unwrap();
        let k = [0, 1, 2, 0][i];
        assert_eq!(
            view.data,
            [(k % 251) as u8, ((k + 2 * BLOCK - 1) % 251) as u8],
            "{name}"
        );
        // Each read fetched 2 blocks; past 3, the least recently read array was dropped.
        let on_disk = fetched_on_disk(cache.path());
        assert!(on_disk <= 3 * BLOCK as u64, "after {name}: {on_disk} bytes");
        assert!(on_disk >= 2 * BLOCK as u64, "after {name}: {on_disk} bytes");
    }
}
