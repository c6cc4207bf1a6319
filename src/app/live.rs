//! Browser side of the write path: following `/api/events`, and uploading arrays.

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::catalog::LiveEvent;

/// Call `on_event` for every change the server announces while the calling component is
/// mounted, and with [`LiveEvent::Connected`] each time the stream (re)connects (browser
/// only: the subscription is made in an effect).
pub fn on_changes(on_event: impl Fn(LiveEvent) + Clone + 'static) {
    Effect::new(move |previous: Option<()>| {
        if previous.is_some() {
            return;
        }
        let Ok(source) = web_sys::EventSource::new("/api/events") else {
            return;
        };
        let mut listeners = Vec::new();
        for kind in LiveEvent::SENT_TYPES {
            let on_event = on_event.clone();
            let listener = Closure::<dyn Fn(web_sys::MessageEvent)>::new(
                move |message: web_sys::MessageEvent| {
                    let Some(data) = message.data().as_string() else {
                        return;
                    };
                    if let Ok(event) = LiveEvent::from_sse(kind, &data) {
                        on_event(event);
                    }
                },
            );
            let _ =
                source.add_event_listener_with_callback(kind, listener.as_ref().unchecked_ref());
            listeners.push(listener);
        }
        let on_connect = on_event.clone();
        let connected = Closure::<dyn Fn(web_sys::Event)>::new(move |_: web_sys::Event| {
            on_connect(LiveEvent::Connected);
        });
        let _ = source.add_event_listener_with_callback("open", connected.as_ref().unchecked_ref());
        let source = send_wrapper::SendWrapper::new((source, listeners, connected));
        on_cleanup(move || source.0.close());
    });
}

/// Turn a file name into an array name segment: invalid characters become `_`.
pub fn name_from_file(file: &str) -> String {
    let stem = file
        .strip_suffix(".npy")
        .or_else(|| file.strip_suffix(".npz"))
        .unwrap_or(file);
    let cleaned: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches(['.', '_']);
    if trimmed.is_empty() {
        "upload".to_string()
    } else {
        trimmed.to_string()
    }
}

/// PUT `body` as `.npy` to `/api/arrays/{name}`, reporting upload progress (0..=1).
///
/// # Errors
/// The server's error message, or a network error.
pub async fn put_npy(
    name: &str,
    body: &[u8],
    on_progress: impl Fn(f64) + 'static,
) -> Result<String, String> {
    put_bytes(name, "application/x-npy", body, on_progress).await
}

/// PUT `body` with `content_type` to `/api/arrays/{name}`, reporting upload progress.
///
/// # Errors
/// The server's error message, or a network error.
pub async fn put_bytes(
    name: &str,
    content_type: &str,
    body: &[u8],
    on_progress: impl Fn(f64) + 'static,
) -> Result<String, String> {
    let array = js_sys::Uint8Array::from(body);
    let url = format!("/api/arrays/{name}");
    write("PUT", &url, Some(content_type), on_progress, |xhr| {
        xhr.send_with_opt_buffer_source(Some(&array))
    })
    .await
}

/// PUT a dropped or chosen file as it is (the browser streams it from disk, nothing is
/// copied into wasm memory) to `/api/arrays/{name}` with `content_type`, reporting upload
/// progress (0..=1). The server's JSON answer.
///
/// # Errors
/// The server's error message, or a network error.
pub async fn put_file(
    name: &str,
    file: &web_sys::File,
    content_type: &str,
    on_progress: impl Fn(f64) + 'static,
) -> Result<String, String> {
    let url = format!("/api/arrays/{name}");
    write("PUT", &url, Some(content_type), on_progress, |xhr| {
        xhr.send_with_opt_blob(Some(file))
    })
    .await
}

/// DELETE `/api/arrays/{name}`, with the write token when the server asks for one.
///
/// # Errors
/// The server's error message, or a network error.
pub async fn delete_array(name: &str) -> Result<(), String> {
    write(
        "DELETE",
        &format!("/api/arrays/{name}"),
        None,
        |_| {},
        |xhr| xhr.send(),
    )
    .await?;
    Ok(())
}

/// PUT the clock `json` (`{"rate_hz": N, "start": ...}`) of array `name` to
/// `/api/clock/{name}`, with the write token when the server asks for one.
///
/// # Errors
/// The server's error message, or a network error.
pub async fn put_clock(name: &str, json: String) -> Result<(), String> {
    let url = format!("/api/clock/{name}");
    write(
        "PUT",
        &url,
        Some("application/json"),
        |_| {},
        move |xhr| xhr.send_with_opt_str(Some(&json)),
    )
    .await?;
    Ok(())
}

/// DELETE the clock of array `name`.
///
/// # Errors
/// The server's error message, or a network error.
pub async fn delete_clock(name: &str) -> Result<(), String> {
    write(
        "DELETE",
        &format!("/api/clock/{name}"),
        None,
        |_| {},
        |xhr| xhr.send(),
    )
    .await?;
    Ok(())
}

/// Where this tab keeps the write token it was given (for the tab's life, never on disk).
const TOKEN_KEY: &str = "downlink-write-token";

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// The write token this tab was given, if any.
fn held_token() -> Option<String> {
    session_storage()?.get_item(TOKEN_KEY).ok().flatten()
}

/// Ask the user for the server's write token and keep it for the tab; `None` if they cancel.
fn ask_token() -> Option<String> {
    let token = web_sys::window()?
        .prompt_with_message("This server needs its write token to change arrays. Token:")
        .ok()
        .flatten()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())?;
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(TOKEN_KEY, &token);
    }
    Some(token)
}

/// Send a write to `/api/arrays/{name}` with XMLHttpRequest (`fetch` reports no upload
/// progress), as scripts do: with `Authorization: Bearer` once the tab holds a token. On a 401
/// the user is asked for the token once and the write is sent again. The answer's text on a
/// 2xx.
async fn write(
    method: &str,
    url: &str,
    content_type: Option<&str>,
    on_progress: impl Fn(f64) + 'static,
    send: impl Fn(&web_sys::XmlHttpRequest) -> Result<(), wasm_bindgen::JsValue>,
) -> Result<String, String> {
    let on_progress: std::rc::Rc<dyn Fn(f64)> = std::rc::Rc::new(on_progress);
    let mut token = held_token();
    let mut asked = false;
    loop {
        let (status, text) = send_once(
            method,
            url,
            content_type,
            token.as_deref(),
            on_progress.clone(),
            &send,
        )
        .await?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        if status == 401 {
            if let Some(storage) = session_storage() {
                let _ = storage.remove_item(TOKEN_KEY);
            }
            if !asked {
                asked = true;
                token = ask_token();
                if token.is_some() {
                    continue;
                }
            }
        }
        return Err(serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("the request failed (HTTP {status})")));
    }
}

/// One request of [`write`]: its status (0 for a network error) and answer text.
async fn send_once(
    method: &str,
    url: &str,
    content_type: Option<&str>,
    token: Option<&str>,
    on_progress: std::rc::Rc<dyn Fn(f64)>,
    send: &impl Fn(&web_sys::XmlHttpRequest) -> Result<(), wasm_bindgen::JsValue>,
) -> Result<(u16, String), String> {
    let xhr = web_sys::XmlHttpRequest::new().map_err(|_| "this browser cannot upload")?;
    xhr.open(method, url)
        .map_err(|_| "cannot open the request")?;
    if let Some(content_type) = content_type {
        xhr.set_request_header("Content-Type", content_type)
            .map_err(|_| "cannot set the content type")?;
    }
    if let Some(token) = token {
        xhr.set_request_header("Authorization", &format!("Bearer {token}"))
            .map_err(|_| "cannot set the write token")?;
    }
    let progress =
        Closure::<dyn Fn(web_sys::ProgressEvent)>::new(move |event: web_sys::ProgressEvent| {
            if event.length_computable() && event.total() > 0.0 {
                on_progress(event.loaded() / event.total());
            }
        });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    let done = js_sys::Promise::new(&mut |resolve, _reject| {
        let resolve_load = resolve.clone();
        let on_load = Closure::once_into_js(move || {
            let _ = resolve_load.call0(&wasm_bindgen::JsValue::NULL);
        });
        let on_error = Closure::once_into_js(move || {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        });
        xhr.set_onload(Some(on_load.unchecked_ref()));
        xhr.set_onerror(Some(on_error.unchecked_ref()));
    });
    send(&xhr).map_err(|_| "cannot send the request")?;
    let _ = wasm_bindgen_futures::JsFuture::from(done).await;
    drop(progress);
    let status = xhr.status().unwrap_or(0);
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    Ok((status, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_become_array_names() {
        assert_eq!(name_from_file("run 1.npy"), "run_1");
        assert_eq!(name_from_file(".hidden.npz"), "hidden");
        assert_eq!(name_from_file("α.npy"), "upload");
        assert_eq!(name_from_file("a.b-c.npy"), "a_b-c");
    }
}
