//! Where everything goes, in CSS px: the chart's height for a number of panels, the plot's
//! left and right edges, each panel's top and bottom, each panel's y range, and the mapping
//! between pixels and sample indices ([`XMap`]). The server's first frame, the painter and
//! the browser's hit-testing all use exactly these.
//!
//! The left gutter grows with the widest y label (in steps of 8 px, so panning rarely moves
//! the plot), as uPlot's and Grafana's axes do: a narrow window far from zero can need
//! labels like `421.746G` or `0.000100000`.

use super::style::size;
use super::ticks::nice_ticks;
use super::{ChartSpec, Panel, XAxis, YScale};
use crate::lod::M4Bin;

/// Room under the bottom panel for the x tick labels and the context label, CSS px.
pub const AXIS_HEIGHT: f64 = 44.0;
/// Height of one stacked panel when up to [`FEW_PANELS`] are stacked, CSS px.
const PANEL_HEIGHT: f64 = 164.0;
/// Height of one stacked panel when more are stacked, CSS px.
const PANEL_HEIGHT_MANY: f64 = 124.0;
/// Up to this many panels get the taller height.
const FEW_PANELS: usize = 4;
/// Room above the top panel's title row.
const PAD_TOP: f64 = 4.0;
/// The row above each panel's plot that holds its title (and the half of its top y label
/// that sticks out).
pub const TITLE_ROW: f64 = 18.0;
/// Room between a panel and the next one's title row.
const PANEL_GAP: f64 = 8.0;
/// Least room left of the plots, for y labels up to six characters (`-0.002`, `1009.5`).
const MIN_GUTTER: f64 = 56.0;
/// The gutter grows in steps of this.
const GUTTER_STEP: f64 = 8.0;
/// Room right of the plots, for half of the last x label.
const PAD_RIGHT: f64 = 20.0;
/// Fraction of the data range added above and below it.
const Y_PADDING: f64 = 0.05;

/// The least and greatest panel height a user may choose, CSS px.
pub const PANEL_HEIGHT_RANGE: (f64, f64) = (60.0, 800.0);

/// The chart's total height for `panels` visible panels of `panel_px` CSS px each (within
/// [`PANEL_HEIGHT_RANGE`]), or by [`chart_height`]'s rule when `None`.
pub fn chart_height_with(panels: usize, panel_px: Option<f64>) -> f64 {
    match panel_px.filter(|h| h.is_finite()) {
        Some(h) => {
            let (lo, hi) = PANEL_HEIGHT_RANGE;
            panels.max(1) as f64 * h.clamp(lo, hi) + AXIS_HEIGHT
        }
        None => chart_height(panels),
    }
}

/// The chart's total height for `panels` visible panels, CSS px: the panels and the x axis.
pub fn chart_height(panels: usize) -> f64 {
    let each = if panels > FEW_PANELS {
        PANEL_HEIGHT_MANY
    } else {
        PANEL_HEIGHT
    };
    panels.max(1) as f64 * each + AXIS_HEIGHT
}

impl XAxis {
    /// The x axis of `len` samples whose timestamps, if any, run from `first_ns` to
    /// `last_ns` (ns since the Unix epoch): labelled by time, else by index.
    pub fn over_samples(len: u64, time: Option<(i64, i64)>) -> XAxis {
        match time {
            Some((first_ns, last_ns)) if len > 1 => XAxis::Time {
                t0_ns: first_ns,
                ns_per_sample: (last_ns - first_ns) as f64 / (len - 1) as f64,
            },
            Some((first_ns, _)) => XAxis::Time {
                t0_ns: first_ns,
                ns_per_sample: 1.0,
            },
            None => XAxis::Index,
        }
    }
}

/// The linear map between sample indices and CSS px from the chart's left: the window
/// `[start, stop)` spans the plot from `left` to `right`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct XMap {
    /// Left edge of the plot; `start` maps here.
    pub left: f64,
    /// Right edge of the plot; `stop` maps here.
    pub right: f64,
    /// The sample index at the left edge.
    pub start: f64,
    /// CSS px per sample.
    px_per_x: f64,
}

impl XMap {
    /// The map of the window `(start, stop)` onto the plot `(left, right)`; an empty or
    /// reversed window is widened to one sample, so the map is always invertible.
    pub fn new((left, right): (f64, f64), (start, stop): (f64, f64)) -> XMap {
        let stop = if stop > start { stop } else { start + 1.0 };
        XMap {
            left,
            right,
            start,
            px_per_x: (right - left) / (stop - start),
        }
    }

    /// CSS px of the sample index `x`.
    pub fn px_from_x(&self, x: f64) -> f64 {
        self.left + (x - self.start) * self.px_per_x
    }

    /// The sample index at `px` CSS px (beyond the plot it extrapolates).
    pub fn x_from_px(&self, px: f64) -> f64 {
        self.start + (px - self.left) / self.px_per_x
    }

    /// CSS px per sample.
    pub fn px_per_x(&self) -> f64 {
        self.px_per_x
    }
}

/// Where the chart puts its plots, CSS px from the chart's top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Left edge of every panel's plot; `x_range.0` maps here.
    pub plot_left: f64,
    /// Right edge of every panel's plot; `x_range.1` maps here.
    pub plot_right: f64,
    /// One rectangle per panel, top to bottom.
    pub panels: Vec<PanelRect>,
    /// The x window the plots show (as [`ChartSpec::window`] widens it).
    pub window: (f64, f64),
}

impl Layout {
    /// The px ↔ sample mapping of these plots.
    pub fn x_map(&self) -> XMap {
        XMap::new((self.plot_left, self.plot_right), self.window)
    }
}

/// One panel's vertical extent and scale.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelRect {
    /// Top edge, CSS px; `y_range.1` maps here.
    pub top: f64,
    /// Bottom edge, CSS px; `y_range.0` maps here.
    pub bottom: f64,
    /// The values at the bottom and top edges.
    pub y_range: (f64, f64),
    /// log10 between them (both then positive).
    pub log: bool,
}

impl PanelRect {
    /// CSS px (from the chart's top) of the value `y`.
    pub fn px_from_y(&self, y: f64) -> f64 {
        let (lo, hi) = self.scaled_range();
        let Some(y) = self.scaled(y) else {
            // At or below 0 on a log axis: below the plot, where the line is clipped.
            return f64::INFINITY;
        };
        self.bottom - (y - lo) / (hi - lo) * (self.bottom - self.top)
    }

    /// `y` in the axis' own units (its log10 on a log axis; `None` there for `y <= 0`).
    fn scaled(&self, y: f64) -> Option<f64> {
        match self.log {
            false => Some(y),
            true if y > 0.0 => Some(y.log10()),
            true => None,
        }
    }

    /// The range in the axis' own units.
    fn scaled_range(&self) -> (f64, f64) {
        let (lo, hi) = self.y_range;
        match self.log {
            false => (lo, hi),
            true => (lo.log10(), hi.log10()),
        }
    }

    /// The value at `px` CSS px from the chart's top (inverse of [`PanelRect::px_from_y`]).
    pub fn y_from_px(&self, px: f64) -> f64 {
        let (lo, hi) = self.scaled_range();
        let y = lo + (self.bottom - px) / (self.bottom - self.top) * (hi - lo);
        if self.log {
            10f64.powf(y)
        } else {
            y
        }
    }

    /// The y range after zooming by `factor` (below 1 zooms in) about the value at `px`,
    /// in the axis' own units (so a log axis zooms by decades).
    pub fn zoomed_y(&self, px: f64, factor: f64) -> (f64, f64) {
        let (lo, hi) = self.scaled_range();
        let at = self.scaled(self.y_from_px(px)).unwrap_or(lo);
        let (a, b) = (at - (at - lo) * factor, at + (hi - at) * factor);
        if self.log {
            (10f64.powf(a), 10f64.powf(b))
        } else {
            (a, b)
        }
    }

    /// Whether `px` CSS px from the chart's top is inside the panel.
    pub fn contains_px(&self, px: f64) -> bool {
        (self.top..=self.bottom).contains(&px)
    }
}

impl ChartSpec {
    /// Where the plots and panels go; the same for the same spec on every target.
    pub fn layout(&self) -> Layout {
        let window = self.window();
        let count = self.panels.len();
        let gaps = PANEL_GAP * count.saturating_sub(1) as f64;
        let titles = TITLE_ROW * count as f64;
        let room = (self.height - PAD_TOP - AXIS_HEIGHT - gaps - titles).max(count as f64);
        let panel_height = room / count.max(1) as f64;
        let mut widest_label = 0;
        let panels = self
            .panels
            .iter()
            .enumerate()
            .map(|(i, panel)| {
                let top = PAD_TOP + TITLE_ROW + i as f64 * (panel_height + TITLE_ROW + PANEL_GAP);
                let log = panel.y.log;
                let extent = panel_extent(panel, window, log);
                let rect = PanelRect {
                    top: top.floor(),
                    bottom: (top + panel_height).floor(),
                    y_range: panel_range(panel.y, extent),
                    log,
                };
                if extent.is_some() {
                    let widest = y_ticks(&rect).iter().map(|(_, l)| l.chars().count()).max();
                    widest_label = widest_label.max(widest.unwrap_or(0));
                }
                rect
            })
            .collect();
        let (plot_left, plot_right) = self.plot_edges_for(widest_label);
        Layout {
            plot_left,
            plot_right,
            panels,
            window,
        }
    }

    /// The sample index under `px` CSS px from the chart's left (inverse of
    /// [`ChartSpec::px_from_x`]; beyond the plot it extrapolates).
    pub fn x_from_px(&self, px: f64) -> f64 {
        self.layout().x_map().x_from_px(px)
    }

    /// CSS px from the chart's left of the sample index `x`.
    pub fn px_from_x(&self, x: f64) -> f64 {
        self.layout().x_map().px_from_x(x)
    }

    /// Width of the plot in whole CSS px: how many bins to ask for, one per column. The
    /// gutter depends on the y labels, so on a spec without panels this is the widest the
    /// plot can be, which is the right number of bins to fetch for it.
    pub fn plot_width_px(&self) -> u32 {
        let (left, right) = self.plot_edges();
        // At least 1, and bounded by the chart's width.
        (right - left).round().max(1.0) as u32
    }

    /// Left and right edges of the plots (see [`ChartSpec::layout`]).
    pub(super) fn plot_edges(&self) -> (f64, f64) {
        let layout = self.layout();
        (layout.plot_left, layout.plot_right)
    }

    /// Left and right edges of the plots when the widest y label has `widest_label`
    /// characters: whole CSS px, at least 1 px apart, the gutter at most a third of the
    /// width.
    fn plot_edges_for(&self, widest_label: usize) -> (f64, f64) {
        let width = if self.width.is_finite() {
            self.width.max(0.0)
        } else {
            0.0
        };
        let label = widest_label as f64 * size::CHAR_WIDTH + size::TICK + size::LABEL_GAP + 4.0;
        let gutter = MIN_GUTTER.max((label / GUTTER_STEP).ceil() * GUTTER_STEP);
        let left = gutter.min((width / 3.0).floor());
        let right = (width - PAD_RIGHT).floor().max(left + 1.0);
        (left, right)
    }

    /// The x window, widened to one sample if it is empty, reversed or not finite, so the
    /// mapping is always invertible.
    pub fn window(&self) -> (f64, f64) {
        let (start, stop) = self.x_range;
        let start = if start.is_finite() { start } else { 0.0 };
        if stop.is_finite() && stop > start {
            (start, stop)
        } else {
            (start, start + 1.0)
        }
    }
}

/// The y ticks of a panel: at most one per 16 px (a label is 12 px high), 4 to 12 of them,
/// so even a short panel gets 3 or 4 values to read against (it used to get 2 or 3).
pub fn y_ticks(rect: &PanelRect) -> Vec<(f64, String)> {
    let max_ticks = ((rect.bottom - rect.top) / 16.0).clamp(4.0, 12.0) as usize;
    if rect.log {
        return log_ticks(rect.y_range, max_ticks);
    }
    nice_ticks(rect.y_range.0, rect.y_range.1, max_ticks)
}

/// The label of a log tick `m × 10^e` (m of 1, 2, 5): `0.002`, `500`, `1e6`, `2e-5`.
fn log_label(v: f64) -> String {
    // Nudged: log10(1000) may come out a hair under 3.
    let e = (v.log10() + 1e-9).floor() as i32;
    if (-4..6).contains(&e) {
        let decimals = (-e).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{}e{e}", (v / 10f64.powi(e)).round())
    }
}

/// Ticks of a log axis over `(lo, hi)` (both positive): the powers of ten in it (every
/// second, third... to stay within `max_ticks`), and where fewer than three fit, also 2×
/// and 5× each; where not even one does, linear ticks.
fn log_ticks((lo, hi): (f64, f64), max_ticks: usize) -> Vec<(f64, String)> {
    let (a, b) = (lo.log10().ceil() as i32, hi.log10().floor() as i32);
    let label = log_label;
    if b - a + 1 >= 3 {
        let step = ((b - a + 1) as usize).div_ceil(max_ticks.max(1)).max(1);
        return (a..=b)
            .step_by(step)
            .map(|e| (10f64.powi(e), label(10f64.powi(e))))
            .collect();
    }
    let first = lo.log10().floor() as i32;
    let ticks: Vec<(f64, String)> = (first..=b.max(first))
        .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
        .filter(|v| (lo..=hi).contains(v))
        .map(|v| (v, label(v)))
        .collect();
    if ticks.len() >= 2 {
        ticks
    } else {
        nice_ticks(lo, hi, max_ticks)
    }
}

/// The bins overlapping `[start, stop)`, and `neighbours` more on each side (so lines
/// leave the plot where they really go). Assumes `bins` sorted by index.
pub(super) fn bins_in(bins: &[M4Bin], (start, stop): (f64, f64), neighbours: usize) -> &[M4Bin] {
    let first = bins.partition_point(|b| (b.last_index as f64) < start);
    let last = bins
        .partition_point(|b| (b.first_index as f64) < stop)
        .max(first);
    &bins[first.saturating_sub(neighbours)..(last + neighbours).min(bins.len())]
}

/// The least and greatest finite extremes of `bins` (the positive ones only, for a log axis).
pub(super) fn finite_extent(bins: &[M4Bin], log: bool) -> Option<(f64, f64)> {
    let mut extent: Option<(f64, f64)> = None;
    for bin in bins {
        // On a log axis a bin whose minimum is not positive may still reach above 0: its
        // least positive value is unknown, so its positive first, last or maximum stands in.
        let values = if log && bin.min <= 0.0 {
            [bin.first, bin.last, bin.max]
        } else {
            [bin.min, bin.max, bin.max]
        };
        for v in values {
            if v.is_finite() && (!log || v > 0.0) {
                extent = Some(extent.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
            }
        }
    }
    extent
}

/// The least and greatest finite extremes of the bins of `panel`'s series that overlap
/// `window`.
pub(super) fn panel_extent(panel: &Panel, window: (f64, f64), log: bool) -> Option<(f64, f64)> {
    panel
        .series
        .iter()
        .filter_map(|s| finite_extent(bins_in(&s.bins, window, 0), log))
        .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
}

/// The y range of a panel scaled by `y` whose data spans `extent`: the fixed range if it
/// has a valid one, else autoscaled ([`y_range`], or [`log_range`] on a log axis).
fn panel_range(y: YScale, extent: Option<(f64, f64)>) -> (f64, f64) {
    let valid =
        |(lo, hi): (f64, f64)| lo.is_finite() && hi.is_finite() && lo < hi && (!y.log || lo > 0.0);
    match y.range {
        Some(range) if valid(range) => range,
        _ if y.log => log_range(extent),
        _ => y_range(extent),
    }
}

/// The y range of a log axis whose positive data spans `extent`: plus 5% of its decades
/// each side; a flat series a decade around it; nothing positive `1..10`.
fn log_range(extent: Option<(f64, f64)>) -> (f64, f64) {
    let Some((lo, hi)) = extent else {
        return (1.0, 10.0);
    };
    let (a, b) = (lo.log10(), hi.log10());
    if b > a {
        let pad = (b - a) * Y_PADDING;
        (10f64.powf(a - pad), 10f64.powf(b + pad))
    } else {
        (10f64.powf(a - 0.5), 10f64.powf(a + 0.5))
    }
}

/// The y range of a panel whose data spans `extent`: plus 5% each side; a flat series gets
/// ±10% of its value (±1 at zero); no finite value gets `0..1`.
fn y_range(extent: Option<(f64, f64)>) -> (f64, f64) {
    let Some((lo, hi)) = extent else {
        return (0.0, 1.0);
    };
    let span = hi - lo;
    if span > 0.0 && span.is_finite() {
        let pad = span * Y_PADDING;
        return (lo - pad, hi + pad);
    }
    if span > 0.0 {
        // Extremes near ±f64::MAX: no room to pad.
        return (lo, hi);
    }
    let half = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
    (lo - half, hi + half)
}
