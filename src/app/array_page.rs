//! `/view/{name}`: one array, or a group of arrays, charted; then metadata and first values.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::app::data::{get_view, ViewParams};
use crate::app::explorer::Explorer;
use crate::catalog::{human_bytes, ArrayDetail, ArrayInfo, ViewData};
use crate::chart::parse_time_ns;

/// An instant in the URL: integer ns since the Unix epoch, or ISO 8601.
fn instant(text: &str) -> Option<i64> {
    text.parse().ok().or_else(|| parse_time_ns(text))
}

/// The array or group page.
#[component]
pub fn ArrayPage() -> impl IntoView {
    // Pages are rendered on the server only, once per request: the name is read once, as a
    // plain string (the title is read after the routes' reactive values are disposed).
    let name = use_params_map()
        .read_untracked()
        .get("name")
        .unwrap_or_default();
    let query = use_query_map();
    // The URL's window and hidden series are read once, when the page loads; afterwards the
    // chart owns them and keeps the address bar up to date without reloading the data.
    let source = name.clone();
    let view_data = Resource::new(
        move || source.clone(),
        move |name| {
            let params = untrack(|| {
                let q = query.read();
                let number = |key: &str| q.get(key).and_then(|v| v.parse().ok());
                ViewParams {
                    start: number("start"),
                    stop: number("stop"),
                    t0: q.get("t0").and_then(|v| instant(&v)),
                    t1: q.get("t1").and_then(|v| instant(&v)),
                    time: q.get("time"),
                    hide: q.get("hide").unwrap_or_default(),
                    join: q.get("join").unwrap_or_default(),
                    add: q.get("add").unwrap_or_default(),
                    y: q.get("y").unwrap_or_default(),
                }
            });
            get_view(name, params)
        },
    );
    view! {
        <Title text=name.clone()/>
        <nav class="crumbs"><A href="/">"Arrays"</A>" / "<span>{name}</span></nav>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                view_data
                    .get()
                    .map(|result| match result {
                        Ok(data) => view! { <View data/> }.into_any(),
                        Err(err) => {
                            view! {
                                <div class="panel empty" role="alert">
                                    <h1>"Cannot show this"</h1>
                                    <p class="error">{err.to_string()}</p>
                                </div>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

#[component]
fn View(data: ViewData) -> impl IntoView {
    let heading = data.name.clone();
    let charts = match data.charts {
        Ok(charts) => charts
            .into_iter()
            .map(|init| view! { <div class="panel chart-panel"><Explorer init/></div> })
            .collect_view()
            .into_any(),
        Err(reason) => {
            view! { <div class="panel"><p class="muted" data-testid="no-chart">{reason}</p></div> }
                .into_any()
        }
    };
    let download = data
        .array
        .as_ref()
        .map(|a| format!("/api/arrays/{}", a.info.name));
    view! {
        <section class="page-head">
            <div>
                <h1 data-testid="array-name">{heading}</h1>
            </div>
            {download.map(|href| view! {
                <div class="actions"><a class="button" href=href download>"Download .npy"</a></div>
            })}
        </section>
        {charts}
        {data.array.map(|detail| view! { <ArrayMeta detail/> })}
        {(!data.members.is_empty()).then(|| view! { <Members group=data.name.clone() members=data.members/> })}
    }
}

/// The members table of a group view: an island, so appends, replacements, new members and
/// deletions made while the page is open show up in it, as they do in the chart.
#[island]
fn Members(group: String, members: Vec<ArrayInfo>) -> impl IntoView {
    crate::app::island_hydrated();
    let members = RwSignal::new(members);
    let prefix = format!("{group}/");
    let refetch = {
        let prefix = prefix.clone();
        move || {
            let prefix = prefix.clone();
            leptos::task::spawn_local(async move {
                if let Ok(list) = crate::app::data::list_arrays().await {
                    members.set(direct_members(list, &prefix));
                }
            });
        }
    };
    // Refetch after changes to this group, at most twice a second.
    let queued = StoredValue::new(false);
    crate::app::live::on_changes(move |event| {
        use crate::catalog::LiveEvent;
        let ours = match &event {
            LiveEvent::Connected => true,
            LiveEvent::Changed(change) | LiveEvent::Deleted(change) => {
                change.name.starts_with(&prefix)
            }
        };
        if !ours || queued.get_value() {
            return;
        }
        queued.set_value(true);
        let refetch = refetch.clone();
        set_timeout(
            move || {
                queued.set_value(false);
                refetch();
            },
            std::time::Duration::from_millis(500),
        );
    });
    view! {
        <div class="panel">
            <h2>"Members"</h2>
            <table class="arrays" data-testid="members">
                <tbody>
                    <For each=move || members.get() key=|info| (info.name.clone(), info.etag.clone()) let:info>
                        <tr data-testid="member" data-name=info.name.clone()>
                            <td><a href=format!("/view/{}", info.name) class="array-link"><span class="leaf">{info.name.clone()}</span></a></td>
                            <td><code>{info.dtype_text()}</code></td>
                            <td><code data-testid="member-shape">{info.shape_text()}</code></td>
                            <td class="num">{human_bytes(info.nbytes)}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
        </div>
    }
}

/// The arrays of `list` directly in the group `prefix` (`name/`), as the server lists a
/// group's members.
fn direct_members(list: Vec<ArrayInfo>, prefix: &str) -> Vec<ArrayInfo> {
    list.into_iter()
        .filter(|a| a.name.starts_with(prefix) && !a.name[prefix.len()..].contains('/'))
        .collect()
}

#[component]
fn ArrayMeta(detail: ArrayDetail) -> impl IntoView {
    let info = detail.info;
    let api = format!("/api/arrays/{}", info.name);
    let more = detail.count > detail.preview.len() as u64;
    let origin = detail.origin;
    view! {
        <div class="panel">
            <dl class="meta">
                <div><dt>"dtype"</dt><dd><code data-testid="dtype">{info.dtype_text()}</code></dd></div>
                <div><dt>"Shape"</dt><dd><code data-testid="shape">{info.shape_text()}</code></dd></div>
                <div><dt>"Elements"</dt><dd data-testid="count">{detail.count.to_string()}</dd></div>
                <div><dt>"Size"</dt><dd data-testid="size">{human_bytes(info.nbytes)}</dd></div>
                <div><dt>"Order"</dt><dd>{if detail.fortran_order { "Fortran" } else { "C" }}</dd></div>
                <div><dt>"ETag"</dt><dd><code>{info.etag.clone()}</code></dd></div>
            </dl>
        </div>
        <div class="panel">
            <h2>"First values"</h2>
            <ol class="preview" data-testid="preview" start="0">
                {detail.preview.into_iter().map(|v| view! { <li><code>{v}</code></li> }).collect_view()}
            </ol>
            {more.then(|| view! { <p class="muted">"…"</p> })}
        </div>
        <div class="panel">
            <h2>"Fetch it"</h2>
            <pre class="snippet"><code>{format!(
                "import io, urllib.request, numpy as np\nwith urllib.request.urlopen(\"{origin}{api}\") as r:\n    a = np.load(io.BytesIO(r.read()))"
            )}</code></pre>
        </div>
    }
}
