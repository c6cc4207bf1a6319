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

/// Why a GET failed.
pub enum Failure {
    /// The server answered 410: the URL names a version that is no longer stored.
    Gone(String),
    /// Anything else: no answer, or the server's error message.
    Failed(String),
}

impl Failure {
    /// What to tell people.
    pub fn message(self) -> String {
        match self {
            Failure::Gone(message) | Failure::Failed(message) => message,
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Failed(message)
    }
}

/// GET `url` as bytes plus the response headers; a 410 apart from other failures.
async fn get(url: &str) -> Result<(Vec<u8>, web_sys::Headers), Failure> {
    let response = request(url, "GET").await?;
    let unreadable = || Failure::Failed("cannot read the response".into());
    let buffer =
        wasm_bindgen_futures::JsFuture::from(response.array_buffer().map_err(|_| unreadable())?)
            .await
            .map_err(|_| unreadable())?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    if !response.ok() {
        let message = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {}", response.status()));
        return Err(match response.status() {
            410 => Failure::Gone(message),
            _ => Failure::Failed(message),
        });
    }
    Ok((bytes, response.headers()))
}

/// GET `url` as bytes plus the response headers.
///
/// # Errors
/// Network errors and the server's error messages.
pub async fn fetch_bytes(url: &str) -> Result<(Vec<u8>, web_sys::Headers), String> {
    get(url).await.map_err(Failure::message)
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

/// The shape of `array` now and its version (its ETag without the quotes), from a `HEAD`
/// request (no data is sent).
///
/// # Errors
/// Network errors, and an answer without `X-Array-Shape` or `ETag`.
pub async fn fetch_head(array: &str) -> Result<(Vec<u64>, String), String> {
    // The raw form says the shape; the plain one's ETag is the version (the raw one's names
    // the form too).
    let (raw, plain) = (
        format!("/api/arrays/{array}?format=raw"),
        format!("/api/arrays/{array}"),
    );
    let (raw, plain) =
        futures_util::future::join(request(&raw, "HEAD"), request(&plain, "HEAD")).await;
    let (raw, plain) = (raw?, plain?);
    let (Some(shape), Some(etag)) = (
        header(&raw.headers(), X_ARRAY_SHAPE),
        header(&plain.headers(), "etag"),
    ) else {
        return Err(format!("HTTP {} for {array}", plain.status()));
    };
    Ok((
        parse_shape_header(&shape),
        etag.trim_matches('"').to_string(),
    ))
}

/// One array's tiles to fetch: where, and at which versions.
pub struct TileSet<'a> {
    /// The array and its version.
    pub array: (&'a str, &'a str),
    /// The timestamps to give the points' times by, and their version.
    pub time: Option<(&'a str, &'a str)>,
    /// Tiles in time (else by index).
    pub in_time: bool,
    /// Bins of `2^level` samples or ns.
    pub level: u32,
}

impl TileSet<'_> {
    /// The URL of tile `tile`: always written the same way, so caches find it again.
    fn url(&self, tile: i64) -> String {
        let (array, version) = self.array;
        let by = if self.in_time { "&by=time" } else { "" };
        let time = self
            .time
            .map_or_else(String::new, |(t, tv)| format!("&time={t}&tv={tv}"));
        format!(
            "/api/tiles/{array}?v={version}&level={}&tile={tile}{by}{time}",
            self.level
        )
    }

    /// The tiles `tiles`, all at once, joined into one answer.
    ///
    /// # Errors
    /// [`Failure::Gone`] when a version named is no longer stored; other failures.
    pub async fn fetch(&self, tiles: impl Iterator<Item = i64>) -> Result<LodAnswer, Failure> {
        let answers = futures_util::future::join_all(tiles.map(|tile| async move {
            let (body, _) = get(&self.url(tile)).await?;
            LodAnswer::decode(&body).map_err(|e| Failure::Failed(e.to_string()))
        }))
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        LodAnswer::joined(answers)
            .ok_or_else(|| Failure::Failed("the tiles of the view do not fit together".into()))
    }
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
