//! Downlink: NumPy arrays served to browsers and scripts as raw bytes, and charted.
//!
//! - [`wire`]: the .npy format, dtypes, conversions and bundles (both sides).
//! - [`lod`]: exact M4 level of detail over long series (both sides).
//! - [`names`]: what an array may be called (both sides).
//! - [`catalog`]: what the API and pages say about an array (both sides).
//! - [`app`]: the Leptos pages (both sides).
//! - `server`: the store, the HTTP API and the router (server only).

// The server's view types nest deeply (the chart island inside the page inside the shell).
#![recursion_limit = "256"]

pub mod app;
pub mod catalog;
pub mod chart;
pub mod lod;
pub mod names;
pub mod wire;

#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the browser bundle: start the reactive runtime; Leptos' loader then
/// hydrates each island of the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    app::mark_hydrated_without_islands();
}
