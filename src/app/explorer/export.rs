//! Getting the visible window out of the chart: PNG of the canvas, `.npy` straight from the
//! API, CSV built in the browser, and "save window" back into the store as a new array.

use leptos::html;
use leptos::prelude::*;

use super::browser::{download, download_text};
use super::client::fetch_raw;
use crate::wire::dtype::DType;
use crate::wire::format::format_elements;
use crate::wire::npy::{NpyHeader, Version};

/// Most rows a CSV export writes; wider windows are cut (the .npy export has no limit).
pub const CSV_MAX_ROWS: usize = 1_000_000;

/// The export buttons of the array `name` (the first charted array) over the samples
/// `shown`.
#[component]
pub fn ExportMenu(
    shown: Signal<(u64, u64)>,
    name: String,
    canvas_ref: NodeRef<html::Canvas>,
) -> impl IntoView {
    let name = StoredValue::new(name);
    let slice = move || {
        let (lo, hi) = shown.get();
        format!("{lo}:{hi}")
    };
    let leaf = move || name.with_value(|n| n.replace('/', "_"));
    let npy = move || format!("/api/arrays/{}?slice={}", name.get_value(), slice());
    let png = move |_| {
        if let Some(canvas) = canvas_ref.get_untracked() {
            if let Ok(url) = canvas.to_data_url() {
                download(&url, &format!("{}.png", leaf()));
            }
        }
    };
    let csv = move |_| {
        let (first, _) = shown.get_untracked();
        let url = format!(
            "/api/arrays/{}?slice={}&format=raw",
            name.get_value(),
            untrack(slice)
        );
        let file = format!("{}.csv", leaf());
        leptos::task::spawn_local(async move {
            if let Ok(raw) = fetch_raw(&url).await {
                let text = csv_text(&raw.bytes, &raw.dtype, &raw.shape, first);
                download_text(&text, "text/csv", &file);
            }
        });
    };
    view! {
        <span class="export">
            <button class="tool" on:click=png data-testid="export-png">"PNG"</button>
            <a class="tool" href=npy download=move || format!("{}.npy", leaf()) data-testid="export-npy">".npy"</a>
            <button class="tool" on:click=csv data-testid="export-csv">".csv"</button>
        </span>
    }
}

/// The "Save window" button: stores the samples `shown` of `array` as a new array, named
/// at a prompt; `saved` gets the name, or why it failed.
#[component]
pub fn SaveWindow(
    shown: Signal<(u64, u64)>,
    array: String,
    saved: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    let array = StoredValue::new(array);
    let save = move |_| {
        let (lo, hi) = shown.get_untracked();
        let array = array.get_value();
        let suggested = format!("saved/{}_{lo}_{hi}", array.replace('/', "_"));
        let Some(target) = web_sys::window().and_then(|w| {
            w.prompt_with_message_and_default("Save the visible window as the array:", &suggested)
                .ok()
                .flatten()
        }) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let outcome = save_window(&array, lo, hi, &target).await;
            saved.set(Some(outcome.map(|()| target)));
        });
    };
    view! {
        <button class="tool" data-testid="save-window" title="Save the visible window as a new array" on:click=save>
            "Save window"
        </button>
    }
}

/// Fetch rows `[lo, hi)` of `array` as raw bytes, wrap them in an `.npy` header built here,
/// and PUT that as the array `target`: the browser ships the typed data as binary.
///
/// # Errors
/// Network errors and the server's error messages.
async fn save_window(array: &str, lo: u64, hi: u64, target: &str) -> Result<(), String> {
    let raw = fetch_raw(&format!("/api/arrays/{array}?slice={lo}:{hi}&format=raw")).await?;
    let header = NpyHeader {
        version: Version::V1,
        dtype: raw.dtype,
        fortran_order: false,
        shape: raw.shape,
    };
    let mut document = header.to_bytes();
    document.extend_from_slice(&raw.bytes);
    crate::app::live::put_npy(target, &document, |_| {}).await
}

/// Raw C-order rows as CSV: the sample index (counted from `first`), then one field per
/// column, at most [`CSV_MAX_ROWS`] rows.
pub fn csv_text(bytes: &[u8], dtype: &DType, shape: &[u64], first: u64) -> String {
    let dim = |i: usize| shape.get(i).map_or(1, |&d| d as usize);
    let rows = dim(0).min(CSV_MAX_ROWS);
    let per_row = dim(1).max(1);
    let texts = format_elements(bytes, dtype, rows * per_row);
    let mut out = String::with_capacity(rows * 16);
    out.push_str("index");
    for column in 0..per_row {
        out.push_str(&format!(",c{column}"));
    }
    out.push('\n');
    for (row, chunk) in texts.chunks(per_row).enumerate() {
        out.push_str(&(first + row as u64).to_string());
        for value in chunk {
            out.push(',');
            out.push_str(value);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_an_index_and_one_field_per_column() {
        let bytes: Vec<u8> = [1.5f32, -2.0, 3.25, 4.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let dtype = DType::parse_descr("<f4").unwrap();
        assert_eq!(
            csv_text(&bytes, &dtype, &[2, 2], 10),
            "index,c0,c1\n10,1.5,-2.0\n11,3.25,4.0\n"
        );
        assert_eq!(
            csv_text(&bytes, &dtype, &[4], 0),
            "index,c0\n0,1.5\n1,-2.0\n2,3.25\n3,4.0\n"
        );
    }
}
