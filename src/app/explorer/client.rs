//! The chart's HTTP client in the browser: `fetch` of LOD answers, raw rows and shapes from
//! the public API, as bytes.

use crate::catalog::{parse_shape_header, X_ARRAY_DTYPE, X_ARRAY_SHAPE};
use crate::lod::LodAnswer;
use crate::wire::dtype::DType;

/// A `format=raw` answer: the bytes, and the dtype and shape its headers give.
pub struct RawArray {
    /// The data bytes, C order.
    pub bytes: Vec<u8>,
    /// From `X-Array-Dtype`.
    pub dtype: DType,
    /// From `X-Array-Shape`.
    pub shape: Vec<u64>,
}

/// Send a `method` request for `url`; the response, whatever its status.
async fn request(url: &str, method: &str) -> Result<web_sys::Response, String> {
    use wasm_bindgen::JsCast;
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| format!("cannot reach the server for {url}"))?;
    response.dyn_into().map_err(|_| "not a response".into())
}

/// GET `url` as bytes plus the response headers.
///
/// # Errors
/// Network errors and the server's error messages.
pub async fn fetch_bytes(url: &str) -> Result<(Vec<u8>, web_sys::Headers), String> {
    let response = request(url, "GET").await?;
    let buffer = wasm_bindgen_futures::JsFuture::from(
        response
            .array_buffer()
            .map_err(|_| "cannot read the response")?,
    )
    .await
    .map_err(|_| "cannot read the response")?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    if !response.ok() {
        let message = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {}", response.status()));
        return Err(message);
    }
    Ok((bytes, response.headers()))
}

/// GET a `format=raw` URL.
///
/// # Errors
/// Network errors, the server's error messages, and a missing or bad `X-Array-Dtype`.
pub async fn fetch_raw(url: &str) -> Result<RawArray, String> {
    let (bytes, headers) = fetch_bytes(url).await?;
    let dtype = header(&headers, X_ARRAY_DTYPE).ok_or("no X-Array-Dtype")?;
    Ok(RawArray {
        bytes,
        dtype: DType::parse_descr(&dtype).map_err(|e| e.to_string())?,
        shape: parse_shape_header(&header(&headers, X_ARRAY_SHAPE).unwrap_or_default()),
    })
}

fn header(headers: &web_sys::Headers, name: &str) -> Option<String> {
    headers.get(name).ok().flatten()
}

/// The shape of `array` now, from a `HEAD` request (no data is sent).
///
/// # Errors
/// Network errors, and an answer without `X-Array-Shape`.
pub async fn fetch_shape(array: &str) -> Result<Vec<u64>, String> {
    let url = format!("/api/arrays/{array}?format=raw");
    let response = request(&url, "HEAD").await?;
    let shape = header(&response.headers(), X_ARRAY_SHAPE)
        .ok_or(format!("HTTP {} for {url}", response.status()))?;
    Ok(parse_shape_header(&shape))
}

/// `&time=NAME`, to answer with the times of the timestamps `time`.
fn time_param(time: Option<&str>) -> String {
    time.map_or_else(String::new, |name| format!("&time={name}"))
}

/// The M4 bins of `[start, stop)` of every column of `array` (with the times of the
/// timestamps `time`, if given).
///
/// # Errors
/// Network errors, the server's error messages and an answer that does not decode.
pub async fn fetch_lod(
    array: &str,
    time: Option<&str>,
    start: u64,
    stop: u64,
    bins: u64,
) -> Result<LodAnswer, String> {
    let time = time_param(time);
    let url = format!("/api/lod/{array}?start={start}&stop={stop}&bins={bins}{time}");
    let (body, _) = fetch_bytes(&url).await?;
    LodAnswer::decode(&body).map_err(|e| e.to_string())
}

/// The M4 bins of every column of `array` over the instants `[t0, t1)` (ns since the Unix
/// epoch) of the timestamps `time`, in `bins` equal intervals of time.
///
/// # Errors
/// Network errors, the server's error messages and an answer that does not decode.
pub async fn fetch_lod_time(
    array: &str,
    time: &str,
    t0: i64,
    t1: i64,
    bins: u64,
) -> Result<LodAnswer, String> {
    let url = format!("/api/lod/{array}?t0={t0}&t1={t1}&bins={bins}&time={time}");
    let (body, _) = fetch_bytes(&url).await?;
    LodAnswer::decode(&body).map_err(|e| e.to_string())
}
