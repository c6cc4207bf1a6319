//! The crosshair's readout: the exact sample under the cursor, its time to the nanosecond
//! and its values as NumPy prints them, read as raw bytes so int64 and datetime64 stay exact.

use std::collections::HashMap;

use leptos::prelude::*;

use super::client::fetch_raw;
use crate::catalog::SeriesInfo;
use crate::wire::format::format_elements;

/// How long the cursor rests on a sample before its values are read, ms.
pub const READOUT_DEBOUNCE_MS: i32 = 40;

/// What the crosshair reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Readout {
    /// The sample index.
    pub index: u64,
    /// Its time, if the series have timestamps.
    pub time: Option<String>,
    /// Each visible series' label and value.
    pub values: Vec<(String, String)>,
}

/// The exact values at sample `index` of `series`; `time` is its time, as text, if the
/// chart is in time.
///
/// # Errors
/// Network errors and the server's error messages.
pub async fn read_exact(
    index: u64,
    series: &[(usize, SeriesInfo)],
    time: Option<String>,
) -> Result<Readout, String> {
    let slice = format!("{index}:{}", index + 1);
    let mut values = Vec::new();
    let mut rows: HashMap<String, Vec<String>> = HashMap::new();
    for (_, s) in series {
        if !rows.contains_key(&s.array) {
            let url = format!("/api/arrays/{}?slice={slice}&format=raw", s.array);
            let raw = fetch_raw(&url).await?;
            let texts = format_elements(&raw.bytes, &raw.dtype, s.columns as usize);
            rows.insert(s.array.clone(), texts);
        }
        let text = rows[&s.array]
            .get(s.column as usize)
            .cloned()
            .unwrap_or_default();
        values.push((s.label.clone(), text));
    }
    Ok(Readout {
        index,
        time,
        values,
    })
}

/// The line under the chart: the readout, or how to use the chart.
#[component]
pub fn ReadoutBar(readout: RwSignal<Option<Readout>>) -> impl IntoView {
    view! {
        <div class="readout" data-testid="readout" aria-live="polite">
            {move || match readout.get() {
                None => view! { <span class="muted">"Hover the chart to read exact values · scroll to zoom · drag to pan · shift-drag to box-zoom · double-click or 0 to reset"</span> }.into_any(),
                Some(r) => view! {
                    <span class="at" data-testid="readout-at">
                        {r.time.clone().unwrap_or_default()}
                        <span class="muted">{format!(" sample {}", r.index)}</span>
                    </span>
                    {r.values.into_iter().map(|(label, value)| view! {
                        <span class="value" data-testid="readout-value">
                            <span class="muted">{label}" "</span><code>{value}</code>
                        </span>
                    }).collect_view()}
                }.into_any(),
            }}
        </div>
    }
}
