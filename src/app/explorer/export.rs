//! Getting the visible window out of the chart, every visible series with its name and
//! timestamps: PNG of the canvas; `.npz` of each array's window and its timestamps (`.npy`
//! straight from the API when one array is shown); CSV with one column per series and a
//! time column in ISO 8601 with nanoseconds; and "save window" back into the store.
//!
//! In an export each array is named by its key (`/` becomes `_`), and its timestamps `t`
//! when all share one window of one timestamps array, else `t_<name>`: the names by which
//! a group pairs series with their timestamps, so a saved window opens as the same view.
//! Limits cut long windows, and the page says so.

use leptos::prelude::*;

use super::browser::{download, download_bytes, download_text};
use super::client::{fetch_bytes, fetch_raw, RawArray};
use super::Chart;
use crate::catalog::SeriesInfo;
use crate::chart::format_time_ns;
use crate::wire::dtype::ByteOrder;
use crate::wire::format::format_elements;
use crate::wire::npz::write_npz;

/// Most rows a CSV export writes.
pub const CSV_MAX_ROWS: usize = 1_000_000;
/// Most rows of each array an `.npz` export or a saved window holds (the browser builds
/// them in memory; the `.npy` link of one array has no limit).
pub const EXPORT_MAX_ROWS: u64 = 10_000_000;

/// What the page says after an export.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportNote {
    /// The window was saved as this array or group.
    Saved(String),
    /// The export was cut: why.
    Cut(String),
    /// The export failed: why.
    Failed(String),
}

impl ExportNote {
    /// The note as page content.
    pub fn view(self) -> AnyView {
        match self {
            ExportNote::Saved(name) => view! {
                <p class="saved" data-testid="saved">"Saved as "<a href=format!("/view/{name}")>{name.clone()}</a></p>
            }
            .into_any(),
            ExportNote::Cut(why) => {
                view! { <p class="notice" role="status" data-testid="export-notice">{why}</p> }
                    .into_any()
            }
            ExportNote::Failed(why) => {
                view! { <p class="error banner" role="alert">{why}</p> }.into_any()
            }
        }
    }
}

/// One array of an export: its visible columns, the rows the window shows, and its
/// timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The array.
    pub array: String,
    /// Its name in the export.
    pub member: String,
    /// The keys and column numbers of its visible series.
    pub columns: Vec<(String, u32)>,
    /// Columns the array has.
    pub width: u32,
    /// The rows `[lo, hi)` to export.
    pub rows: (u64, u64),
    /// Its timestamps array, if charted in time.
    pub time: Option<String>,
}

/// The name of `series`' array in an export: its key without a column suffix, `/` as `_`.
fn member_name(series: &SeriesInfo) -> String {
    let key = if series.columns > 1 {
        let suffix = format!(".{}", series.column);
        series.key.strip_suffix(&suffix).unwrap_or(&series.key)
    } else {
        &series.key
    };
    key.replace('/', "_")
}

/// The parts of an export of the `visible` series, each array once with the rows `rows`
/// gives for it.
pub fn parts(visible: &[SeriesInfo], rows: impl Fn(&str) -> (u64, u64)) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    for s in visible {
        match parts.iter_mut().find(|p| p.array == s.array) {
            Some(part) => part.columns.push((s.key.clone(), s.column)),
            None => parts.push(Part {
                array: s.array.clone(),
                member: member_name(s),
                columns: vec![(s.key.clone(), s.column)],
                width: s.columns,
                rows: rows(&s.array),
                time: s.time.as_ref().map(|t| t.array.clone()),
            }),
        }
    }
    parts
}

/// The name of each part's timestamps in the export: `t` when every part has the same
/// timestamps over the same rows, else `t_<member>`.
pub fn time_members(parts: &[Part]) -> Vec<Option<String>> {
    let shared = parts
        .windows(2)
        .all(|w| w[0].time == w[1].time && w[0].rows == w[1].rows);
    parts
        .iter()
        .map(|p| {
            p.time.as_ref().map(|_| {
                if shared {
                    "t".to_string()
                } else {
                    format!("t_{}", p.member)
                }
            })
        })
        .collect()
}

/// `rows` cut to at most `max`; whether it was cut.
fn cut((lo, hi): (u64, u64), max: u64) -> ((u64, u64), bool) {
    let hi_cut = hi.min(lo.saturating_add(max));
    ((lo, hi_cut), hi_cut < hi)
}

/// The note for parts cut to `max` rows, if any was.
fn cut_note(parts: &[Part], max: u64, what: &str) -> Option<ExportNote> {
    let cut: Vec<String> = parts
        .iter()
        .filter(|p| p.rows.1 - p.rows.0 > max)
        .map(|p| format!("{} ({} rows)", p.member, p.rows.1 - p.rows.0))
        .collect();
    (!cut.is_empty()).then(|| {
        ExportNote::Cut(format!(
            "The {what} holds the first {max} rows of {}: zoom in to export the rest.",
            cut.join(", ")
        ))
    })
}

/// The `.npy` documents of an export: each array's rows and its timestamps', named.
async fn documents(parts: &[Part]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut documents: Vec<(String, Vec<u8>)> = Vec::new();
    for (part, time) in parts.iter().zip(time_members(parts)) {
        let ((lo, hi), _) = cut(part.rows, EXPORT_MAX_ROWS);
        let url = |array: &str| format!("/api/arrays/{array}?slice={lo}:{hi}");
        documents.push((part.member.clone(), fetch_bytes(&url(&part.array)).await?.0));
        if let (Some(times), Some(name)) = (&part.time, time) {
            if !documents.iter().any(|(n, _)| *n == name) {
                documents.push((name, fetch_bytes(&url(times)).await?.0));
            }
        }
    }
    Ok(documents)
}

/// Counts of a 1-D datetime64 `raw` answer, in its byte order.
fn counts(raw: &RawArray) -> Vec<i64> {
    let big = raw
        .dtype
        .as_scalar()
        .is_some_and(|s| s.order == ByteOrder::Big);
    raw.bytes
        .chunks_exact(8)
        .map(|b| {
            let b: [u8; 8] = b.try_into().unwrap_or_default();
            if big {
                i64::from_be_bytes(b)
            } else {
                i64::from_le_bytes(b)
            }
        })
        .collect()
}

/// One array's rows for a CSV: its columns' values as text, row by row, and each row's
/// instant (ns since the Unix epoch) or, by index, the first row's index.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvPart {
    /// The header of each column.
    pub names: Vec<String>,
    /// The values, `rows[r][c]`.
    pub rows: Vec<Vec<String>>,
    /// Each row's instant, when charted in time.
    pub times: Option<Vec<i64>>,
    /// The index of the first row.
    pub first: u64,
}

/// The CSV of `parts`: a `time` column (ISO 8601, UTC, nanoseconds) and one column per
/// series, rows in time order, each holding the samples taken at its instant (empty where
/// a series has none); by index, an `index` column instead. At most `max_rows` rows;
/// whether it was cut.
pub fn csv_text(parts: &[CsvPart], max_rows: usize) -> (String, bool) {
    let in_time = parts.iter().all(|p| p.times.is_some());
    let mut out = String::from(if in_time { "time" } else { "index" });
    for name in parts.iter().flat_map(|p| &p.names) {
        out.push(',');
        out.push_str(name);
    }
    out.push('\n');
    let mut next = vec![0usize; parts.len()];
    let mut written = 0;
    loop {
        // The earliest instant (or index) any part has left, and the parts that have it.
        let head = |(p, n): (&CsvPart, usize)| -> Option<i128> {
            (n < p.rows.len()).then(|| match &p.times {
                Some(times) if in_time => i128::from(times[n]),
                _ => i128::from(p.first) + n as i128,
            })
        };
        let Some(at) = parts
            .iter()
            .zip(next.iter().copied())
            .filter_map(head)
            .min()
        else {
            return (out, false);
        };
        if written == max_rows {
            return (out, true);
        }
        if in_time {
            out.push_str(&format_time_ns(at as i64));
        } else {
            out.push_str(&at.to_string());
        }
        for (p, n) in parts.iter().zip(next.iter_mut()) {
            let here = head((p, *n)) == Some(at);
            for c in 0..p.names.len() {
                out.push(',');
                if here {
                    out.push_str(&p.rows[*n][c]);
                }
            }
            if here {
                *n += 1;
            }
        }
        out.push('\n');
        written += 1;
    }
}

/// The rows of one part for a CSV, fetched as raw bytes.
async fn csv_part(part: &Part, unit_ns: Option<i64>) -> Result<CsvPart, String> {
    let ((lo, hi), _) = cut(part.rows, CSV_MAX_ROWS as u64);
    let url = |array: &str| format!("/api/arrays/{array}?slice={lo}:{hi}&format=raw");
    let raw = fetch_raw(&url(&part.array)).await?;
    let width = part.width.max(1) as usize;
    let rows_n = raw.shape.first().copied().unwrap_or(0) as usize;
    let texts = format_elements(&raw.bytes, &raw.dtype, rows_n * width);
    let rows = texts
        .chunks(width)
        .map(|row| {
            part.columns
                .iter()
                .map(|(_, c)| row.get(*c as usize).cloned().unwrap_or_default())
                .collect()
        })
        .collect();
    let times = match (&part.time, unit_ns) {
        (Some(times), Some(unit)) => {
            let raw = fetch_raw(&url(times)).await?;
            Some(
                counts(&raw)
                    .into_iter()
                    .map(|c| c.saturating_mul(unit))
                    .collect(),
            )
        }
        _ => None,
    };
    Ok(CsvPart {
        names: part.columns.iter().map(|(key, _)| key.clone()).collect(),
        rows,
        times,
        first: lo,
    })
}

/// Store every part (and its timestamps) as the group `target`, all or none (an existing
/// group of that name is replaced whole), or a single part without timestamps as the
/// array `target`.
async fn save(parts: &[Part], target: &str) -> Result<(), String> {
    let single = parts.len() == 1 && parts[0].time.is_none();
    let documents = documents(parts).await?;
    if single {
        crate::app::live::put_npy(target, &documents[0].1, |_| {}).await?;
        return Ok(());
    }
    // One .npz PUT: the server stores the group whole or not at all.
    let members: Vec<(String, Vec<u8>)> = documents
        .into_iter()
        .map(|(name, document)| (format!("{name}.npy"), document))
        .collect();
    let archive = write_npz(&members).map_err(|e| e.to_string())?;
    crate::app::live::put_bytes(target, "application/zip", &archive, |_| {}).await?;
    Ok(())
}

/// The export buttons and "save window" of `chart`; `note` gets what the page should say.
#[component]
pub fn ExportMenu(chart: Chart, note: RwSignal<Option<ExportNote>>) -> impl IntoView {
    let current = move || {
        let visible: Vec<SeriesInfo> = chart.visible().into_iter().map(|(_, s)| s).collect();
        parts(&visible, |array| chart.shown_samples(array))
    };
    let file = move || {
        let name = chart
            .init
            .with_value(|i| i.url.as_ref().map(|u| u.name.clone()))
            .or_else(|| chart.visible_arrays().first().map(|s| s.array.clone()))
            .unwrap_or_else(|| "window".into());
        name.replace('/', "_")
    };
    let unit_of = move |array: &str| {
        chart.init.with_value(|i| {
            i.series
                .iter()
                .find(|s| s.array == array)
                .and_then(|s| s.time.as_ref().map(|t| t.unit_ns))
        })
    };
    // One array: its window straight from the API, without a limit.
    let npy = move || {
        let parts = current();
        (parts.len() == 1).then(|| {
            let (lo, hi) = parts[0].rows;
            format!("/api/arrays/{}?slice={lo}:{hi}", parts[0].array)
        })
    };
    let png = move |_| {
        if let Some(canvas) = chart.canvas_ref.get_untracked() {
            if let Ok(url) = canvas.to_data_url() {
                download(&url, &format!("{}.png", untrack(file)));
            }
        }
    };
    let npz = move |_| {
        let (parts, file) = untrack(|| (current(), file()));
        leptos::task::spawn_local(async move {
            let built = documents(&parts).await.and_then(|members| {
                let members = members.into_iter().map(|(n, d)| (format!("{n}.npy"), d));
                write_npz(&members.collect::<Vec<_>>()).map_err(|e| e.to_string())
            });
            match built {
                Ok(archive) => {
                    download_bytes(&archive, "application/zip", &format!("{file}.npz"));
                    note.set(cut_note(&parts, EXPORT_MAX_ROWS, ".npz"));
                }
                Err(err) => note.set(Some(ExportNote::Failed(err))),
            }
        });
    };
    let csv = move |_| {
        let (parts, file) = untrack(|| (current(), file()));
        let units: Vec<Option<i64>> = parts.iter().map(|p| unit_of(&p.array)).collect();
        leptos::task::spawn_local(async move {
            let mut tables = Vec::new();
            for (part, unit) in parts.iter().zip(units) {
                match csv_part(part, unit).await {
                    Ok(table) => tables.push(table),
                    Err(err) => return note.set(Some(ExportNote::Failed(err))),
                }
            }
            let (text, was_cut) = csv_text(&tables, CSV_MAX_ROWS);
            download_text(&text, "text/csv", &format!("{file}.csv"));
            let rows_cut = cut_note(&parts, CSV_MAX_ROWS as u64, "CSV");
            note.set(rows_cut.or_else(|| {
                was_cut.then(|| {
                    ExportNote::Cut(format!(
                        "The CSV holds the first {CSV_MAX_ROWS} rows: zoom in to export the rest."
                    ))
                })
            }));
        });
    };
    let save_window = move |_| {
        let parts = untrack(current);
        let Some(first) = parts.first() else {
            return;
        };
        let (lo, hi) = first.rows;
        let suggested = format!("saved/{}_{lo}_{hi}", untrack(file));
        let Some(target) = web_sys::window().and_then(|w| {
            w.prompt_with_message_and_default("Save the visible window as:", &suggested)
                .ok()
                .flatten()
        }) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let outcome = save(&parts, &target).await;
            note.set(Some(match outcome {
                Ok(()) => cut_note(&parts, EXPORT_MAX_ROWS, "saved window")
                    .unwrap_or(ExportNote::Saved(target)),
                Err(err) => ExportNote::Failed(err),
            }));
        });
    };
    view! {
        <button class="tool" data-testid="save-window" title="Save the visible window into the store" on:click=save_window>
            "Save window"
        </button>
        <span class="export">
            <button class="tool" on:click=png data-testid="export-png">"PNG"</button>
            {move || npy().map(|href| view! {
                <a class="tool" href=href download=format!("{}.npy", file()) data-testid="export-npy">".npy"</a>
            })}
            <button class="tool" on:click=npz data-testid="export-npz" title="Every visible series and its timestamps">".npz"</button>
            <button class="tool" on:click=csv data-testid="export-csv">".csv"</button>
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::SeriesTime;
    use crate::wire::dtype::DType;

    fn series(key: &str, array: &str, column: u32, columns: u32, time: Option<&str>) -> SeriesInfo {
        SeriesInfo {
            key: key.into(),
            array: array.into(),
            column,
            columns,
            label: key.into(),
            dtype: "<f4".into(),
            len: 100,
            version: String::new(),
            time: time.map(|t| SeriesTime {
                array: t.into(),
                version: String::new(),
                unit_ns: 1,
                first_ns: 0,
                last_ns: 99,
                spacing_ns: Some(1),
            }),
        }
    }

    #[test]
    fn an_export_names_each_array_and_its_timestamps() {
        let visible = [
            series("rssi", "demo/pass/rssi", 0, 1, Some("demo/pass/t")),
            series(
                "attitude.1",
                "demo/pass/attitude",
                1,
                4,
                Some("demo/pass/t"),
            ),
            series(
                "attitude.3",
                "demo/pass/attitude",
                3,
                4,
                Some("demo/pass/t"),
            ),
        ];
        let parts = parts(&visible, |_| (10, 20));
        assert_eq!(parts.len(), 2, "one part per array");
        assert_eq!(parts[1].member, "attitude");
        assert_eq!(
            parts[1].columns,
            [("attitude.1".to_string(), 1), ("attitude.3".to_string(), 3)]
        );
        assert_eq!(time_members(&parts), [Some("t".into()), Some("t".into())]);
        // Another rate: each its own timestamps, named as a group pairs them.
        let mut two_rates = parts.clone();
        two_rates.push(
            super::parts(
                &[series(
                    "demo/hk/bus_v",
                    "demo/hk/bus_v",
                    0,
                    1,
                    Some("demo/hk/t"),
                )],
                |_| (0, 3),
            )
            .remove(0),
        );
        assert_eq!(two_rates[2].member, "demo_hk_bus_v");
        assert_eq!(
            time_members(&two_rates),
            [
                Some("t_rssi".into()),
                Some("t_attitude".into()),
                Some("t_demo_hk_bus_v".into())
            ]
        );
        assert_eq!(cut((5, 50), 10), ((5, 15), true));
        assert_eq!(cut((5, 10), 10), ((5, 10), false));
        assert!(cut_note(&parts, 10, "CSV").is_none());
        assert!(
            matches!(cut_note(&parts, 5, "CSV"), Some(ExportNote::Cut(why)) if why.contains("rssi (10 rows)"))
        );
    }

    #[test]
    fn csv_rows_follow_time_across_rates() {
        let fast = CsvPart {
            names: vec!["x".into(), "y".into()],
            rows: (0..4)
                .map(|i| vec![format!("x{i}"), format!("y{i}")])
                .collect(),
            times: Some(vec![0, 500_000_000, 1_000_000_000, 1_500_000_000]),
            first: 0,
        };
        let slow = CsvPart {
            names: vec!["hk".into()],
            rows: vec![vec!["h0".into()], vec!["h1".into()]],
            times: Some(vec![0, 1_000_000_000]),
            first: 7,
        };
        let (text, was_cut) = csv_text(&[fast.clone(), slow], 10);
        assert!(!was_cut);
        assert_eq!(
            text,
            "time,x,y,hk\n\
             1970-01-01T00:00:00.000000000Z,x0,y0,h0\n\
             1970-01-01T00:00:00.500000000Z,x1,y1,\n\
             1970-01-01T00:00:01.000000000Z,x2,y2,h1\n\
             1970-01-01T00:00:01.500000000Z,x3,y3,\n"
        );
        let (text, was_cut) = csv_text(&[fast], 2);
        assert!(was_cut);
        assert_eq!(text.lines().count(), 3, "the header and two rows");
        // By index: the rows' indices.
        let by_index = CsvPart {
            names: vec!["c0".into()],
            rows: vec![vec!["1.5".into()], vec!["-2.0".into()]],
            times: None,
            first: 10,
        };
        assert_eq!(csv_text(&[by_index], 10).0, "index,c0\n10,1.5\n11,-2.0\n");
    }

    #[test]
    fn counts_read_in_either_byte_order() {
        let value = 1_700_000_000_123_456_789i64;
        for (descr, bytes) in [
            ("<M8[ns]", value.to_le_bytes()),
            (">M8[ns]", value.to_be_bytes()),
        ] {
            let raw = RawArray {
                bytes: bytes.to_vec(),
                dtype: DType::parse_descr(descr).unwrap(),
                shape: vec![1],
            };
            assert_eq!(counts(&raw), [value], "{descr}");
        }
    }
}
