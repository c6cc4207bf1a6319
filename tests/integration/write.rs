//! The write path through the router: statuses, atomicity, appends, auth, events.
#![cfg(feature = "ssr")]

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use downlink::server::write::WriteConfig;
use downlink::server::{router, AppState};
use downlink::wire::bundle::decode_bundle;
use downlink::wire::dtype::DType;
use downlink::wire::npy::{parse_npy, write_npy, NpyHeader, Trailing, Version};
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use tower::ServiceExt;

const TOKEN: &str = "s3cret-token";

use common::npy;

fn f4(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    values.into_iter().flat_map(f32::to_le_bytes).collect()
}

/// An app over an empty directory. `loopback`: requests come from 127.0.0.1 (else from
/// nowhere known, i.e. not loopback); `token`: DOWNLINK_WRITE_TOKEN.
fn app_with(loopback: bool, token: Option<&str>, max_upload: u64) -> (tempfile::TempDir, Router) {
    let (dir, _, app) = app_and_state(loopback, token, max_upload);
    (dir, app)
}

/// As [`app_with`], with the state the router serves (to look at its level of detail).
fn app_and_state(
    loopback: bool,
    token: Option<&str>,
    max_upload: u64,
) -> (tempfile::TempDir, AppState, Router) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".keep"), b"").unwrap();
    let state = AppState::new(
        LeptosOptions::builder().output_name("downlink").build(),
        dir.path(),
        WriteConfig {
            token: token.map(str::to_string),
            max_upload,
        },
    );
    let app = router(state.clone());
    let app = if loopback {
        app.layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))))
    } else {
        app
    };
    (dir, state, app)
}

fn app() -> (tempfile::TempDir, Router) {
    app_with(true, None, 1 << 30)
}

/// The status and body of the router's answer to `request`.
async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let (status, _, body) = common::respond(app, request).await;
    (status, body)
}

fn write(method: &str, name: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(format!("/api/arrays/{name}"))
        .header(header::CONTENT_TYPE, "application/x-npy")
        .body(body.into())
        .unwrap()
}

async fn read(app: &Router, name: &str) -> (StatusCode, Vec<u8>) {
    send(
        app,
        Request::get(format!("/api/arrays/{name}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

fn values(doc: &[u8]) -> (Vec<u64>, Vec<f32>) {
    let view = parse_npy(doc, Trailing::Reject).unwrap();
    let values = view
        .data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (view.header.shape, values)
}

fn error_of(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body).unwrap()["error"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn put_creates_then_replaces() {
    let (_dir, app) = app();
    let (status, body) = send(
        &app,
        write("PUT", "run/a", npy("<f4", &[3], &f4([1.0, 2.0, 3.0]))),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (_, doc) = read(&app, "run/a").await;
    assert_eq!(values(&doc), (vec![3], vec![1.0, 2.0, 3.0]));
    let (status, _) = send(&app, write("PUT", "run/a", npy("<f4", &[1], &f4([9.0])))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(values(&read(&app, "run/a").await.1), (vec![1], vec![9.0]));
}

#[tokio::test]
async fn post_appends_and_checks_the_row_type() {
    let (_dir, app) = app();
    let (status, _) = send(
        &app,
        write("POST", "live", npy("<f4", &[2], &f4([1.0, 2.0]))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    for round in 0..20u16 {
        let v = f32::from(round);
        let (status, body) =
            send(&app, write("POST", "live", npy("<f4", &[2], &f4([v, -v])))).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    }
    let (shape, got) = values(&read(&app, "live").await.1);
    assert_eq!(shape, [42]);
    assert_eq!(got[..4], [1.0, 2.0, 0.0, -0.0]);
    assert_eq!(got[40..], [19.0, -19.0]);

    let (status, body) = send(
        &app,
        write("POST", "live", npy("<f8", &[1], &1f64.to_le_bytes())),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error_of(&body).contains("<f8"));
    let (status, _) = send(
        &app,
        write("POST", "live", npy("<f4", &[1, 2], &f4([1.0, 2.0]))),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The refused appends changed nothing.
    assert_eq!(values(&read(&app, "live").await.1).0, [42]);
}

#[tokio::test]
async fn append_extends_the_pyramids_of_2d_arrays_and_keeps_lod_exact() {
    let (_dir, state, app) = app_and_state(true, None, 1 << 30);
    let rows = |from: u32, n: u32| f4((from..from + n).flat_map(|i| [i as f32, -(i as f32)]));
    send(
        &app,
        write("PUT", "m", npy("<f4", &[100_000, 2], &rows(0, 100_000))),
    )
    .await;
    // Chart it once, and wait until its pyramids are built (the builder has let go).
    let lod = "/api/lod/m?bins=500";
    assert_eq!(
        send(&app, Request::get(lod).body(Body::empty()).unwrap())
            .await
            .0,
        StatusCode::OK
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while state.levels.builds_finished() < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the pyramids were never built"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(state.levels.is_indexed("m"));
    assert_eq!(state.levels.builds_started(), 1);

    send(
        &app,
        write(
            "POST",
            "m",
            npy("<f4", &[50_000, 2], &rows(100_000, 50_000)),
        ),
    )
    .await;
    // Extended, not rebuilt: indexed at once, and no build started for the new version.
    assert!(
        state.levels.is_indexed("m"),
        "the append dropped the pyramids"
    );
    let (_, grown) = send(&app, Request::get(lod).body(Body::empty()).unwrap()).await;
    assert_eq!(
        state.levels.builds_started(),
        1,
        "the append rebuilt the pyramids"
    );

    send(
        &app,
        write("PUT", "fresh", npy("<f4", &[150_000, 2], &rows(0, 150_000))),
    )
    .await;
    let (_, fresh) = send(
        &app,
        Request::get("/api/lod/fresh?bins=500")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let grown = decode_bundle(&grown).unwrap();
    let fresh = decode_bundle(&fresh).unwrap();
    assert_eq!(grown[0].data, fresh[0].data, "window");
    assert_eq!(grown[1].data, fresh[1].data, "indices");
    assert_eq!(grown[2].data, fresh[2].data, "values");
}

/// An (rows, 3) `<f4` array of `rows` starting at row `from`: row i holds i, 10i, 100i.
fn grid(from: u32, rows: u32) -> Vec<f32> {
    (from..from + rows)
        .flat_map(|i| [i as f32, 10.0 * i as f32, 100.0 * i as f32])
        .collect()
}

/// `values` (C order, `rows` × 3) as an .npy document in the given memory order.
fn npy_ordered(values: &[f32], rows: u64, fortran: bool) -> Vec<u8> {
    let data: Vec<f32> = if fortran {
        (0..3)
            .flat_map(|c| values.iter().skip(c).step_by(3).copied())
            .collect()
    } else {
        values.to_vec()
    };
    let header = NpyHeader {
        version: Version::V1,
        dtype: DType::parse_descr("<f4").unwrap(),
        fortran_order: fortran,
        shape: vec![rows, 3],
    };
    write_npy(&header, &f4(data)).unwrap()
}

#[tokio::test]
async fn appends_take_rows_in_either_memory_order() {
    let (_dir, app) = app();
    // (stored order, appended order) -> the rows read back in C order.
    for (stored, appended) in [(true, false), (false, true), (true, true)] {
        let name = format!("grid_{stored}_{appended}");
        let (status, _) = send(
            &app,
            write("PUT", &name, npy_ordered(&grid(0, 4), 4, stored)),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        for round in 0..3 {
            let from = 4 + 2 * round;
            let (status, body) = send(
                &app,
                write("POST", &name, npy_ordered(&grid(from, 2), 2, appended)),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{name}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let (_, doc) = read(&app, &name).await;
        let view = parse_npy(&doc, Trailing::Reject).unwrap();
        assert_eq!(view.header.shape, [10, 3], "{name}");
        let got: Vec<f32> = if view.header.fortran_order {
            // Still Fortran order: gather it back into C order.
            (0..10)
                .flat_map(|r| (0..3).map(move |c| (r, c)))
                .map(|(r, c)| {
                    let at = (c * 10 + r) * 4;
                    f32::from_le_bytes(view.data[at..at + 4].try_into().unwrap())
                })
                .collect()
        } else {
            view.data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect()
        };
        assert_eq!(got, grid(0, 10), "{name}");
    }
}

#[tokio::test]
async fn delete_removes_and_npz_members_are_read_only() {
    let (dir, app) = app();
    send(&app, write("PUT", "gone", npy("<f4", &[1], &f4([1.0])))).await;
    let delete = |name: &str| {
        Request::delete(format!("/api/arrays/{name}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&app, delete("gone")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(read(&app, "gone").await.0, StatusCode::NOT_FOUND);
    assert_eq!(send(&app, delete("gone")).await.0, StatusCode::NOT_FOUND);

    let file = std::fs::File::create(dir.path().join("grp.npz")).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    zip.start_file("x.npy", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut zip, &npy("<f4", &[1], &f4([5.0]))).unwrap();
    zip.finish().unwrap();
    for request in [
        write("PUT", "grp/x", npy("<f4", &[1], &f4([1.0]))),
        write("POST", "grp/x", npy("<f4", &[1], &f4([1.0]))),
        write("PUT", "grp/new", npy("<f4", &[1], &f4([1.0]))),
        delete("grp/x"),
    ] {
        let (status, body) = send(&app, request).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(error_of(&body).contains("grp.npz"));
    }
    assert_eq!(values(&read(&app, "grp/x").await.1).1, [5.0]);
}

#[tokio::test]
async fn bad_uploads_are_refused_and_nothing_is_lost() {
    let (dir, app) = app_with(true, None, 65_536);
    send(
        &app,
        write("PUT", "keep", npy("<f4", &[2], &f4([7.0, 8.0]))),
    )
    .await;
    let mut trailing = npy("<f4", &[1], &f4([1.0]));
    trailing.push(0);
    let mut short = npy("<f4", &[4], &f4([1.0, 2.0, 3.0, 4.0]));
    short.truncate(short.len() - 1);
    let huge_header = {
        let mut doc = b"\x93NUMPY\x01\x00".to_vec();
        doc.extend_from_slice(&20_000u16.to_le_bytes());
        doc.extend(std::iter::repeat_n(b' ', 20_000));
        doc
    };
    let object =
        b"\x93NUMPY\x01\x00\x76\x00{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
            .to_vec();
    let cases: Vec<(Request<Body>, StatusCode)> = vec![
        (
            write("PUT", "keep", b"garbage".to_vec()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            write("PUT", "keep", trailing),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            write("PUT", "keep", short),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            write("PUT", "keep", huge_header),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            write("PUT", "keep", object),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            write("POST", "keep", b"".to_vec()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            write("PUT", "keep", vec![0u8; 70_000]),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            // A chunked body without Content-Length: the limit holds while streaming.
            write(
                "PUT",
                "keep",
                Body::from_stream(futures_util::stream::iter(
                    (0..10).map(|_| Ok::<_, std::io::Error>(vec![0u8; 8000])),
                )),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            Request::put("/api/arrays/keep")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(npy("<f4", &[1], &f4([1.0]))))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            Request::put("/api/arrays/keep")
                .body(Body::from(npy("<f4", &[1], &f4([1.0]))))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            write("PUT", "bad%20name", npy("<f4", &[1], &f4([1.0]))),
            StatusCode::BAD_REQUEST,
        ),
        (
            write("PUT", "../escape", npy("<f4", &[1], &f4([1.0]))),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (request, want) in cases {
        let what = format!("{} {}", request.method(), request.uri());
        let (status, body) = send(&app, request).await;
        assert_eq!(status, want, "{what}: {}", String::from_utf8_lossy(&body));
        assert!(!error_of(&body).is_empty());
    }
    assert_eq!(
        values(&read(&app, "keep").await.1),
        (vec![2], vec![7.0, 8.0])
    );
    let tmp = dir.path().join(".downlink/tmp");
    assert_eq!(
        std::fs::read_dir(tmp).map(|d| d.count()).unwrap_or(0),
        0,
        "no stray temporary files"
    );
}

#[tokio::test]
async fn auth_through_the_router() {
    let doc = || npy("<f4", &[1], &f4([1.0]));
    // No token: loopback writes, others are refused.
    let (_d, app) = app_with(true, None, 1 << 20);
    assert_eq!(
        send(&app, write("PUT", "a", doc())).await.0,
        StatusCode::CREATED
    );
    let (_d, app) = app_with(false, None, 1 << 20);
    assert_eq!(
        send(&app, write("PUT", "a", doc())).await.0,
        StatusCode::FORBIDDEN
    );
    // A token: needed from everywhere; reads never need it.
    let (_d, app) = app_with(true, Some(TOKEN), 1 << 20);
    let (status, _) = send(&app, write("PUT", "a", doc())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mut bad = write("PUT", "a", doc());
    bad.headers_mut()
        .insert(header::AUTHORIZATION, "Bearer nope".parse().unwrap());
    assert_eq!(send(&app, bad).await.0, StatusCode::UNAUTHORIZED);
    let mut good = write("PUT", "a", doc());
    good.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {TOKEN}").parse().unwrap(),
    );
    assert_eq!(send(&app, good).await.0, StatusCode::CREATED);
    assert_eq!(read(&app, "a").await.0, StatusCode::OK);
    // The scheme is case-insensitive (RFC 9110).
    for scheme in ["bearer", "BEARER"] {
        let mut request = write("PUT", "a", doc());
        request.headers_mut().insert(
            header::AUTHORIZATION,
            format!("{scheme} {TOKEN}").parse().unwrap(),
        );
        assert_eq!(send(&app, request).await.0, StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn events_arrive_within_a_second() {
    let (_dir, app) = app();
    let response = app
        .clone()
        .oneshot(Request::get("/api/events").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut body = response.into_body();
    let (status, _) = send(&app, write("PUT", "ev", npy("<f4", &[2], &f4([1.0, 2.0])))).await;
    assert_eq!(status, StatusCode::CREATED);
    let frame = tokio::time::timeout(Duration::from_secs(1), body.frame())
        .await
        .expect("an event within a second")
        .unwrap()
        .unwrap();
    let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert!(text.starts_with("event: changed\n"), "{text}");
    let data: serde_json::Value =
        serde_json::from_str(text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap()).unwrap();
    assert_eq!(data["name"], "ev");
    assert_eq!(data["dtype"], "<f4");
    assert_eq!(data["shape"], serde_json::json!([2]));
    assert!(data["etag"].as_str().unwrap().starts_with('"'));

    send(
        &app,
        Request::delete("/api/arrays/ev")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let frame = tokio::time::timeout(Duration::from_secs(1), body.frame())
        .await
        .expect("a deleted event")
        .unwrap()
        .unwrap();
    let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert!(text.starts_with("event: deleted\n"), "{text}");
}

/// Readers that load an array while an append rewrites its header in place see the old
/// header or the new one, whole, never a mix of the two (the header is read by `pread` under
/// the store's header lock, which the rewrite holds).
#[test]
fn readers_never_see_a_header_half_rewritten() {
    use downlink::server::store::Store;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    const SHORT: u64 = 11_111;
    const LONG: u64 = 22_222;
    let dir = tempfile::tempdir().unwrap();
    let header = |rows: u64| {
        NpyHeader {
            version: Version::V1,
            dtype: DType::parse_descr("|u1").unwrap(),
            fortran_order: false,
            shape: vec![rows],
        }
        .to_bytes_with_capacity(128)
    };
    assert_eq!(header(SHORT).len(), header(LONG).len());
    let path = dir.path().join("grow.npy");
    let mut document = header(LONG);
    document.extend((0..LONG).map(|i| (i % 251) as u8));
    std::fs::write(&path, &document).unwrap();

    let store = Store::new(dir.path());
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (store, path, done, reads) =
                (store.clone(), path.clone(), done.clone(), reads.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    store.invalidate(&path);
                    let array = store.get("grow").expect("every version reads");
                    let rows = array.header.shape[0];
                    assert!(rows == SHORT || rows == LONG, "a torn header: {rows} rows");
                    assert_eq!(array.data.len() as u64, rows);
                    assert!(array
                        .data
                        .iter()
                        .enumerate()
                        .all(|(i, &b)| b == (i % 251) as u8));
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let until = std::time::Instant::now() + Duration::from_millis(1500);
    let mut rewrites = 0u64;
    while std::time::Instant::now() < until {
        let rows = if rewrites.is_multiple_of(2) {
            SHORT
        } else {
            LONG
        };
        store.rewrite_header(&file, &header(rows)).unwrap();
        rewrites += 1;
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.join().expect("no reader saw a torn header");
    }
    assert!(
        reads.load(Ordering::Relaxed) > 100,
        "the readers barely ran"
    );
    assert!(rewrites > 1000, "the writer barely ran");
}

/// Appenders racing to create an array: the first creates it, every other appends, and no
/// batch is lost (each used to find no array, and create it over the others).
#[tokio::test]
async fn concurrent_first_appends_all_land() {
    let (_dir, app) = app();
    let appends: Vec<_> = (0..8u32)
        .map(|c| {
            let app = app.clone();
            tokio::spawn(async move {
                let rows = f4((0..5).map(|i| (c * 10 + i) as f32));
                send(&app, write("POST", "racing", npy("<f4", &[5], &rows)))
                    .await
                    .0
            })
        })
        .collect();
    let mut created = 0;
    for append in appends {
        match append.await.unwrap() {
            StatusCode::CREATED => created += 1,
            status => assert_eq!(status, StatusCode::OK),
        }
    }
    assert_eq!(created, 1);
    let (shape, mut got) = values(&read(&app, "racing").await.1);
    assert_eq!(shape, [40]);
    got.sort_by(f32::total_cmp);
    let mut want: Vec<f32> = (0..8u32)
        .flat_map(|c| (0..5).map(move |i| (c * 10 + i) as f32))
        .collect();
    want.sort_by(f32::total_cmp);
    assert_eq!(got, want);
}
