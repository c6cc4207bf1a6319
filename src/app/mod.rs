//! The Leptos pages, rendered on the server. The interactive parts are islands (the chart,
//! and the index's list with its filter and uploader): only they are compiled to wasm and
//! hydrated in the browser; the rest of each page is plain HTML and links load pages.

mod array_page;
pub mod data;
pub mod explorer;
mod index_page;
pub mod live;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{SsrMode, StaticSegment, WildcardSegment};

use array_page::ArrayPage;
use index_page::IndexPage;

/// The HTML document around the app (server only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.ico"/>
                <AutoReload options=options.clone()/>
                <link rel="stylesheet" id="leptos" href=stylesheet_href(&options)/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The stylesheet's address: `/pkg/NAME.css`, or, when the site was built with cargo-leptos'
/// `hash-files`, its hashed name from the hash file beside the server binary (the file
/// `HydrationScripts` reads for the script and the wasm).
fn stylesheet_href(options: &LeptosOptions) -> String {
    let hash = options
        .hash_files
        .then(|| {
            let exe = std::env::current_exe().ok()?;
            let hashes = std::fs::read_to_string(exe.parent()?.join(&*options.hash_file)).ok()?;
            hashes.lines().find_map(|line| {
                let (kind, hash) = line.split_once(':')?;
                (kind.trim() == "css").then(|| hash.trim().to_string())
            })
        })
        .flatten();
    match hash {
        Some(hash) => format!(
            "/{}/{}.{hash}.css",
            options.site_pkg_dir, options.output_name
        ),
        None => format!("/{}/{}.css", options.site_pkg_dir, options.output_name),
    }
}

/// The application: a header and the routed pages.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|text: String| {
            if text.is_empty() { "Downlink".to_string() } else { format!("{text} · Downlink") }
        }/>
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true"></span>
                    "Downlink"
                </A>
                <nav>
                    <a href="/api/arrays">"API"</a>
                </nav>
            </header>
            <main>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=StaticSegment("") view=IndexPage ssr=SsrMode::Async/>
                    <Route
                        path=(StaticSegment("view"), WildcardSegment("name"))
                        view=ArrayPage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </main>
        </Router>
    }
}

/// How many islands have hydrated on this page.
static ISLANDS_HYDRATED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Called by each island: once every island on the page has hydrated, mark `<body
/// data-hydrated="true">` for people and tests (effects run only in the browser).
pub fn island_hydrated() {
    use std::sync::atomic::Ordering;
    Effect::new(move |_| {
        mark_hydrated_once(ISLANDS_HYDRATED.fetch_add(1, Ordering::Relaxed) + 1);
    });
}

/// Marks a page that has no islands as hydrated as soon as the bundle runs.
pub fn mark_hydrated_without_islands() {
    mark_hydrated_once(0);
}

/// Marks the page as hydrated if `hydrated` islands are all the islands it has.
fn mark_hydrated_once(hydrated: usize) {
    let islands = document()
        .get_elements_by_tag_name("leptos-island")
        .length();
    if hydrated >= islands as usize {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <section class="panel empty">
            <h1>"Page not found"</h1>
            <p><A href="/">"Back to the arrays"</A></p>
        </section>
    }
}
