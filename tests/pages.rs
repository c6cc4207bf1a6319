//! The pages, rendered through the router on the server's own runtime.
//!
//! One test, alone in its process: page renders in tests running beside each other in one
//! process (each with its own runtime) hung now and then (about 1 run in 10, seen in
//! `tests/api.rs` before this file existed); the server has one runtime.
#![cfg(feature = "ssr")]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use downlink::server::write::WriteConfig;
use downlink::server::{router, AppState};
use leptos::prelude::LeptosOptions;

use common::{f64s, on_server_runtime, respond, save};

/// The index and array pages render, and a missing array is a 404; then 64 renders at
/// once: a render may finish (and drop its reactive owner) on another worker thread than it
/// started on, which a thread-bound value in a page panics on, and the worker stacks must
/// hold a debug build's render.
#[test]
fn pages_render_alone_and_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    save(
        dir.path(),
        "ramp",
        "<f8",
        &[100],
        false,
        &f64s((0..100).map(f64::from)),
    );
    save(
        dir.path(),
        "group/a",
        "<f8",
        &[3],
        false,
        &f64s([1.0, 2.0, 3.0]),
    );
    let state = AppState::new(
        LeptosOptions::builder().output_name("downlink").build(),
        dir.path(),
        WriteConfig::default(),
    );
    let app = router(state);
    on_server_runtime(async move {
        let _dir = dir;
        let get = |uri: &str| respond(&app, Request::get(uri).body(Body::empty()).unwrap());
        let (status, _, body) = get("/").await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains("href=\"/view/group/a\""), "{html}");
        let (status, _, body) = get("/view/ramp").await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8(body).unwrap().contains("(100,)"));
        assert_eq!(get("/view/missing").await.0, StatusCode::NOT_FOUND);

        let renders: Vec<_> = (0..64)
            .map(|i| {
                let app = app.clone();
                let uri = if i % 2 == 0 {
                    "/view/ramp"
                } else {
                    "/view/group"
                };
                tokio::spawn(async move {
                    let request = Request::get(uri).body(Body::empty()).unwrap();
                    respond(&app, request).await.0
                })
            })
            .collect();
        for render in renders {
            let status = render.await.expect("the render did not panic");
            assert_eq!(status, StatusCode::OK);
        }
    });
}
