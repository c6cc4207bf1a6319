//! Several arrays written at once through the router: `PUT /api/bundle` and a PUT of an
//! `.npz` to a group name. All or none: a malformed body stores nothing, and readers of a
//! bundle see the old set or the new one.
#![cfg(feature = "ssr")]

use crate::common;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use downlink::server::write::WriteConfig;
use downlink::server::{router, AppState};
use downlink::wire::bundle::{decode_bundle, encode_bundle, BundleItem};
use downlink::wire::dtype::DType;
use downlink::wire::npy::{parse_npy, Trailing};
use leptos::prelude::LeptosOptions;

fn app_with(max_upload: u64) -> (tempfile::TempDir, AppState, Router) {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(
        LeptosOptions::builder().output_name("downlink").build(),
        dir.path(),
        WriteConfig {
            token: None,
            max_upload,
        },
    );
    let app =
        router(state.clone()).layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    (dir, state, app)
}

fn item(name: &str, descr: &str, shape: &[u64]) -> BundleItem {
    let dtype = DType::parse_descr(descr).unwrap();
    let nbytes = shape.iter().product::<u64>() * dtype.itemsize() as u64;
    BundleItem {
        name: name.to_string(),
        dtype,
        shape: shape.to_vec(),
        nbytes,
    }
}

fn bundle(arrays: &[(BundleItem, Vec<u8>)]) -> Vec<u8> {
    let items: Vec<(BundleItem, &[u8])> = arrays
        .iter()
        .map(|(item, data)| (item.clone(), data.as_slice()))
        .collect();
    encode_bundle(&items).unwrap()
}

fn put_bundle(body: Vec<u8>) -> Request<Body> {
    Request::put("/api/bundle")
        .header(header::CONTENT_TYPE, "application/x-downlink-bundle")
        .body(Body::from(body))
        .unwrap()
}

fn put_npz(group: &str, body: Vec<u8>) -> Request<Body> {
    Request::put(format!("/api/arrays/{group}"))
        .header(header::CONTENT_TYPE, "application/zip")
        .body(Body::from(body))
        .unwrap()
}

use common::npy;

/// A zip of `.npy` members, deflated or stored.
fn npz(members: &[(&str, Vec<u8>)], deflate: bool) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, data) in members {
        out.start_file(*name, options).unwrap();
        out.write_all(data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Vec<u8>) {
    let (status, _, body) =
        common::respond(app, Request::get(uri).body(Body::empty()).unwrap()).await;
    (status, body)
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let (status, _, body) = common::respond(app, request).await;
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// The data bytes of the array `name`, as served.
async fn data_of(app: &Router, name: &str) -> Vec<u8> {
    let (status, body) = get(app, &format!("/api/arrays/{name}")).await;
    assert_eq!(status, StatusCode::OK, "{name}");
    parse_npy(&body, Trailing::Reject).unwrap().data.to_vec()
}

async fn names(app: &Router) -> Vec<String> {
    let (_, body) = get(app, "/api/arrays").await;
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    list["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect()
}

fn temporaries(dir: &tempfile::TempDir) -> usize {
    std::fs::read_dir(dir.path().join(".downlink/tmp"))
        .map(|entries| entries.count())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_bundle_stores_every_array_with_its_dtype() {
    let (dir, state, app) = app_with(1 << 30);
    let mut events = state.writer.events().subscribe(None);
    let be: Vec<u8> = (0u16..6).flat_map(u16::to_be_bytes).collect();
    let f8: Vec<u8> = [1.5f64, -2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let body = bundle(&[
        (item("run/t", "<M8[ns]", &[2]), vec![7; 16]),
        (item("run/x", "<f8", &[2]), f8.clone()),
        (item("other/grid", ">u2", &[2, 3]), be.clone()),
        (item("empty", "<i4", &[0]), Vec::new()),
    ]);
    let (status, answer) = send(&app, put_bundle(body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let stored: Vec<&str> = answer["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(stored, ["run/t", "run/x", "other/grid", "empty"]);
    assert_eq!(answer["arrays"][2]["dtype"], ">u2");
    assert_eq!(data_of(&app, "run/x").await, f8);
    assert_eq!(data_of(&app, "other/grid").await, be);
    assert_eq!(data_of(&app, "run/t").await, vec![7; 16]);
    let (_, body) = get(&app, "/api/arrays/other/grid").await;
    assert_eq!(
        parse_npy(&body, Trailing::Reject).unwrap().header.shape,
        [2, 3]
    );
    for want in ["run/t", "run/x", "other/grid", "empty"] {
        let event = tokio::time::timeout(std::time::Duration::from_secs(2), events.receiver.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(format!("{event:?}").contains(want), "{event:?}");
    }
    assert_eq!(temporaries(&dir), 0, "no temporaries or journals left");
}

#[tokio::test]
async fn a_malformed_bundle_stores_nothing() {
    let (dir, _, app) = app_with(1 << 30);
    let original = f64s_bytes(&[1.0, 2.0]);
    let (status, _) = send(
        &app,
        put_bundle(bundle(&[(item("keep/a", "<f8", &[2]), original.clone())])),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let good = bundle(&[
        (item("keep/a", "<f8", &[2]), f64s_bytes(&[9.0, 9.0])),
        (item("keep/b", "<f8", &[1]), f64s_bytes(&[9.0])),
    ]);

    let mut truncated = good.clone();
    truncated.truncate(good.len() - 3);
    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    let bad_name = bundle(&[
        (item("keep/a", "<f8", &[2]), f64s_bytes(&[9.0, 9.0])),
        (item("keep/.hidden", "<f8", &[1]), f64s_bytes(&[9.0])),
    ]);
    let cases: [(&str, Vec<u8>, StatusCode); 4] = [
        ("truncated", truncated, StatusCode::UNPROCESSABLE_ENTITY),
        ("bad magic", bad_magic, StatusCode::UNPROCESSABLE_ENTITY),
        ("a bad name", bad_name, StatusCode::UNPROCESSABLE_ENTITY),
        ("empty body", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (what, body, want) in cases {
        let (status, answer) = send(&app, put_bundle(body)).await;
        assert_eq!(status, want, "{what}: {answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .ends_with("nothing was stored"),
            "{what}: {answer}"
        );
        assert_eq!(data_of(&app, "keep/a").await, original, "{what}");
        assert_eq!(names(&app).await, ["keep/a"], "{what}");
        assert_eq!(temporaries(&dir), 0, "{what}");
    }

    // Wrong type, and over the limit.
    let (status, _) = send(
        &app,
        Request::put("/api/bundle")
            .header(header::CONTENT_TYPE, "application/x-npy")
            .body(Body::from(good.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (_, _, small) = app_with(100);
    let (status, _) = send(&small, put_bundle(good)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn names_inside_an_npz_group_are_refused_whole() {
    let (dir, _, app) = app_with(1 << 30);
    std::fs::write(
        dir.path().join("pack.npz"),
        npz(&[("x.npy", npy("<f8", &[1], &f64s_bytes(&[1.0])))], false),
    )
    .unwrap();
    let body = bundle(&[
        (item("fresh", "<f8", &[1]), f64s_bytes(&[2.0])),
        (item("pack/x", "<f8", &[1]), f64s_bytes(&[3.0])),
    ]);
    let (status, answer) = send(&app, put_bundle(body)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{answer}");
    assert!(!names(&app).await.contains(&"fresh".to_string()));
}

#[tokio::test]
async fn an_npz_put_replaces_the_group_whole() {
    let (dir, _, app) = app_with(1 << 30);
    let first = npz(
        &[
            ("t.npy", npy("<i8", &[3], &[1; 24])),
            ("x.npy", npy("<f8", &[3], &f64s_bytes(&[1.0, 2.0, 3.0]))),
            ("old.npy", npy("|u1", &[1], &[5])),
        ],
        false,
    );
    let (status, answer) = send(&app, put_npz("run7", first)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(names(&app).await, ["run7/old", "run7/t", "run7/x"]);

    // np.savez_compressed: deflated members, inflated on the way in.
    let second = npz(
        &[
            ("t.npy", npy("<i8", &[2], &[2; 16])),
            (
                "x.npy",
                npy(">f4", &[2], &[0x3f, 0x80, 0, 0, 0x40, 0, 0, 0]),
            ),
        ],
        true,
    );
    let (status, answer) = send(&app, put_npz("run7", second)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        names(&app).await,
        ["run7/t", "run7/x"],
        "a member the new archive lacks is gone"
    );
    assert_eq!(
        data_of(&app, "run7/x").await,
        [0x3f, 0x80, 0, 0, 0x40, 0, 0, 0]
    );
    assert!(
        dir.path().join("run7/t.npy").is_file(),
        "stored as .npy files"
    );
    assert_eq!(temporaries(&dir), 0);
}

#[tokio::test]
async fn hostile_archives_store_nothing() {
    let (dir, _, app) = app_with(1 << 20);
    let (status, _) = send(
        &app,
        put_npz("g", npz(&[("a.npy", npy("|u1", &[2], &[1, 2]))], false)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // Inflates past the upload limit (1 MiB) from a body of a few KB.
    let bomb = npz(
        &[("a.npy", npy("|u1", &[4 << 20], &vec![0; 4 << 20]))],
        true,
    );
    assert!(bomb.len() < 64 << 10);
    let not_npy = npz(&[("a.txt", b"hello".to_vec())], false);
    let bad_member = npz(&[("a.npy", b"\x93NUMPY garbage".to_vec())], true);
    let cases: [(&str, Vec<u8>, StatusCode); 4] = [
        ("zip bomb", bomb, StatusCode::PAYLOAD_TOO_LARGE),
        ("not .npy", not_npy, StatusCode::UNPROCESSABLE_ENTITY),
        ("bad member", bad_member, StatusCode::UNPROCESSABLE_ENTITY),
        (
            "not a zip",
            b"PK not really".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (what, body, want) in cases {
        let (status, answer) = send(&app, put_npz("g", body)).await;
        assert_eq!(status, want, "{what}: {answer}");
        assert_eq!(names(&app).await, ["g/a"], "{what}");
        assert_eq!(data_of(&app, "g/a").await, [1, 2], "{what}");
        assert_eq!(temporaries(&dir), 0, "{what}");
    }
}

/// Readers of a bundle never see half of a set: a writer replaces {a, b} with ever newer
/// pairs while readers check that both arrays of every bundle they get agree.
#[test]
fn bundle_readers_see_the_old_set_or_the_new_one() {
    common::on_server_runtime(async {
        let (_dir, _, app) = app_with(1 << 30);
        let pair = |v: f64| {
            bundle(&[
                (item("set/a", "<f8", &[512]), f64s_bytes(&[v; 512])),
                (item("set/b", "<f8", &[512]), f64s_bytes(&[v; 512])),
            ])
        };
        let (status, _) = send(&app, put_bundle(pair(0.0))).await;
        assert_eq!(status, StatusCode::OK);
        let done = Arc::new(AtomicBool::new(false));
        let mut readers = Vec::new();
        for _ in 0..4 {
            let (app, done) = (app.clone(), Arc::clone(&done));
            readers.push(tokio::spawn(async move {
                let mut seen = 0;
                while !done.load(Ordering::Relaxed) {
                    let (status, body) = get(&app, "/api/bundle?name=set/a&name=set/b").await;
                    assert_eq!(status, StatusCode::OK);
                    let arrays = decode_bundle(&body).unwrap();
                    let first =
                        |i: usize| f64::from_le_bytes(arrays[i].data[..8].try_into().unwrap());
                    assert_eq!(first(0), first(1), "a bundle mixed two sets");
                    seen += 1;
                }
                seen
            }));
        }
        for v in 1..=60 {
            let (status, answer) = send(&app, put_bundle(pair(f64::from(v)))).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
        done.store(true, Ordering::Relaxed);
        for reader in readers {
            assert!(reader.await.unwrap() > 0);
        }
    });
}

fn f64s_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The store's half of all-or-none, made deterministic: a set resolved while a commit is
/// between its two renames waits for the commit and sees both new arrays.
#[test]
fn a_set_resolved_during_a_commit_waits_for_all_of_it() {
    use downlink::server::store::Store;
    use std::sync::mpsc;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    for (name, value) in [("a", 0.0), ("b", 0.0), ("a_new", 1.0), ("b_new", 1.0)] {
        common::save(dir.path(), name, "<f8", &[1], false, &f64s_bytes(&[value]));
    }
    let store = Store::new(dir.path());
    let names = ["a".to_string(), "b".to_string()];
    assert_eq!(store.get_set(&names).unwrap().len(), 2);

    let (between, reached) = mpsc::channel();
    let (go, wait) = mpsc::channel::<()>();
    let (committing, root) = (store.clone(), dir.path().to_path_buf());
    let writer = std::thread::spawn(move || {
        let paths = [root.join("a.npy"), root.join("b.npy")];
        committing.commit_set(&paths, || {
            std::fs::rename(root.join("a_new.npy"), root.join("a.npy")).unwrap();
            between.send(()).unwrap();
            wait.recv_timeout(Duration::from_secs(10)).unwrap();
            std::fs::rename(root.join("b_new.npy"), root.join("b.npy")).unwrap();
        });
    });
    reached.recv().unwrap();
    let resolving = store.clone();
    let reader = std::thread::spawn(move || resolving.get_set(&names).unwrap());
    std::thread::sleep(Duration::from_millis(100));
    go.send(()).unwrap();
    writer.join().unwrap();
    let values: Vec<f64> = reader
        .join()
        .unwrap()
        .iter()
        .map(|array| f64::from_le_bytes(array.data[..8].try_into().unwrap()))
        .collect();
    assert_eq!(values, [1.0, 1.0], "a set resolved between two renames");
}
