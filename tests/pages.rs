//! The pages, rendered through the router on the server's own runtime.
//!
//! **Why renders used to hang in tests, and what stops it.** Building a router lists its
//! page routes, and listing renders the app once with resource loading switched off through
//! a process-wide flag (`leptos::server::SuppressResourceLoad`, set by leptos_router's
//! `RouteList::generate`). A resource first polled while the flag is on waits forever, and an
//! `SsrMode::Async` page waits for its resources, so a page rendered while another test built
//! its router never finished (about 1 run in 10). Downlink now lists the routes once per
//! process, before the first router exists (`PAGE_ROUTES` in `src/server/mod.rs`); the
//! first test below builds routers beside renders and fails if one stalls. The second is the
//! minimal reproducer of the cause in leptos itself: if it starts failing, leptos has fixed
//! the flag and the workaround may go.
#![cfg(feature = "ssr")]

mod common;

use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use downlink::server::write::WriteConfig;
use downlink::server::{router, AppState};
use leptos::prelude::LeptosOptions;

use common::{f64s, on_server_runtime, respond, save};

/// Held while rendering; the reproducer holds it alone, as the flag it sets is global.
static RENDERING: Mutex<()> = Mutex::new(());

/// Longest a page render may take here before it counts as stalled.
const STALLED: Duration = Duration::from_secs(10);

fn fixture() -> (tempfile::TempDir, AppState) {
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
    std::fs::write(dir.path().join("broken.npy"), b"\x93NUMPY\x01\x00garbage").unwrap();
    // Timestamps in another folder, a minute apart from 2026-01-01.
    let stamps: Vec<u8> = (0..100i64)
        .flat_map(|i| (1_767_225_600_000_000_000 + i * 60_000_000_000).to_le_bytes())
        .collect();
    save(dir.path(), "clock/t", "<M8[ns]", &[100], false, &stamps);
    let state = AppState::new(
        LeptosOptions::builder().output_name("downlink").build(),
        dir.path(),
        WriteConfig::default(),
    );
    (dir, state)
}

async fn render(app: &Router, uri: &str) -> (StatusCode, String) {
    let request = Request::get(uri).body(Body::empty()).unwrap();
    let (status, _, body) = tokio::time::timeout(STALLED, respond(app, request))
        .await
        .unwrap_or_else(|_| panic!("the render of {uri} stalled"));
    (status, String::from_utf8(body).unwrap())
}

/// The index and array pages render, and a missing array is a 404; then 64 renders at once,
/// while other routers are being built. A render may finish (and drop its reactive owner) on
/// another worker thread than it started on, which a thread-bound value in a page panics on,
/// and the worker stacks must hold a debug build's render.
#[test]
fn pages_render_alone_concurrently_and_beside_new_routers() {
    let _rendering = RENDERING.lock().unwrap_or_else(|p| p.into_inner());
    let (dir, state) = fixture();
    let app = router(state.clone());
    on_server_runtime(async move {
        let _dir = dir;
        let (status, html) = render(&app, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("href=\"/view/group/a\""), "{html}");
        let (status, html) = render(&app, "/view/ramp").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("(100,)"));
        assert_eq!(render(&app, "/view/missing").await.0, StatusCode::NOT_FOUND);
        assert_eq!(
            render(&app, "/view/.hidden").await.0,
            StatusCode::BAD_REQUEST
        );
        // By index, or in time by the timestamps `time=` names.
        let (_, by_index) = render(&app, "/view/ramp").await;
        assert!(!by_index.contains("2026-01-01 UTC"));
        let (status, in_time) = render(&app, "/view/ramp?time=clock/t").await;
        assert_eq!(status, StatusCode::OK);
        assert!(in_time.contains("2026-01-01 UTC"), "the axis is in time");
        let (status, html) = render(&app, "/view/broken").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("cannot be read"), "{html}");

        let builders = tokio::task::spawn_blocking(move || {
            for _ in 0..50 {
                drop(router(state.clone()));
            }
        });
        let renders: Vec<_> = (0..64)
            .map(|i| {
                let app = app.clone();
                let uri = if i % 2 == 0 {
                    "/view/ramp"
                } else {
                    "/view/group"
                };
                tokio::spawn(async move { render(&app, uri).await.0 })
            })
            .collect();
        for render in renders {
            let status = render.await.expect("the render did not panic");
            assert_eq!(status, StatusCode::OK);
        }
        builders.await.expect("the routers were built");
    });
}

/// The cause, reduced: with resource loading suppressed (as it is while any router lists
/// its routes), a page that waits for a resource never finishes.
#[test]
fn a_page_rendered_while_resource_loads_are_suppressed_never_finishes() {
    let _rendering = RENDERING.lock().unwrap_or_else(|p| p.into_inner());
    let (dir, state) = fixture();
    let app = router(state);
    on_server_runtime(async move {
        let _dir = dir;
        let suppressed = leptos::server::SuppressResourceLoad::new();
        let request = Request::get("/").body(Body::empty()).unwrap();
        let outcome = tokio::time::timeout(Duration::from_secs(2), respond(&app, request)).await;
        drop(suppressed);
        assert!(
            outcome.is_err(),
            "the render finished: leptos no longer stalls resources here"
        );
        // With the flag off again, the same router renders.
        assert_eq!(render(&app, "/").await.0, StatusCode::OK);
    });
}
