//! The time-series chart: stacked panels over a shared x axis, drawn once, generic over
//! plotters' [`DrawingBackend`](plotters::prelude::DrawingBackend). Compiles natively and
//! to wasm32 with no `cfg` inside: the server renders the first frame to SVG and the
//! browser draws the same chart on a `<canvas>`.
//!
//! # Contract
//!
//! - **Input.** Stacked [`Panel`]s, each of one or more [`Series`] of M4 bins (see
//!   [`crate::lod`]), sorted by position; the series of a panel are overlaid on one y scale.
//!   Bins outside [`ChartSpec::x_range`] are clipped away; one bin on each side is kept so
//!   the line leaves the plot where it really goes.
//! - **Line.** Each bin contributes its first, minimum and maximum (in index order) and last
//!   points, which draws the pixels a full-resolution line draws at that width. A NaN point
//!   ends the line and the next finite one starts a new one, and so does a gap: the last
//!   sample of a bin and the first of the next further apart than the series'
//!   [`Series::gap`]. An isolated finite point gets a dot.
//!   Once samples are 6 CSS px apart or more ([`Series::spacing`]), every sample gets a dot.
//!   Vertices in the middle of a straight stroke are dropped: the same pixels, fewer
//!   vertices to stroke.
//! - **Band.** Each bin's min..max range, filled at 25% alpha under the line, one polygon
//!   per run of bins with finite extremes and no gap between them. Skipped when every bin is a single sample, and
//!   when bins average under 3 CSS px wide, where the line's strokes already cover it.
//! - **Scales.** The y range of a panel is the finite min/max of its series' bins
//!   overlapping the window plus 5% on each side ([`ChartSpec::layout`]), or the panel's
//!   fixed range, linear or log10 ([`YScale`]); the x mapping is linear over the
//!   window, sample `i` at [`ChartSpec::px_from_x`]`(i)`.
//! - **Pixels.** Positions are in CSS px and scaled by the caller's device pixel ratio, so
//!   the SVG and canvas frames line up and hit-testing needs no backend.
//!
//! # Pieces
//!
//! - [`layout`](mod@layout): panel rectangles, y ranges, and the px ↔ sample mapping.
//! - [`ticks`]: "nice" numeric ticks with compact labels.
//! - [`time`]: calendar ticks from years to nanoseconds, and exact timestamps, all UTC.
//! - [`draw`](mod@draw): the painter itself, and the SVG document for the first frame.
//! - [`spectrum`]: the spectrum panel (log y over frequency).

pub mod draw;
mod error;
pub mod layout;
pub mod spectrum;
mod style;
pub mod ticks;
pub mod time;

#[cfg(test)]
mod tests;

pub use draw::{draw, render_svg};
pub use error::ChartError;
pub use layout::{
    chart_height, chart_height_with, Layout, PanelRect, XMap, AXIS_HEIGHT, PANEL_HEIGHT_RANGE,
};
pub use style::{Theme, PALETTE_LEN};
pub use ticks::nice_ticks;
pub use time::{format_time_ns, parse_time_ns, time_ticks};

use crate::lod::M4Bin;

/// One series of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Name shown above the panel's plot (after the names of the series before it).
    pub name: String,
    /// Unit shown after the name; may be empty.
    pub unit: String,
    /// Index into the theme's palette (taken modulo its length).
    pub color: usize,
    /// M4 bins over (at least) the visible window, sorted by position. Their `*_index`
    /// fields are positions on the x axis: sample indices, or on a time axis nanoseconds
    /// after its start.
    pub bins: Vec<M4Bin>,
    /// Neighbouring samples (the last of a bin and the first of the next) further apart
    /// than this on the x axis are not joined: a gap in the data. `None` joins every bin.
    pub gap: Option<f64>,
    /// The usual distance between neighbouring samples on the x axis (1 by index): where
    /// samples are drawn as dots.
    pub spacing: f64,
}

/// One stacked panel: its series overlaid on one y scale, named left to right above it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Panel {
    /// The series, drawn in order (the last on top).
    pub series: Vec<Series>,
    /// How its y axis is scaled.
    pub y: YScale,
}

/// A panel's y axis: autoscaled to the visible window (the default) or a fixed range,
/// linear or log10.
///
/// On a log axis only positive values have a place: autoscale looks at the positive
/// extremes only, and a value at or below 0 is drawn below the plot's bottom edge (so the
/// line leaves the plot downwards and is clipped there). A manual range on a log axis must
/// be positive; one that is not falls back to autoscale.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct YScale {
    /// `(bottom, top)`, `bottom < top`, both finite; `None`: autoscale.
    pub range: Option<(f64, f64)>,
    /// log10 instead of linear.
    pub log: bool,
}

impl YScale {
    /// The scales of `y=` in an address: `KEY:log`, `KEY:LO:HI` or `KEY:log:LO:HI`,
    /// comma-separated (keys hold no `:` or `,`). Parts that do not parse are left out.
    pub fn parse_param(text: &str) -> Vec<(String, YScale)> {
        text.split(',')
            .filter_map(|part| {
                let mut fields = part.split(':');
                let key = fields.next().filter(|k| !k.is_empty())?.to_string();
                let rest: Vec<&str> = fields.collect();
                let (log, bounds) = match rest.split_first() {
                    Some((&"log", bounds)) => (true, bounds),
                    _ => (false, &rest[..]),
                };
                let range = match bounds {
                    [] => None,
                    [lo, hi] => {
                        let (lo, hi) = (lo.parse::<f64>().ok()?, hi.parse::<f64>().ok()?);
                        (lo.is_finite() && hi.is_finite() && lo < hi).then_some((lo, hi))?;
                        Some((lo, hi))
                    }
                    _ => return None,
                };
                let scale = YScale { range, log };
                (scale != YScale::default()).then_some((key, scale))
            })
            .collect()
    }

    /// `y=`'s text for `scales` (the inverse of [`YScale::parse_param`]).
    pub fn param(scales: &[(String, YScale)]) -> String {
        scales
            .iter()
            .map(|(key, s)| {
                let mut part = key.clone();
                if s.log {
                    part.push_str(":log");
                }
                if let Some((lo, hi)) = s.range {
                    part.push_str(&format!(":{lo}:{hi}"));
                }
                part
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl From<Series> for Panel {
    fn from(series: Series) -> Panel {
        Panel {
            series: vec![series],
            y: YScale::default(),
        }
    }
}

impl Panel {
    /// Whether any series has a bin.
    pub fn has_bins(&self) -> bool {
        self.series.iter().any(|s| !s.bins.is_empty())
    }
}

/// What the x axis labels: raw sample indices or the times they stand for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum XAxis {
    /// Sample indices.
    Index,
    /// Sample `i` was taken at `t0_ns + i * ns_per_sample` ns since the Unix epoch (UTC).
    Time {
        /// Time of sample 0, ns since the Unix epoch.
        t0_ns: i64,
        /// Spacing of samples, ns; labels fall back to indices if it is not finite and
        /// non-zero.
        ns_per_sample: f64,
    },
}

/// Everything one frame shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    /// Width of the chart, CSS px.
    pub width: f64,
    /// Height of the chart, CSS px.
    pub height: f64,
    /// Visible window `[start, stop)` in sample-index space.
    pub x_range: (f64, f64),
    /// What the x axis labels.
    pub x_axis: XAxis,
    /// The stacked panels, top to bottom.
    pub panels: Vec<Panel>,
    /// Colours.
    pub theme: Theme,
}
