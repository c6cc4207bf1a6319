//! The series of a chart as chips: each toggles its series, overlays it on the panel above
//! (or stacks it again), and, when the address bar added it, removes it from the view. The
//! picker beside them adds any array or group from the store to the view.
//!
//! Adding or removing a series loads the page again with the new `add=` (the server works
//! out each series' timestamps and draws the first frame); the window, toggles and overlays
//! travel along in the address.

use leptos::html;
use leptos::prelude::*;

use super::browser::navigate;
use super::client::fetch_bytes;
use super::Chart;
use crate::catalog::{ArrayInfo, SeriesInfo};
use crate::chart::PALETTE_LEN;

/// The `add=` entry (`NAME` or `NAME@TIMES`) that brought `series` into the view, if any:
/// the entry names its array, or the group it is a member of.
fn entry_of<'a>(added: &'a [String], series: &SeriesInfo) -> Option<&'a String> {
    added.iter().find(|entry| {
        let name = entry.split('@').next().unwrap_or_default();
        series.array == name
            || series
                .array
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('/') && !rest[1..].contains('/'))
    })
}

/// Load the view with `added` as its `add=` list.
fn load_with(chart: Chart, added: &[String]) {
    if let Some(query) = untrack(|| chart.url_query(Some(added))) {
        navigate(&query);
    }
}

/// The chips, and the picker on the page's main chart.
#[component]
pub(super) fn Legend(chart: Chart) -> impl IntoView {
    let series = chart.init.with_value(|i| i.series.clone());
    let added = chart
        .init
        .with_value(|i| i.url.as_ref().map(|u| u.added.clone()));
    let chips = series
        .into_iter()
        .enumerate()
        .map(|(n, s)| {
            let entry = added.as_deref().and_then(|a| entry_of(a, &s)).cloned();
            let remove = entry.map(|entry| {
                let rest: Vec<String> = added
                    .iter()
                    .flatten()
                    .filter(|e| **e != entry)
                    .cloned()
                    .collect();
                view! {
                    <button
                        class="chip-tool"
                        data-testid="series-remove"
                        title=format!("Remove {entry} from the view")
                        on:click=move |_| load_with(chart, &rest)
                    >
                        "×"
                    </button>
                }
            });
            let (key, join_key) = (s.key.clone(), s.key.clone());
            let off = {
                let key = s.key.clone();
                move || chart.hidden.get().contains(&key)
            };
            let joined = {
                let key = s.key.clone();
                move || chart.joined.get().contains(&key)
            };
            // The first series has no panel above to join.
            let join = (n > 0).then(|| {
                view! {
                    <button
                        class="chip-tool"
                        class:on=joined.clone()
                        data-testid="series-join"
                        aria-pressed=move || joined().to_string()
                        title="Overlay on the panel above (again: its own panel)"
                        on:click=move |_| chart.toggle_join(join_key.clone())
                    >
                        "⤒"
                    </button>
                }
            });
            view! {
                <span class="chip-group">
                    <button
                        class=move || if off() { "chip off" } else { "chip" }
                        data-testid="series-toggle"
                        title=s.time.as_ref().map(|t| format!("{} in time by {}", s.array, t.array))
                        on:click=move |_| chart.toggle(key.clone())
                    >
                        <span class=format!("swatch c{}", n % PALETTE_LEN)></span>
                        {s.label.clone()}
                    </button>
                    {join}
                    {remove}
                </span>
            }
        })
        .collect_view();
    view! {
        <div class="legend" role="group" aria-label="Series">
            {chips}
            {added.map(|added| view! { <Picker chart added/> })}
        </div>
    }
}

/// The names the picker offers: every chartable array (numeric, 1-D or 2-D) and every
/// group that holds one, sorted.
fn pickable(arrays: &[ArrayInfo]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for info in arrays {
        let numeric = info.dtype.as_str().is_some_and(|d| {
            let kind = d.trim_start_matches(['<', '>', '|', '=']);
            kind.starts_with(['b', 'i', 'u', 'f', 'M', 'm']) && !kind.starts_with("f16")
        });
        if !numeric || info.shape.is_empty() || info.shape.len() > 2 {
            continue;
        }
        names.push(info.name.clone());
        if let Some(group) = info.group() {
            names.push(group.to_string());
        }
    }
    names.sort();
    names.dedup();
    names
}

/// An input that suggests the store's arrays and groups, and a button that adds the one
/// named to the view.
#[component]
fn Picker(chart: Chart, added: Vec<String>) -> impl IntoView {
    let names = RwSignal::new(Vec::<String>::new());
    let loaded = StoredValue::new(false);
    let input: NodeRef<html::Input> = NodeRef::new();
    let error = RwSignal::new(None::<String>);
    // The listing is fetched the first time the picker is used, not with every chart.
    let load = move |_| {
        if loaded.get_value() {
            return;
        }
        loaded.set_value(true);
        leptos::task::spawn_local(async move {
            let listed = fetch_bytes("/api/arrays").await.and_then(|(body, _)| {
                #[derive(serde::Deserialize)]
                struct Listing {
                    arrays: Vec<ArrayInfo>,
                }
                serde_json::from_slice::<Listing>(&body).map_err(|e| e.to_string())
            });
            match listed {
                Ok(listing) => names.set(pickable(&listing.arrays)),
                Err(err) => error.set(Some(err)),
            }
        });
    };
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(field) = input.get_untracked() else {
            return;
        };
        let name = field.value().trim().to_string();
        if name.is_empty() {
            return;
        }
        let mut more = added.clone();
        if !more.contains(&name) {
            more.push(name);
        }
        load_with(chart, &more);
    };
    view! {
        <form class="picker" on:submit=add data-testid="picker">
            <input
                type="search"
                list="dl-pickable"
                placeholder="Add a series or group…"
                aria-label="Add a series or group to the view"
                data-testid="picker-input"
                node_ref=input
                on:focus=load
            />
            <datalist id="dl-pickable">
                {move || names.get().into_iter().map(|n| view! { <option value=n></option> }).collect_view()}
            </datalist>
            <button class="tool" type="submit" data-testid="picker-add">"Add"</button>
            {move || error.get().map(|e| view! { <span class="error">{e}</span> })}
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(array: &str) -> SeriesInfo {
        SeriesInfo {
            key: array.into(),
            array: array.into(),
            column: 0,
            columns: 1,
            label: array.into(),
            dtype: "<f4".into(),
            len: 1,
            version: String::new(),
            time: None,
        }
    }

    #[test]
    fn a_series_belongs_to_the_entry_that_added_it() {
        let added = ["demo/hk".to_string(), "lab/x@lab/t_x".to_string()];
        assert_eq!(entry_of(&added, &series("demo/hk/bus")), Some(&added[0]));
        assert_eq!(entry_of(&added, &series("lab/x")), Some(&added[1]));
        assert_eq!(entry_of(&added, &series("demo/hkx")), None);
        assert_eq!(entry_of(&added, &series("demo/hk/sub/y")), None);
        assert_eq!(entry_of(&added, &series("demo/pass/rssi")), None);
    }

    #[test]
    fn the_picker_offers_chartable_arrays_and_their_groups() {
        let info = |name: &str, dtype: serde_json::Value, shape: &[u64]| ArrayInfo {
            name: name.into(),
            dtype,
            shape: shape.to_vec(),
            nbytes: 0,
            etag: String::new(),
        };
        let arrays = [
            info("a/x", "<f4".into(), &[3]),
            info("a/cols", ">i2".into(), &[3, 2]),
            info("b/names", "<U8".into(), &[3]),
            info("b/cube", "<f4".into(), &[2, 2, 2]),
            info("c", serde_json::json!([["x", "<f4"]]), &[3]),
            info("d/t", "<M8[ns]".into(), &[3]),
            info("scalar", "<f8".into(), &[]),
        ];
        assert_eq!(pickable(&arrays), ["a", "a/cols", "a/x", "d", "d/t"]);
    }
}
