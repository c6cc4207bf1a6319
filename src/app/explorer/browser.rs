//! The few browser services the chart uses besides `fetch`: timers, performance marks, the
//! address bar and file downloads.

/// A `performance.mark` for the browser benchmark (`end2end/bench/`).
pub fn perf_mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

/// A `performance.measure` from the mark `from` to now (nothing if there is no such mark).
pub fn perf_measure(name: &str, from: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        if performance.get_entries_by_name(from).length() == 0 {
            return;
        }
        let _ = performance.measure_with_start_mark(name, from);
        performance.clear_marks_with_mark_name(from);
    }
}

/// Wait `ms` milliseconds (browser timers).
pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Point the address bar at the current view without a navigation.
pub fn replace_query(query: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(path) = window.location().pathname() else {
        return;
    };
    let url = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// Load the page at the current path with `query`: a view made of other series.
pub fn navigate(query: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    if let Ok(path) = location.pathname() {
        let _ = location.set_href(&format!("{path}?{query}"));
    }
}

/// Save a URL (data: or blob:) as a file.
pub fn download(url: &str, file: &str) {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(element) = document.create_element("a") {
        if let Ok(anchor) = element.dyn_into::<web_sys::HtmlAnchorElement>() {
            anchor.set_href(url);
            anchor.set_download(file);
            anchor.click();
        }
    }
}

/// Save `text` as a file of type `mime`.
pub fn download_text(text: &str, mime: &str, file: &str) {
    download_parts(&wasm_bindgen::JsValue::from_str(text), mime, file);
}

/// Save `bytes` as a file of type `mime`.
pub fn download_bytes(bytes: &[u8], mime: &str, file: &str) {
    download_parts(&js_sys::Uint8Array::from(bytes), mime, file);
}

fn download_parts(part: &wasm_bindgen::JsValue, mime: &str, file: &str) {
    let parts = js_sys::Array::of1(part);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    if let Ok(blob) = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options) {
        if let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) {
            download(&url, file);
            let _ = web_sys::Url::revoke_object_url(&url);
        }
    }
}

/// Size `canvas` to `width × height` CSS px at the device pixel ratio, which it returns.
/// Resizing reallocates (and clears) a canvas, so it happens only when the size changes.
#[cfg(feature = "hydrate")]
pub fn fit_canvas(canvas: &web_sys::HtmlCanvasElement, width: f64, height: f64) -> f64 {
    let ratio = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .max(1.0);
    let size = (
        (width * ratio).round() as u32,
        (height * ratio).round() as u32,
    );
    if (canvas.width(), canvas.height()) != size {
        canvas.set_width(size.0);
        canvas.set_height(size.1);
        let _ = canvas.set_attribute("style", &format!("width:{width}px;height:{height}px"));
    }
    ratio
}
