//! `/view/{name}`: one array's metadata and its first values.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::app::data::get_array_detail;
use crate::catalog::{human_bytes, ArrayDetail};

/// The array page.
#[component]
pub fn ArrayPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let detail = Resource::new(name, get_array_detail);
    view! {
        <Title text=name/>
        <nav class="crumbs"><A href="/">"Arrays"</A>" / "<span>{name}</span></nav>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                detail
                    .get()
                    .map(|result| match result {
                        Ok(detail) => view! { <ArrayMeta detail/> }.into_any(),
                        Err(err) => {
                            view! {
                                <div class="panel empty" role="alert">
                                    <h1>"Cannot show this array"</h1>
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
fn ArrayMeta(detail: ArrayDetail) -> impl IntoView {
    let info = detail.info;
    let api = format!("/api/arrays/{}", info.name);
    let more = detail.count > detail.preview.len() as u64;
    let origin = detail.origin;
    view! {
        <section class="page-head">
            <div>
                <h1 data-testid="array-name">{info.name.clone()}</h1>
            </div>
            <div class="actions">
                <a class="button" href=api.clone() download>"Download .npy"</a>
            </div>
        </section>
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
