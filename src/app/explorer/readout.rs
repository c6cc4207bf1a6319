//! The crosshair's readout: the exact sample under the cursor, its time to the nanosecond
//! and its values as NumPy prints them, read as raw bytes so int64 and datetime64 stay exact.

use std::collections::HashMap;

use leptos::prelude::*;

use super::client::{fetch_bytes, fetch_raw};
use crate::catalog::{SeriesInfo, TimeInfo};
use crate::chart::format_time_ns;
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

/// The exact time and values at sample `index` of `series`.
///
/// # Errors
/// Network errors and the server's error messages.
pub async fn read_exact(
    index: u64,
    series: &[(usize, SeriesInfo)],
    time_array: Option<&str>,
    time: Option<TimeInfo>,
) -> Result<Readout, String> {
    let slice = format!("{index}:{}", index + 1);
    let time = match (time_array, time) {
        (Some(array), Some(info)) => {
            let url = format!("/api/arrays/{array}?slice={slice}&format=raw&dtype=%3Ci8");
            let (bytes, _) = fetch_bytes(&url).await?;
            let count = i64::from_le_bytes(
                bytes
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .ok_or("short read")?,
            );
            Some(format_time_ns(count.saturating_mul(info.unit_ns)))
        }
        _ => None,
    };
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
