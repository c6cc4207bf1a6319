//! `GET /api/tiles`: level-of-detail tiles on a fixed grid, at URLs that name the versions
//! they answer, so any HTTP cache may keep them for good.
#![cfg(feature = "ssr")]

use crate::common;
use common::{f64s, respond as send, save};

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use downlink::lod::tiles::{tile_span, TILE_BINS};
use downlink::lod::LodAnswer;
use downlink::server::api::TILE_CACHE_CONTROL;
use downlink::server::write::WriteConfig;
use downlink::server::{router, AppState};
use leptos::prelude::LeptosOptions;

const START: i64 = 1_700_000_000_000_000_000;
const STEP: i64 = 100_000_000; // 10 Hz
const GAP: i64 = 95 * 60 * 1_000_000_000;

/// Two passes of a 10 Hz series with timestamps (`passes/t`, `passes/x`), and `ramp`.
fn app() -> (tempfile::TempDir, Router) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    save(root, "ramp", "<f8", &[5000], false, &f64s(values(5000, 1)));
    let t: Vec<i64> = (0..2)
        .flat_map(|pass| (0..3000).map(move |i| START + pass * (3000 * STEP + GAP) + i * STEP))
        .collect();
    let le: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
    save(root, "passes/t", "<M8[ns]", &[6000], false, &le);
    save(
        root,
        "passes/x",
        "<f8",
        &[6000],
        false,
        &f64s(values(6000, 3)),
    );
    let state = AppState::new(
        LeptosOptions::builder().output_name("downlink").build(),
        root,
        WriteConfig::default(),
    );
    (dir, router(state))
}

fn values(n: usize, seed: usize) -> impl Iterator<Item = f64> {
    (0..n).map(move |i| ((i * 7919 * seed) % 1009) as f64)
}

async fn get_with(
    app: &Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

async fn get(app: &Router, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    get_with(app, uri, &[]).await
}

async fn answer(app: &Router, uri: &str) -> LodAnswer {
    let (status, _, body) = get(app, uri).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{uri}: {}",
        String::from_utf8_lossy(&body)
    );
    LodAnswer::decode(&body).unwrap()
}

/// The version of `name` as tile URLs name it: its listed ETag without the quotes.
async fn version(app: &Router, name: &str) -> String {
    let (_, _, body) = get(app, "/api/arrays").await;
    let listing: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let entry = listing["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap();
    entry["etag"]
        .as_str()
        .unwrap()
        .trim_matches('"')
        .to_string()
}

fn error(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap();
    value["error"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn index_tiles_are_lod_windows_on_a_grid_cached_for_good() {
    let (dir, app) = app();
    let v = version(&app, "ramp").await;

    // Tile 0 of level 2: samples [0, 4096) in 1024 bins of 4; tile 1 stops at the end.
    let uri = format!("/api/tiles/ramp?v={v}&level=2&tile=0");
    let (status, headers, body) = get(&app, &uri).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], TILE_CACHE_CONTROL);
    let tile = LodAnswer::decode(&body).unwrap();
    assert_eq!(
        tile,
        answer(&app, "/api/lod/ramp?start=0&stop=4096&bins=1024").await
    );
    assert_eq!(tile.columns[0].len(), TILE_BINS as usize);
    assert!(tile.columns[0]
        .iter()
        .enumerate()
        .all(|(i, bin)| bin.first_index == 4 * i as u64 && bin.last_index == 4 * i as u64 + 3));
    let last = answer(&app, &format!("/api/tiles/ramp?v={v}&level=2&tile=1")).await;
    assert_eq!(
        last,
        answer(&app, "/api/lod/ramp?start=4096&stop=5000&bins=226").await
    );
    assert_eq!(tile_span(2), 4096);

    // A validator like any answer; the 304 keeps the caching rule.
    let etag = headers[header::ETAG].to_str().unwrap().to_string();
    let (status, again, _) = get_with(&app, &uri, &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(again[header::CACHE_CONTROL], TILE_CACHE_CONTROL);

    for (query, want) in [
        ("level=2&tile=2", "starts past the end"),
        ("level=53&tile=0", "level= from 0 to 52"),
        ("tile=0", "level= from 0 to 52"),
        ("level=2", "needs tile="),
        ("level=2&tile=-1", "not an integer"),
        ("level=2&tile=0&by=pixel", "by=index or by=time"),
        ("level=2&tile=0&by=time", "needs time= and tv="),
        ("level=2&tile=0&time=passes/t", "go together"),
        ("level=2&tile=0&bins=9", "unknown parameter"),
    ] {
        let (status, _, body) = get(&app, &format!("/api/tiles/ramp?v={v}&{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(error(&body).contains(want), "{query}: {}", error(&body));
    }
    let (status, _, _) = get(&app, "/api/tiles/ramp?level=2&tile=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = get(&app, "/api/tiles/nothing?v=0&level=2&tile=0").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Another version: the URL is gone (and no cache may keep that answer), the new one works.
    save(
        dir.path(),
        "ramp",
        "<f8",
        &[5000],
        false,
        &f64s(values(5000, 2)),
    );
    let (status, headers, body) = get(&app, &uri).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let now = version(&app, "ramp").await;
    assert_ne!(now, v);
    assert!(error(&body).contains(&now), "{}", error(&body));
    let fresh = answer(&app, &format!("/api/tiles/ramp?v={now}&level=2&tile=0")).await;
    assert_ne!(fresh, tile);
    assert_eq!(
        fresh,
        answer(&app, "/api/lod/ramp?start=0&stop=4096&bins=1024").await
    );
}

#[tokio::test]
async fn time_tiles_cut_time_on_a_grid_from_the_epoch() {
    let (_dir, app) = app();
    let (v, tv) = (
        version(&app, "passes/x").await,
        version(&app, "passes/t").await,
    );
    let level = 27; // bins of 134 ms, tiles of 137 s: the 300 s passes span three
    let span = tile_span(level) as i64;
    let first = START.div_euclid(span);
    let times = format!("&time=passes/t&tv={tv}");
    let mut samples = 0;
    // The tiles from before the first pass to after the second, the gap's included.
    let last = (START + 6000 * STEP + GAP).div_euclid(span);
    let gap_tile = (START + 30_000 * STEP).div_euclid(span);
    for tile in (first - 1..=first + 3)
        .chain([gap_tile])
        .chain(last - 3..=last + 1)
    {
        let uri = format!("/api/tiles/passes/x?v={v}&level={level}&tile={tile}&by=time{times}");
        let (status, headers, body) = get(&app, &uri).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{uri}: {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(headers[header::CACHE_CONTROL], TILE_CACHE_CONTROL);
        let got = LodAnswer::decode(&body).unwrap();
        let (t0, t1) = (tile * span, (tile + 1) * span);
        let lod = format!("/api/lod/passes/x?t0={t0}&t1={t1}&bins=1024&time=passes/t");
        assert_eq!(got, answer(&app, &lod).await, "tile {tile}");
        if tile != gap_tile {
            samples += got.stop - got.start;
        } else {
            assert!(got.columns[0].is_empty(), "a tile in the gap has no bins");
        }
    }
    assert_eq!(samples, 6000, "the tiles hold every sample once");

    // Index tiles use only the timestamps they name: with time= their points carry times.
    let index = format!("/api/tiles/passes/x?v={v}&level=0&tile=0");
    assert_eq!(answer(&app, &index).await.time, None);
    let timed = answer(&app, &format!("{index}{times}")).await;
    assert_eq!(timed.time.unwrap().counts[0], START);

    let stale = format!("/api/tiles/passes/x?v={v}&level=0&tile=0&time=passes/t&tv=0000");
    let (status, _, body) = get(&app, &stale).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(
        error(&body).contains("'passes/t' has changed"),
        "{}",
        error(&body)
    );
    let (status, _, _) = get(
        &app,
        &format!("/api/tiles/passes/x?v={v}&level=52&tile=1&by=time{times}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
