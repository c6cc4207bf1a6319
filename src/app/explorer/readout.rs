//! The crosshair's readout: for each visible series, its sample nearest the cursor, with
//! that sample's own time to the nanosecond (series at several rates each read their own)
//! and its value as NumPy prints it, read as raw bytes so int64 and datetime64 stay exact.

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
    /// Where the cursor is: its instant on a time axis, else its sample.
    pub at: String,
    /// Each visible series' sample nearest the cursor.
    pub values: Vec<ReadoutValue>,
}

/// One series' sample in the readout.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadoutValue {
    /// The series' key.
    pub key: String,
    /// Its label.
    pub label: String,
    /// The value, as NumPy prints it.
    pub value: String,
    /// The sample's index in its array.
    pub index: u64,
    /// The sample's exact time, if the series is charted in time.
    pub time: Option<String>,
    /// Where the sample is on the x axis (its index, or ns after the axis' start).
    pub x: f64,
}

/// One series' sample to read: its index, its time as text, and its place on the x axis.
pub type Point = (SeriesInfo, u64, Option<String>, f64);

/// The exact values of `points`, each a series' sample; `at` says where the cursor is.
///
/// # Errors
/// Network errors and the server's error messages.
pub async fn read_exact(at: String, points: Vec<Point>) -> Result<Readout, String> {
    let mut values = Vec::new();
    let mut rows: HashMap<(String, u64), Vec<String>> = HashMap::new();
    for (s, index, time, x) in points {
        let row = (s.array.clone(), index);
        if !rows.contains_key(&row) {
            let url = format!(
                "/api/arrays/{}?slice={index}:{}&format=raw",
                s.array,
                index + 1
            );
            let raw = fetch_raw(&url).await?;
            let texts = format_elements(&raw.bytes, &raw.dtype, s.columns as usize);
            rows.insert(row.clone(), texts);
        }
        let value = rows[&row]
            .get(s.column as usize)
            .cloned()
            .unwrap_or_default();
        values.push(ReadoutValue {
            key: s.key,
            label: s.label,
            value,
            index,
            time,
            x,
        });
    }
    Ok(Readout { at, values })
}

/// The samples of `values` grouped by when they were taken (series that share timestamps
/// read the same sample), in order: each group's time and index as text, and its values.
fn by_when(values: Vec<ReadoutValue>) -> Vec<(String, Vec<ReadoutValue>)> {
    let mut groups: Vec<(String, Vec<ReadoutValue>)> = Vec::new();
    for value in values {
        let when = match &value.time {
            Some(time) => format!("{time} · sample {}", value.index),
            None => format!("sample {}", value.index),
        };
        match groups.last_mut() {
            Some((last, group)) if *last == when => group.push(value),
            _ => groups.push((when, vec![value])),
        }
    }
    groups
}

/// The line under the chart: the readout, or how to use the chart.
#[component]
pub fn ReadoutBar(readout: RwSignal<Option<Readout>>) -> impl IntoView {
    view! {
        <div class="readout" data-testid="readout" aria-live="polite">
            {move || match readout.get() {
                None => view! { <span class="muted">"Hover the chart to read exact values · scroll to zoom · drag to pan · shift-drag to box-zoom · click to place cursors A and B · Alt+scroll zooms y · double-click or 0 to reset"</span> }.into_any(),
                Some(r) => view! {
                    <span class="at" data-testid="readout-at">{r.at}</span>
                    {by_when(r.values).into_iter().map(|(when, values)| view! {
                        <span class="readout-group">
                            <span class="muted when" data-testid="readout-when">{when}</span>
                            {values.into_iter().map(|v| view! {
                                <span
                                    class="value"
                                    data-testid="readout-value"
                                    data-key=v.key
                                    data-index=v.index.to_string()
                                    data-time=v.time
                                >
                                    <span class="muted">{v.label}</span>
                                    <code>{v.value}</code>
                                </span>
                            }).collect_view()}
                        </span>
                    }).collect_view()}
                }.into_any(),
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_read_at_one_instant_share_a_group() {
        let value = |key: &str, index: u64, time: Option<&str>| ReadoutValue {
            x: index as f64,
            key: key.into(),
            label: key.into(),
            value: "1".into(),
            index,
            time: time.map(str::to_string),
        };
        let groups = by_when(vec![
            value("a", 5, Some("T1")),
            value("b", 5, Some("T1")),
            value("hk", 2, Some("T0")),
            value("raw", 5, None),
        ]);
        let shape: Vec<(&str, usize)> = groups.iter().map(|(w, v)| (w.as_str(), v.len())).collect();
        assert_eq!(
            shape,
            [("T1 · sample 5", 2), ("T0 · sample 2", 1), ("sample 5", 1)]
        );
    }
}
