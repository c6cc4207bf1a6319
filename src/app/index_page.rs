//! `/`: every array, with a filter that works once the page is hydrated.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::app::data::list_arrays;
use crate::catalog::{human_bytes, ArrayInfo};

/// The index page.
#[component]
pub fn IndexPage() -> impl IntoView {
    let arrays = Resource::new(|| (), |()| list_arrays());
    let (filter, set_filter) = signal(String::new());
    view! {
        <Title text="Arrays"/>
        <section class="page-head">
            <div>
                <h1>"Arrays"</h1>
                <p class="lede">"NumPy arrays served as raw bytes. Open one to look inside, or fetch it from a script."</p>
            </div>
            <input
                class="filter"
                type="search"
                placeholder="Filter by name or dtype"
                aria-label="Filter arrays"
                data-testid="filter"
                prop:value=filter
                on:input=move |ev| set_filter.set(event_target_value(&ev))
            />
        </section>
        <Suspense fallback=|| view! { <p class="muted">"Loading arrays…"</p> }>
            {move || {
                arrays
                    .get()
                    .map(|result| match result {
                        Ok(list) => view! { <ArrayTable arrays=list filter/> }.into_any(),
                        Err(err) => {
                            view! { <p class="error" role="alert">{err.to_string()}</p> }.into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

/// Whether an array matches every word of the filter (by name or dtype).
fn matches(info: &ArrayInfo, filter: &str) -> bool {
    let haystack = format!("{} {}", info.name, info.dtype_text()).to_lowercase();
    filter
        .to_lowercase()
        .split_whitespace()
        .all(|word| haystack.contains(word))
}

#[component]
fn ArrayTable(arrays: Vec<ArrayInfo>, filter: ReadSignal<String>) -> impl IntoView {
    if arrays.is_empty() {
        return view! {
            <div class="panel empty">
                <h2>"No arrays yet"</h2>
                <p>"Put .npy files or .npz groups in the data directory and reload."</p>
            </div>
        }
        .into_any();
    }
    let total = arrays.len();
    let arrays = StoredValue::new(arrays);
    let shown = move || {
        let filter = filter.get();
        arrays.with_value(|all| {
            all.iter()
                .filter(|info| matches(info, &filter))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div class="panel">
            <table class="arrays" data-testid="arrays">
                <thead>
                    <tr>
                        <th>"Name"</th>
                        <th>"dtype"</th>
                        <th>"Shape"</th>
                        <th class="num">"Size"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        shown()
                            .into_iter()
                            .map(|info| {
                                let href = format!("/view/{}", info.name);
                                let (group, leaf) = match info.name.rsplit_once('/') {
                                    Some((group, leaf)) => (Some(group.to_string()), leaf.to_string()),
                                    None => (None, info.name.clone()),
                                };
                                view! {
                                    <tr data-testid="array-row">
                                        <td>
                                            {group.map(|group| view! {
                                                <A href=format!("/view/{group}") attr:class="group-link" attr:title="Chart the whole group">
                                                    {format!("{group}/")}
                                                </A>
                                            })}
                                            <A href=href attr:class="array-link">
                                                <span class="leaf">{leaf}</span>
                                            </A>
                                        </td>
                                        <td><code>{info.dtype_text()}</code></td>
                                        <td><code>{info.shape_text()}</code></td>
                                        <td class="num">{human_bytes(info.nbytes)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
            <p class="count muted" data-testid="count">
                {move || {
                    let n = shown().len();
                    if n == total { format!("{total} arrays") } else { format!("{n} of {total} arrays") }
                }}
            </p>
        </div>
    }
    .into_any()
}
