//! The integration tests, as one test binary: every file directly in `tests/` is a binary of
//! its own that links the whole crate again (about 50 MB each in a debug build), so the
//! router, view, corpus and README tests share this one. `tests/pages.rs` stays alone: its
//! leptos reproducer sets a process-wide flag.

#[cfg(feature = "ssr")]
#[path = "../common/mod.rs"]
mod common;

mod api;
mod bucket;
mod fuzz_corpus;
mod npz_cache;
mod readme_map;
mod tiles;
mod views;
mod write;
mod write_sets;
mod zarr_cache;
