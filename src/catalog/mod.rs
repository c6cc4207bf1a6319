//! What the API and the pages say about an array, shared by server and browser: the
//! listing entry, the page data, and the live events.
//!
//! - [`chart`]: what a chart starts from: its series, window and time axis.
//! - [`live`]: the events of `/api/events`, one enum and its codec.
//! - [`stats`]: the answer of `/api/stats`.
//! - `schema` (server only): the OpenAPI schema of a listed dtype.

pub mod chart;
pub mod live;
#[cfg(feature = "ssr")]
pub mod schema;
pub mod stats;

pub use chart::{stack, ChartInit, Clock, SeriesInfo, SeriesTime, TimeAxis, ViewUrl, GAP_FACTOR};
pub use live::{ArrayChange, LiveEvent};

use serde::{Deserialize, Serialize};

/// One entry of `GET /api/arrays`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ArrayInfo {
    /// The array's name, e.g. `demo/pass/t`.
    pub name: String,
    /// NumPy descr: a string such as `"<f4"`, or a list of fields for a structured dtype.
    #[cfg_attr(feature = "ssr", schema(schema_with = schema::dtype_schema))]
    pub dtype: serde_json::Value,
    /// The shape, C order.
    pub shape: Vec<u64>,
    /// Bytes of data (elements × itemsize).
    pub nbytes: u64,
    /// The `ETag` (quoted) of `GET /api/arrays/{name}` with no options.
    pub etag: String,
}

impl ArrayInfo {
    /// The dtype as one line of text for display.
    pub fn dtype_text(&self) -> String {
        match &self.dtype {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// The shape as NumPy prints it: `(3,)`, `(2, 4)`, `()`.
    pub fn shape_text(&self) -> String {
        shape_text(&self.shape)
    }

    /// The group an array belongs to (its name without the last segment), if any.
    pub fn group(&self) -> Option<&str> {
        self.name.rsplit_once('/').map(|(group, _)| group)
    }
}

/// A shape as NumPy prints it.
pub fn shape_text(shape: &[u64]) -> String {
    match shape {
        [] => "()".to_string(),
        [one] => format!("({one},)"),
        many => format!(
            "({})",
            many.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The header naming the dtype of a `format=raw` body (`<f4`, or a record's literal in ASCII).
pub const X_ARRAY_DTYPE: &str = "x-array-dtype";
/// The header naming the shape of a `format=raw` body: `45000,4`, empty for 0-d.
pub const X_ARRAY_SHAPE: &str = "x-array-shape";

/// A shape as the text of `X-Array-Shape`.
pub fn shape_header(shape: &[u64]) -> String {
    shape
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// An `X-Array-Shape` value back as dimensions (inverse of [`shape_header`]).
pub fn parse_shape_header(text: &str) -> Vec<u64> {
    text.split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect()
}

/// A byte count for people: `1.5 MB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// What the array page shows: the listing entry, its memory order and the first values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArrayDetail {
    /// Its entry in `GET /api/arrays`.
    pub info: ArrayInfo,
    /// Whether the data is stored in Fortran (column-major) order.
    pub fortran_order: bool,
    /// Number of elements.
    pub count: u64,
    /// The first elements (C order) formatted as NumPy would print them.
    pub preview: Vec<String>,
    /// `http://host:port` as the client addressed the server, for copyable snippets.
    pub origin: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_print_like_numpy() {
        assert_eq!(shape_text(&[]), "()");
        assert_eq!(shape_text(&[3]), "(3,)");
        assert_eq!(shape_text(&[2, 4]), "(2, 4)");
    }

    #[test]
    fn shape_headers_round_trip() {
        for shape in [&[][..], &[7], &[45000, 4], &[2, 3, 0]] {
            assert_eq!(parse_shape_header(&shape_header(shape)), shape);
        }
        assert_eq!(shape_header(&[45000, 4]), "45000,4");
    }

    #[test]
    fn bytes_print_for_people() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1500), "1.5 kB");
        assert_eq!(human_bytes(200_000_000), "200.0 MB");
    }
}

/// What `/view/{name}` shows: one array or a group of arrays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewData {
    /// The name in the URL.
    pub name: String,
    /// The array, when the name is one.
    pub array: Option<ArrayDetail>,
    /// The group's members, when the name is a group (an .npz or a folder).
    pub members: Vec<ArrayInfo>,
    /// The charts: the one in time (or by index) first, then one by index for each other
    /// length of series without timestamps; or why there is none.
    pub charts: Result<Vec<ChartInit>, String>,
}
