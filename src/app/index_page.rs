//! `/`: every array, with a filter that works once the page is hydrated.
//!
//! The server renders the list; the list, its filter and the uploader are one island,
//! which follows changes on the server, uploads files (asking before it replaces an array)
//! and deletes arrays (after a confirmation). Both writes go through the same API, and the
//! same write token, as scripts: when the server asks for a token, the page asks the user
//! once and keeps it for the tab.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::data::list_arrays;
use crate::app::live::{delete_array, name_from_file, on_changes, put_file};
use crate::catalog::{human_bytes, ArrayInfo};

/// The index page (server only).
#[component]
pub fn IndexPage() -> impl IntoView {
    let arrays = Resource::new(|| (), |()| list_arrays());
    view! {
        <Title text="Arrays"/>
        <Suspense fallback=|| view! { <p class="muted">"Loading arrays…"</p> }>
            {move || {
                arrays
                    .get()
                    .map(|result| match result {
                        Ok(list) => view! { <Arrays arrays=list/> }.into_any(),
                        Err(err) => {
                            view! { <p class="error" role="alert">{err.to_string()}</p> }.into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

/// The list of arrays with its filter and the uploader: an island.
#[island]
fn Arrays(arrays: Vec<ArrayInfo>) -> impl IntoView {
    crate::app::island_hydrated();
    let arrays = RwSignal::new(arrays);
    let error = RwSignal::new(None::<String>);
    // Why the last delete failed (kept apart from `error`, which the next listing clears).
    let delete_error = RwSignal::new(None::<String>);
    let (filter, set_filter) = signal(String::new());
    let refetch = move || {
        leptos::task::spawn_local(async move {
            match list_arrays().await {
                Ok(list) => {
                    arrays.set(list);
                    error.set(None);
                }
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    };
    let on_delete = Callback::new(move |name: String| {
        let asked = web_sys::window().and_then(|w| {
            w.confirm_with_message(&format!("Delete {name}? This cannot be undone."))
                .ok()
        });
        if asked != Some(true) {
            return;
        }
        leptos::task::spawn_local(async move {
            match delete_array(&name).await {
                Ok(()) => {
                    arrays.update(|list| list.retain(|info| info.name != name));
                    delete_error.set(None);
                }
                Err(err) => delete_error.set(Some(format!("{name} was not deleted: {err}"))),
            }
        });
    });
    // Follow the server: refetch the listing after changes, at most twice a second.
    let refetch_queued = StoredValue::new(false);
    on_changes(move |_| {
        if refetch_queued.get_value() {
            return;
        }
        refetch_queued.set_value(true);
        set_timeout(
            move || {
                refetch_queued.set_value(false);
                refetch();
            },
            std::time::Duration::from_millis(500),
        );
    });
    view! {
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
        <Uploader on_done=refetch stored=arrays/>
        {move || error.get().map(|err| view! { <p class="error" role="alert">{err}</p> })}
        {move || delete_error.get().map(|err| view! { <p class="error" role="alert" data-testid="index-error">{err}</p> })}
        {move || view! { <ArrayTable arrays=arrays.get() filter on_delete/> }}
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
fn ArrayTable(
    arrays: Vec<ArrayInfo>,
    filter: ReadSignal<String>,
    on_delete: Callback<String>,
) -> impl IntoView {
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
                        <th><span class="sr-only">"Actions"</span></th>
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
                                                <a href=format!("/view/{group}") class="group-link" title="Chart the whole group">
                                                    {format!("{group}/")}
                                                </a>
                                            })}
                                            <a href=href class="array-link">
                                                <span class="leaf">{leaf}</span>
                                            </a>
                                        </td>
                                        <td><code>{info.dtype_text()}</code></td>
                                        <td><code>{info.shape_text()}</code></td>
                                        <td class="num">{human_bytes(info.nbytes)}</td>
                                        <td class="actions">
                                            <button
                                                class="delete"
                                                data-testid="delete"
                                                title=format!("Delete {}", info.name)
                                                on:click={
                                                    let name = info.name.clone();
                                                    move |_| on_delete.run(name.clone())
                                                }
                                            >
                                                "Delete"
                                            </button>
                                        </td>
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

/// One upload in the list under the drop zone.
#[derive(Debug, Clone, Copy)]
struct UploadItem {
    id: u64,
    name: RwSignal<String>,
    progress: RwSignal<f64>,
    outcome: RwSignal<Option<Result<(), String>>>,
}

/// Drag-and-drop (or choose) .npy and .npz files (compressed too); each uploads to
/// `uploads/<file name>`, an .npz as a group of its members, with a progress bar and errors
/// shown in place. A file whose name is already `stored` (an array, or a group for an .npz)
/// is uploaded only if the user agrees to replace it.
#[component]
fn Uploader(
    on_done: impl Fn() + Clone + Send + Sync + 'static,
    stored: RwSignal<Vec<ArrayInfo>>,
) -> impl IntoView {
    let on_done = Callback::new(move |()| on_done());
    let items = RwSignal::new(Vec::<UploadItem>::new());
    let over = RwSignal::new(false);
    let next_id = StoredValue::new(0u64);
    let start = move |files: Vec<web_sys::File>| {
        for file in files {
            let target = upload_target(&file.name());
            let taken = stored.with_untracked(|list| {
                list.iter().any(|info| match &target {
                    Target::Array(name) => &info.name == name,
                    Target::Group(name) => info.name.starts_with(&format!("{name}/")),
                })
            });
            if taken && !confirm_replace(&target) {
                continue;
            }
            let id = next_id.get_value();
            next_id.set_value(id + 1);
            let item = UploadItem {
                id,
                name: RwSignal::new(file.name()),
                progress: RwSignal::new(0.0),
                outcome: RwSignal::new(None),
            };
            items.update(|list| list.insert(0, item));
            let file = send_wrapper::SendWrapper::new(file);
            leptos::task::spawn_local(async move {
                let result = upload(&file, target, item).await;
                item.outcome.set(Some(result));
                on_done.run(());
            });
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        over.set(false);
        if let Some(files) = ev.data_transfer().and_then(|d| d.files()) {
            start((0..files.length()).filter_map(|i| files.get(i)).collect());
        }
    };
    let on_pick = move |ev: leptos::ev::Event| {
        use wasm_bindgen::JsCast;
        let input = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
        if let Some(input) = input {
            if let Some(files) = input.files() {
                start((0..files.length()).filter_map(|i| files.get(i)).collect());
            }
            input.set_value("");
        }
    };
    view! {
        <div
            class="dropzone"
            class:over=move || over.get()
            data-testid="dropzone"
            on:dragover=move |ev: leptos::ev::DragEvent| {
                ev.prevent_default();
                over.set(true);
            }
            on:dragleave=move |_| over.set(false)
            on:drop=on_drop
        >
            <span>"Drop .npy or .npz files here to upload them, or "</span>
            <label class="pick">
                "choose files"
                <input type="file" multiple accept=".npy,.npz" data-testid="file-input" on:change=on_pick/>
            </label>
        </div>
        <ul class="uploads" data-testid="uploads">
            <For each=move || items.get() key=|item| item.id let:item>
                <li
                    class="upload"
                    class:failed=move || matches!(item.outcome.get(), Some(Err(_)))
                    class:done=move || matches!(item.outcome.get(), Some(Ok(())))
                    data-testid="upload"
                    data-state=move || match item.outcome.get() {
                        None => "uploading",
                        Some(Ok(())) => "uploaded",
                        Some(Err(_)) => "failed",
                    }
                >
                    <span class="upload-name">{move || item.name.get()}</span>
                    <progress max="1" prop:value=move || item.progress.get() data-testid="upload-progress"></progress>
                    <span
                        class="upload-status"
                        data-testid="upload-status"
                        role=move || matches!(item.outcome.get(), Some(Err(_))).then_some("alert")
                    >
                        {move || match item.outcome.get() {
                            None => format!("{:.0}%", item.progress.get() * 100.0),
                            Some(Ok(())) => "uploaded".to_string(),
                            Some(Err(err)) => err,
                        }}
                    </span>
                </li>
            </For>
        </ul>
    }
}

/// Where a file uploads to.
enum Target {
    /// An `.npy` file: this array.
    Array(String),
    /// An `.npz` file: this group (folder) of arrays.
    Group(String),
}

fn upload_target(file_name: &str) -> Target {
    let name = format!("uploads/{}", name_from_file(file_name));
    if file_name.ends_with(".npz") {
        Target::Group(name)
    } else {
        Target::Array(name)
    }
}

/// Ask whether an upload may replace what is stored under its name.
fn confirm_replace(target: &Target) -> bool {
    let question = match target {
        Target::Array(name) => format!("{name} already exists. Replace it?"),
        Target::Group(name) => {
            format!("The group {name}/ already exists. Replace all of its arrays?")
        }
    };
    web_sys::window()
        .and_then(|w| w.confirm_with_message(&question).ok())
        .unwrap_or(false)
}

/// Upload one file as it is to its `target`: an `.npy` to `uploads/<name>`, an `.npz` (`np.savez` or
/// `np.savez_compressed`) to the group `uploads/<name>`, which the server unpacks into a
/// folder of its members, all or none.
async fn upload(file: &web_sys::File, target: Target, item: UploadItem) -> Result<(), String> {
    let progress = move |p| item.progress.set(p);
    let base = match target {
        Target::Array(name) => {
            item.name.set(name.clone());
            put_file(&name, file, "application/x-npy", progress).await?;
            return Ok(());
        }
        Target::Group(name) => name,
    };
    item.name.set(format!("{base}/"));
    let answer = put_file(&base, file, "application/zip", progress).await?;
    let stored = serde_json::from_str::<serde_json::Value>(&answer)
        .ok()
        .and_then(|v| v["arrays"].as_array().map(Vec::len))
        .unwrap_or(0);
    item.name.set(format!("{base}/ ({stored} arrays)"));
    item.progress.set(1.0);
    Ok(())
}
