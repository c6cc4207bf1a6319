//! The read API through the router, with no socket (`tower::ServiceExt::oneshot`).
#![cfg(feature = "ssr")]

use crate::common;
use common::{f64s, respond as send, save};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use downlink::lod::LodAnswer;
use downlink::server::write::WriteConfig;
use downlink::server::{router, AppState};
use downlink::wire::bundle::decode_bundle;
use downlink::wire::dtype::DType;
use downlink::wire::npy::{parse_npy, NpyHeader, Trailing, Version};
use downlink::wire::pyliteral;
use leptos::prelude::LeptosOptions;

/// A data directory with a few arrays, and the app over it.
fn app() -> (tempfile::TempDir, Router) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    save(
        root,
        "ramp",
        "<f8",
        &[100],
        false,
        &f64s((0..100).map(f64::from)),
    );
    let be: Vec<u8> = (0..12i16).flat_map(i16::to_be_bytes).collect();
    save(root, "group/be", ">i2", &[4, 3], false, &be);
    let f_order: Vec<u8> = (0..6u8).collect();
    save(root, "fortran", "|u1", &[2, 3], true, &f_order);
    save(root, ".hidden", "<f8", &[1], false, &f64s([1.0]));
    std::fs::write(root.join("broken.npy"), b"\x93NUMPY\x01\x00garbage").unwrap();
    let state = AppState::new(
        LeptosOptions::builder().output_name("downlink").build(),
        root,
        WriteConfig::default(),
    );
    (dir, router(state))
}

async fn get(app: &Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap()
}

#[tokio::test]
async fn listing_names_every_valid_array_only() {
    let (_dir, app) = app();
    let (status, _, body) = get(&app, "/api/arrays").await;
    assert_eq!(status, StatusCode::OK);
    let listing = json(&body);
    let names: Vec<&str> = listing["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fortran", "group/be", "ramp"]);
    let be = &listing["arrays"][1];
    assert_eq!(be["dtype"], ">i2");
    assert_eq!(be["shape"], serde_json::json!([4, 3]));
    assert_eq!(be["nbytes"], 24);
}

#[tokio::test]
async fn npy_round_trips_and_etag_matches_listing() {
    let (_dir, app) = app();
    let (status, headers, body) = get(&app, "/api/arrays/group/be").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/x-npy");
    let view = parse_npy(&body, Trailing::Reject).unwrap();
    assert_eq!(view.header.dtype.descr_string(), ">i2");
    assert_eq!(view.header.shape, [4, 3]);
    assert_eq!(view.data[..4], [0, 0, 0, 1]);
    let (_, _, listing) = get(&app, "/api/arrays").await;
    assert_eq!(
        json(&listing)["arrays"][1]["etag"],
        headers[header::ETAG].to_str().unwrap()
    );
}

#[tokio::test]
async fn slice_convert_and_raw() {
    let (_dir, app) = app();
    let (status, headers, body) =
        get(&app, "/api/arrays/ramp?slice=-3::-2&dtype=%3Ef4&format=raw").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-array-dtype"], ">f4");
    assert_eq!(headers["x-array-shape"], "49");
    let first = f32::from_be_bytes(body[..4].try_into().unwrap());
    let second = f32::from_be_bytes(body[4..8].try_into().unwrap());
    assert_eq!((first, second), (97.0, 95.0));
    assert_eq!(body.len(), 49 * 4);
}

#[tokio::test]
async fn fortran_arrays_pass_through_or_reorder() {
    let (_dir, app) = app();
    let (_, _, body) = get(&app, "/api/arrays/fortran").await;
    let view = parse_npy(&body, Trailing::Reject).unwrap();
    assert!(view.header.fortran_order);
    assert_eq!(view.data, [0, 1, 2, 3, 4, 5]);
    // Raw is always C order: [[0, 2, 4], [1, 3, 5]].
    let (_, _, raw) = get(&app, "/api/arrays/fortran?format=raw").await;
    assert_eq!(raw, [0, 2, 4, 1, 3, 5]);
    let (_, _, sliced) = get(&app, "/api/arrays/fortran?slice=1:").await;
    let view = parse_npy(&sliced, Trailing::Reject).unwrap();
    assert!(!view.header.fortran_order);
    assert_eq!(view.data, [1, 3, 5]);
}

#[tokio::test]
async fn conditional_and_range_requests() {
    let (_dir, app) = app();
    let (_, headers, whole) = get(&app, "/api/arrays/ramp").await;
    let etag = headers[header::ETAG].clone();
    let request = Request::get("/api/arrays/ramp")
        .header(header::IF_NONE_MATCH, etag.clone())
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(headers[header::ETAG], etag);
    assert!(body.is_empty());

    let request = Request::get("/api/arrays/ramp")
        .header(header::RANGE, "bytes=120-135")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(body, whole[120..136]);
    assert_eq!(
        headers[header::CONTENT_RANGE],
        format!("bytes 120-135/{}", whole.len()).as_str()
    );

    // A stale If-Range means the whole new representation.
    let request = Request::get("/api/arrays/ramp")
        .header(header::RANGE, "bytes=0-9")
        .header(header::IF_RANGE, "\"stale\"")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, whole);

    let request = Request::get("/api/arrays/ramp")
        .header(header::RANGE, format!("bytes={}-", whole.len()))
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        headers[header::CONTENT_RANGE],
        format!("bytes */{}", whole.len()).as_str()
    );
}

#[tokio::test]
async fn bundles_are_aligned_and_self_describing() {
    let (_dir, app) = app();
    let (status, _, body) = get(
        &app,
        "/api/bundle?name=ramp&name=group/be&name=fortran&dtype=%3Cf4&slice=1:3",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let entries = decode_bundle(&body).unwrap();
    assert_eq!(entries.len(), 3);
    for entry in &entries {
        assert_eq!(entry.offset % 64, 0, "{}", entry.name);
        assert_eq!(entry.dtype.descr_string(), "<f4");
    }
    let be: Vec<f32> = entries[1]
        .data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(be, [3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    assert_eq!(entries[2].shape, [1, 3]);
}

#[tokio::test]
async fn errors_have_contract_statuses_and_json_bodies() {
    let (_dir, app) = app();
    let cases = [
        ("/api/arrays/missing", StatusCode::NOT_FOUND),
        ("/api/arrays/broken", StatusCode::UNPROCESSABLE_ENTITY),
        ("/api/arrays/.hidden", StatusCode::BAD_REQUEST),
        ("/api/arrays/a/../ramp", StatusCode::BAD_REQUEST),
        ("/api/arrays/ramp?slice=::0", StatusCode::BAD_REQUEST),
        ("/api/arrays/ramp?dtype=%7CO", StatusCode::BAD_REQUEST),
        ("/api/arrays/ramp?bogus=1", StatusCode::BAD_REQUEST),
        (
            "/api/arrays/ramp?format=raw&format=npy",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/bundle?name=ramp&name=ramp", StatusCode::BAD_REQUEST),
        ("/api/bundle?name=missing", StatusCode::NOT_FOUND),
        ("/api/nope", StatusCode::NOT_FOUND),
    ];
    for (uri, want) in cases {
        let (status, headers, body) = get(&app, uri).await;
        assert_eq!(status, want, "{uri}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{uri}");
        assert!(
            json(&body)["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn files_change_without_restart_and_symlinks_are_not_followed() {
    let (dir, app) = app();
    let root = dir.path();
    save(root, "late", "<f8", &[2], false, &f64s([1.0, 2.0]));
    assert_eq!(get(&app, "/api/arrays/late").await.0, StatusCode::OK);
    std::fs::remove_file(root.join("late.npy")).unwrap();
    assert_eq!(get(&app, "/api/arrays/late").await.0, StatusCode::NOT_FOUND);

    let outside = tempfile::tempdir().unwrap();
    save(outside.path(), "secret", "<f8", &[1], false, &f64s([42.0]));
    std::os::unix::fs::symlink(outside.path().join("secret.npy"), root.join("link.npy")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("linkdir")).unwrap();
    assert_eq!(get(&app, "/api/arrays/link").await.0, StatusCode::NOT_FOUND);
    // A file reached through a symlinked folder is refused as unreadable, without saying
    // where it lies.
    let (status, _, body) = get(&app, "/api/arrays/linkdir/secret").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = json(&body)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains("outside the data directory"), "{message}");
    let outside_path = outside.path().to_string_lossy().into_owned();
    assert!(!message.contains(&outside_path), "{message}");
    let (_, _, listing) = get(&app, "/api/arrays").await;
    assert!(!String::from_utf8_lossy(&listing).contains("secret"));
}

fn u64s(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[tokio::test]
async fn lod_answers_m4_bins_as_a_bundle() {
    let (_dir, app) = app();
    let (status, _, body) = get(&app, "/api/lod/ramp?start=10&stop=50&bins=4").await;
    assert_eq!(status, StatusCode::OK);
    let entries = decode_bundle(&body).unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["window", "index", "value"]);
    assert_eq!(u64s(entries[0].data), [10, 50]);
    assert_eq!(entries[1].shape, [1, 4, 4]);
    // Bin 0 covers samples 10..20 of a ramp: first 10, min 10, max 19, last 19.
    assert_eq!(u64s(&entries[1].data[..32]), [10, 10, 19, 19]);
    let values: Vec<f64> = entries[2]
        .data
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(values[..4], [10.0, 10.0, 19.0, 19.0]);
    assert_eq!(values[12..], [40.0, 40.0, 49.0, 49.0]);

    // A (4, 3) array gives one series per column; a window narrower than the bins gives one
    // bin per sample.
    let (_, _, body) = get(&app, "/api/lod/group/be?bins=100").await;
    let entries = decode_bundle(&body).unwrap();
    assert_eq!(entries[1].shape, [3, 4, 4]);

    for (uri, want) in [
        ("/api/lod/ramp?bins=0", StatusCode::BAD_REQUEST),
        ("/api/lod/ramp?bins=20001", StatusCode::BAD_REQUEST),
        ("/api/lod/ramp?start=5&stop=4", StatusCode::BAD_REQUEST),
        ("/api/lod/ramp?stop=101", StatusCode::BAD_REQUEST),
        ("/api/lod/ramp?start=-1", StatusCode::BAD_REQUEST),
        ("/api/lod/ramp?column=1", StatusCode::BAD_REQUEST),
        ("/api/lod/missing", StatusCode::NOT_FOUND),
        ("/api/lod/broken", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (status, _, body) = get(&app, uri).await;
        assert_eq!(status, want, "{uri}");
        assert!(json(&body)["error"].is_string(), "{uri}");
    }
}

/// Little-endian or big-endian bytes of every value, by the dtype's own encoding.
fn encode(descr: &str, values: &[f64]) -> Vec<u8> {
    let big = descr.starts_with('>');
    macro_rules! ints {
        ($t:ty) => {
            values
                .iter()
                .flat_map(|&v| {
                    let x = v as $t;
                    if big {
                        x.to_be_bytes().to_vec()
                    } else {
                        x.to_le_bytes().to_vec()
                    }
                })
                .collect()
        };
    }
    match &descr[1..] {
        "b1" => values.iter().map(|&v| u8::from(v != 0.0)).collect(),
        "i1" => ints!(i8),
        "u1" => ints!(u8),
        "i2" => ints!(i16),
        "u2" => ints!(u16),
        "i4" => ints!(i32),
        "u4" => ints!(u32),
        "i8" | "M8[s]" | "m8[ms]" => values
            .iter()
            .flat_map(|&v| {
                let x = if v.is_nan() { i64::MIN } else { v as i64 };
                if big {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                }
            })
            .collect(),
        "u8" => ints!(u64),
        "f2" => values
            .iter()
            .flat_map(|&v| {
                let x = half::f16::from_f64(v);
                if big {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                }
            })
            .collect(),
        "f4" => ints!(f32),
        "f8" => ints!(f64),
        other => panic!("no encoding for {other}"),
    }
}

fn lod_points(body: &[u8]) -> Vec<(u64, u64)> {
    let answer = LodAnswer::decode(body).unwrap();
    answer
        .columns
        .iter()
        .flatten()
        .flat_map(|b| {
            [
                (b.first_index, b.first.to_bits()),
                (b.min_index, b.min.to_bits()),
                (b.max_index, b.max.to_bits()),
                (b.last_index, b.last.to_bits()),
            ]
        })
        .collect()
}

/// Every numeric dtype, in both byte orders, 1-D and as a column of a C-order and a
/// Fortran-order (N, 3) array, charts exactly like an `<f8` twin of the same values.
#[tokio::test]
async fn every_numeric_dtype_byte_order_and_column_charts_like_its_f64_twin() {
    let (dir, app) = app();
    const N: usize = 100_000;
    let signed: Vec<f64> = (0..N as i64)
        .map(|i| ((i * 7919 % 201) - 100) as f64)
        .collect();
    let save_twin = |name: &str, values: &[f64]| {
        save(
            dir.path(),
            name,
            "<f8",
            &[N as u64],
            false,
            &f64s(values.iter().copied()),
        );
    };
    let lod =
        |name: &str, column: &str| format!("/api/lod/{name}?start=17&stop=99990&bins=300{column}");
    for kind in [
        "b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "M8[s]", "m8[ms]",
    ] {
        // What each dtype holds of the signed values: unsigned ones shifted, bools as 0/1,
        // datetimes with a NaT now and then.
        let values: Vec<f64> = signed
            .iter()
            .enumerate()
            .map(|(i, &v)| match kind {
                "b1" => f64::from(u8::from(v > 0.0)),
                k if k.starts_with('u') => v + 100.0,
                k if k.starts_with('M') || k.starts_with('m') => {
                    if i % 997 == 3 {
                        f64::NAN
                    } else {
                        v * 1000.0
                    }
                }
                _ => v,
            })
            .collect();
        let twin = format!("twin_{}", kind.replace(['[', ']'], "_"));
        save_twin(&twin, &values);
        let (_, _, want) = get(&app, &lod(&twin, "")).await;
        let want = lod_points(&want);
        let orders: &[&str] = if kind == "b1" || kind.ends_with('1') {
            &["|"]
        } else {
            &["<", ">"]
        };
        for order in orders {
            let descr = format!("{order}{kind}");
            let name = format!("as_{}_{}", if *order == ">" { "be" } else { "le" }, twin);
            let bytes = encode(&descr, &values);
            save(dir.path(), &name, &descr, &[N as u64], false, &bytes);
            let (status, _, body) = get(&app, &lod(&name, "")).await;
            assert_eq!(status, StatusCode::OK, "{descr}");
            assert_eq!(lod_points(&body), want, "{descr} charts like its <f8 twin");
            // The same values as column 1 of a (N, 3) array, in C and in Fortran order.
            let size = bytes.len() / N;
            for fortran in [false, true] {
                let mut grid = vec![0u8; bytes.len() * 3];
                for (i, value) in bytes.chunks_exact(size).enumerate() {
                    let at = if fortran { N + i } else { i * 3 + 1 } * size;
                    grid[at..at + size].copy_from_slice(value);
                }
                let columns = format!("{name}_grid_{fortran}");
                save(dir.path(), &columns, &descr, &[N as u64, 3], fortran, &grid);
                let (status, _, body) = get(&app, &lod(&columns, "&column=1")).await;
                assert_eq!(status, StatusCode::OK, "{descr} fortran={fortran}");
                assert_eq!(lod_points(&body), want, "{descr} column, fortran={fortran}");
            }
        }
    }
}

fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn head_answers_the_get_headers_without_a_body() {
    let (_dir, app) = app();
    for uri in [
        "/api/arrays/ramp",
        "/api/arrays/group/be?format=raw",
        "/api/bundle?name=ramp&name=fortran",
        "/api/lod/ramp?bins=10",
    ] {
        let (_, got, body) = get(&app, uri).await;
        let (status, head, nothing) = send(&app, request("HEAD", uri, &[])).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(nothing.is_empty(), "{uri}");
        assert_eq!(
            head[header::CONTENT_LENGTH],
            body.len().to_string().as_str(),
            "{uri}"
        );
        for name in [header::ETAG, header::CONTENT_TYPE] {
            assert_eq!(head[&name], got[&name], "{uri} {name}");
        }
    }
    let (_, head, _) = send(
        &app,
        request("HEAD", "/api/arrays/group/be?format=raw", &[]),
    )
    .await;
    assert_eq!(head["x-array-shape"], "4,3");
    assert_eq!(head["x-array-dtype"], ">i2");
}

#[tokio::test]
async fn any_origin_may_read_and_sees_the_array_headers() {
    let (_dir, app) = app();
    let origin = ("origin", "https://dashboards.example");
    let (status, headers, _) = send(
        &app,
        request("GET", "/api/arrays/ramp?format=raw", &[origin]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let exposed = headers[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "etag",
        "content-range",
        "content-length",
        "x-array-dtype",
        "x-array-shape",
    ] {
        assert!(
            exposed.split(',').any(|h| h.trim() == name),
            "{name} in {exposed}"
        );
    }
    // The answer is the same for every origin: nothing for a cache to vary on.
    assert!(headers.get(header::VARY).is_none(), "{headers:?}");
    // The Zarr view of the arrays is as open, and so are error answers.
    for uri in ["/zarr/ramp/zarr.json", "/api/arrays/no-such-array"] {
        let (_, headers, _) = send(&app, request("GET", uri, &[origin])).await;
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*", "{uri}");
    }
    // A preflight for a ranged, conditional read from another origin is allowed.
    let preflight = request(
        "OPTIONS",
        "/api/arrays/ramp",
        &[
            origin,
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "range,if-none-match"),
        ],
    );
    let (status, headers, _) = send(&app, preflight).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let methods = headers[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap();
    for method in ["GET", "HEAD"] {
        assert!(methods.contains(method), "{method} in {methods}");
    }
    let allowed = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in ["range", "if-none-match"] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    // The browser may keep it, and writes from another origin are allowed too.
    assert_eq!(headers[header::ACCESS_CONTROL_MAX_AGE], "7200");
    assert!(methods.contains("PUT") && methods.contains("POST") && methods.contains("DELETE"));
}

#[tokio::test]
async fn a_multi_range_request_gets_the_whole_representation() {
    let (_dir, app) = app();
    let (_, _, whole) = get(&app, "/api/arrays/ramp").await;
    let ranged = request("GET", "/api/arrays/ramp", &[("range", "bytes=0-1,5-6")]);
    let (status, headers, body) = send(&app, ranged).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, whole);
    assert!(headers.get(header::CONTENT_RANGE).is_none());
}

#[tokio::test]
async fn lod_answers_carry_the_exact_time_of_every_point() {
    let (dir, app) = app();
    // Irregular nanosecond timestamps far from zero (an f64 would round them), stored
    // big-endian in one group and little-endian in the other.
    let t: Vec<i64> = (0..500i64)
        .map(|i| 1_700_000_000_123_456_789 + i * 1_000_003 + (i * i) % 7)
        .collect();
    let x: Vec<f64> = (0..500).map(|i| ((i * 37) % 101) as f64).collect();
    for (group, descr, bytes) in [
        (
            "le",
            "<M8[ns]",
            t.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
        ),
        (
            "be",
            ">M8[ns]",
            t.iter().flat_map(|v| v.to_be_bytes()).collect(),
        ),
    ] {
        save(
            dir.path(),
            &format!("{group}/t"),
            descr,
            &[500],
            false,
            &bytes,
        );
        save(
            dir.path(),
            &format!("{group}/x"),
            "<f8",
            &[500],
            false,
            &f64s(x.iter().copied()),
        );
        let (status, _, body) = get(
            &app,
            &format!("/api/lod/{group}/x?start=3&stop=480&bins=40"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{group}");
        let entries = decode_bundle(&body).unwrap();
        assert_eq!(entries[3].name, "time", "{group}");
        assert_eq!(entries[3].dtype.descr_string(), "<M8[ns]", "{group}");
        let answer = LodAnswer::decode(&body).unwrap();
        let time = answer.time.as_ref().expect("a time entry");
        let indices: Vec<u64> = answer.indices().collect();
        assert_eq!(time.counts.len(), indices.len(), "{group}");
        for (index, count) in indices.iter().zip(&time.counts) {
            assert_eq!(*count, t[*index as usize], "{group}: sample {index}");
        }
    }
    // A series without timestamps has no time entry.
    let (_, _, body) = get(&app, "/api/lod/ramp?bins=4").await;
    assert_eq!(LodAnswer::decode(&body).unwrap().time, None);
}

#[tokio::test]
async fn a_record_dtype_header_is_ascii_and_parses_back_to_the_exact_names() {
    let (dir, app) = app();
    let names = ["température", "温度", "ok"];
    let dtype = DType::from_json(&serde_json::json!([
        [names[0], "<f4"],
        [names[1], "<i2"],
        [names[2], "|b1"]
    ]))
    .unwrap();
    let header = NpyHeader {
        version: Version::V1,
        dtype,
        fortran_order: false,
        shape: vec![2],
    };
    let path = dir.path().join("records.npy");
    std::fs::write(
        &path,
        downlink::wire::npy::write_npy(&header, &[0u8; 14]).unwrap(),
    )
    .unwrap();
    let (status, headers, _) = get(&app, "/api/arrays/records?format=raw").await;
    assert_eq!(status, StatusCode::OK);
    let value = headers["x-array-dtype"].as_bytes();
    assert!(value.is_ascii(), "{value:?}");
    // What a client reading the header as ISO-8859-1 gets, through the same parse as any
    // other descr (Python: np.dtype(ast.literal_eval(value))).
    let text: String = value.iter().map(|&b| char::from(b)).collect();
    let parsed = DType::from_descr_value(&pyliteral::parse(&text).unwrap()).unwrap();
    assert_eq!(parsed, header.dtype, "{text}");
    assert!(
        text.contains(r"'temp\xe9rature'") && text.contains(r"'\u6e29\u5ea6'"),
        "{text}"
    );
}

/// A time window cuts `[t0, t1)` into equal intervals of time: each interval with samples
/// gives the M4 bin of exactly those samples, with their exact timestamps; the gaps between
/// passes give none.
#[tokio::test]
async fn time_windows_bin_by_time_and_leave_gaps_empty() {
    let (dir, app) = app();
    const START: i64 = 1_700_000_000_000_000_000;
    const STEP: i64 = 100_000_000; // 10 Hz
    const GAP: i64 = 95 * 60 * 1_000_000_000;
    let mut t = Vec::new();
    for pass in 0..3i64 {
        for i in 0..2000i64 {
            t.push(START + pass * (2000 * STEP + GAP) + i * STEP + (i % 3) * 7);
        }
    }
    let x: Vec<f64> = (0..t.len()).map(|i| ((i * 7919) % 1009) as f64).collect();
    let le: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
    save(
        dir.path(),
        "passes/t",
        "<M8[ns]",
        &[t.len() as u64],
        false,
        &le,
    );
    save(
        dir.path(),
        "passes/x",
        "<f8",
        &[x.len() as u64],
        false,
        &f64s(x.iter().copied()),
    );

    let (t0, t1, bins) = (START - 1_000_000_000, *t.last().unwrap() + 1, 400usize);
    let uri = format!("/api/lod/passes/x?t0={t0}&t1={t1}&bins={bins}");
    let (status, headers, body) = get(&app, &uri).await;
    assert_eq!(status, StatusCode::OK);
    let answer = LodAnswer::decode(&body).unwrap();
    let times = answer.time.as_ref().expect("the points' timestamps");
    // The brute force: the samples of each interval, and their M4 bin.
    let span = i128::from(t1 - t0);
    let mut want = Vec::new();
    for k in 0..bins as i128 {
        let lo = i128::from(t0) + span * k / bins as i128;
        let hi = i128::from(t0) + span * (k + 1) / bins as i128;
        let inside: Vec<usize> = (0..t.len())
            .filter(|&i| (lo..hi).contains(&i128::from(t[i])))
            .collect();
        if let (Some(&a), Some(&b)) = (inside.first(), inside.last()) {
            want.extend(downlink::lod::m4_scan_ranges(&x, &[(a, b + 1)]).unwrap());
        }
    }
    assert_eq!(answer.columns[0], want);
    assert!(
        want.len() < bins / 2,
        "the gaps hold no bins: {} of {bins}",
        want.len()
    );
    for (index, count) in answer.indices().zip(&times.counts) {
        assert_eq!(*count, t[index as usize], "sample {index}");
    }
    assert_eq!((answer.start, answer.stop), (0, t.len() as u64));
    // Cacheable like any answer, and distinct from an index window's.
    let (_, index_headers, _) = get(&app, "/api/lod/passes/x?bins=400").await;
    assert_ne!(headers[header::ETAG], index_headers[header::ETAG]);

    // Timestamps that go backwards, or hold NaT, give no time axis.
    let mut back = t.clone();
    back[4100] = back[4099] - 1;
    let mut nat = t.clone();
    nat[17] = i64::MIN;
    for (group, stamps, why) in [("back", back, "go backwards"), ("nat", nat, "NaT")] {
        let bytes: Vec<u8> = stamps.iter().flat_map(|v| v.to_le_bytes()).collect();
        save(
            dir.path(),
            &format!("{group}/t"),
            "<M8[ns]",
            &[t.len() as u64],
            false,
            &bytes,
        );
        save(
            dir.path(),
            &format!("{group}/x"),
            "<f8",
            &[x.len() as u64],
            false,
            &f64s(x.iter().copied()),
        );
        let (status, _, body) = get(&app, &format!("/api/lod/{group}/x?t0={t0}&t1={t1}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{group}");
        let message = json(&body)["error"].as_str().unwrap().to_string();
        assert!(message.contains(why), "{message}");
        // The index window still works.
        assert_eq!(
            get(&app, &format!("/api/lod/{group}/x")).await.0,
            StatusCode::OK
        );
    }

    for (uri, want) in [
        (
            format!("/api/lod/passes/x?t0={t1}&t1={t0}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/lod/passes/x?t0={t0}&t1={t0}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/lod/passes/x?t0={t0}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/lod/passes/x?t0={t0}&t1={t1}&start=0"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/lod/passes/x?t0=noon&t1={t1}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/lod/ramp?t0={t0}&t1={t1}"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, _, body) = get(&app, &uri).await;
        assert_eq!(status, want, "{uri}");
        assert!(json(&body)["error"].is_string(), "{uri}");
    }
}

/// Any series can be charted by any timestamps array as long as it: `time=` names it.
#[tokio::test]
async fn time_names_the_timestamps_of_any_series() {
    let (dir, app) = app();
    let t: Vec<i64> = (0..500i64).map(|i| 1_000_000_000 * i + 7).collect();
    let le: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
    save(dir.path(), "clock/stamps", "<M8[ns]", &[500], false, &le);
    save(
        dir.path(),
        "elsewhere/y",
        "<f8",
        &[500],
        false,
        &f64s((0..500).map(f64::from)),
    );
    // Without time= the series has no timestamps; with it, it has these.
    let window = "t0=100000000000&t1=200000000000&bins=10";
    let (status, _, _) = get(&app, &format!("/api/lod/elsewhere/y?{window}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _, body) = get(
        &app,
        &format!("/api/lod/elsewhere/y?{window}&time=clock/stamps"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let answer = LodAnswer::decode(&body).unwrap();
    assert_eq!(
        (answer.start, answer.stop),
        (100, 200),
        "samples 100 to 199 lie in [100 s, 200 s)"
    );
    assert_eq!(answer.time.unwrap().counts[0], t[100]);
    for (time, want) in [
        ("ramp", StatusCode::UNPROCESSABLE_ENTITY), // not datetime64
        ("group/be", StatusCode::UNPROCESSABLE_ENTITY), // 2-D
        ("missing", StatusCode::NOT_FOUND),
        (".hidden", StatusCode::BAD_REQUEST),
    ] {
        let (status, _, body) =
            get(&app, &format!("/api/lod/elsewhere/y?{window}&time={time}")).await;
        assert_eq!(status, want, "time={time}");
        assert!(json(&body)["error"].is_string());
    }
}

/// A member's own timestamps come first: `t_<name>`, then `t_<prefix>` (so `t_hk` times
/// every `hk_*` channel), then the group's `t`; each only when as long as the series.
#[tokio::test]
async fn a_series_finds_its_own_timestamps_by_name() {
    let (dir, app) = app();
    let stamps = |n: i64, step: i64| -> Vec<u8> {
        (0..n)
            .flat_map(|i| (1_000 + i * step).to_le_bytes())
            .collect()
    };
    save(dir.path(), "rig/t", "<M8[ns]", &[10], false, &stamps(10, 1));
    save(
        dir.path(),
        "rig/t_hk",
        "<M8[ms]",
        &[4],
        false,
        &stamps(4, 1000),
    );
    save(
        dir.path(),
        "rig/t_hk_bus_v",
        "<M8[s]",
        &[3],
        false,
        &stamps(3, 60),
    );
    for (name, len) in [("fast", 10), ("hk_temp", 4), ("hk_bus_v", 4), ("odd", 7)] {
        save(
            dir.path(),
            &format!("rig/{name}"),
            "<f8",
            &[len],
            false,
            &f64s((0..len).map(|i| i as f64)),
        );
    }
    for (name, times) in [
        ("fast", Some("<M8[ns]")),
        ("hk_temp", Some("<M8[ms]")),
        ("hk_bus_v", Some("<M8[ms]")),
        ("odd", None),
    ] {
        let (status, _, body) = get(&app, &format!("/api/lod/rig/{name}?bins=2")).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        let answer = LodAnswer::decode(&body).unwrap();
        // hk_bus_v skips t_hk_bus_v (3 long, not 4) for t_hk; odd has none of its length.
        let got = answer.time.map(|t| t.dtype.descr());
        assert_eq!(got.as_deref(), times, "{name}");
    }
}

/// A time window may be written in ISO 8601 as well as in integer ns; the answers agree.
#[tokio::test]
async fn time_windows_take_iso_instants() {
    let (dir, app) = app();
    // 2026-01-01T00:00:00Z, a sample a second.
    let t: Vec<u8> = (0..600i64)
        .flat_map(|i| (1_767_225_600_000_000_000 + i * 1_000_000_000).to_le_bytes())
        .collect();
    save(dir.path(), "iso/t", "<M8[ns]", &[600], false, &t);
    save(
        dir.path(),
        "iso/y",
        "<f8",
        &[600],
        false,
        &f64s((0..600).map(f64::from)),
    );
    let (_, _, by_ns) = get(
        &app,
        "/api/lod/iso/y?t0=1767225660000000000&t1=1767225720500000000&bins=7",
    )
    .await;
    for (t0, t1) in [
        ("2026-01-01T00:01:00Z", "2026-01-01T00:02:00.5Z"),
        (
            "2026-01-01T01:01:00%2B01:00",
            "2026-01-01T00:02:00.500000000",
        ),
    ] {
        let (status, _, body) = get(&app, &format!("/api/lod/iso/y?t0={t0}&t1={t1}&bins=7")).await;
        assert_eq!(status, StatusCode::OK, "{t0} {t1}");
        assert_eq!(body, by_ns, "{t0} {t1}");
    }
    let answer = LodAnswer::decode(&by_ns).unwrap();
    assert_eq!((answer.start, answer.stop), (60, 121));
    let (status, _, body) = get(&app, "/api/lod/iso/y?t0=2026-01-01T25:00:00Z&t1=2027-01-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(json(&body)["error"].as_str().unwrap().contains("ISO 8601"));
}
