//! The chart's view state as plain logic: the visible window and its limits, zoom and pan,
//! drags, where the plot sits on screen, and what the address bar says. The island wires
//! these to events; the tests here run natively.
//!
//! Positions are x units: sample indices, or on a time axis nanoseconds after its first
//! timestamp ([`crate::catalog::TimeAxis`]).

use crate::catalog::TimeAxis;
use crate::chart::{nice_ticks, time_ticks, ChartSpec, Layout, Theme, XAxis, XMap};

/// A window `[start, stop)` in x units (fractional while zooming).
pub type Window = (f64, f64);

/// How far the x axis goes, and how narrow a window may get.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extent {
    /// The end of the axis: the series' length, or one nanosecond after its last sample.
    pub end: f64,
    /// The narrowest window a zoom may reach.
    pub min_width: f64,
}

impl Extent {
    /// The extent of a chart by index over `len` samples.
    pub fn samples(len: u64) -> Extent {
        Extent {
            end: len as f64,
            min_width: MIN_WINDOW,
        }
    }

    /// The extent of a chart on `axis` ending at `end`.
    pub fn time(axis: &TimeAxis, end: f64) -> Extent {
        Extent {
            end,
            min_width: MIN_WINDOW * axis.spacing(),
        }
    }
}

/// Narrowest window, in samples, a zoom may reach.
pub const MIN_WINDOW: f64 = 8.0;
/// Narrowest the chart is drawn, CSS px, whatever the width of its container.
pub const MIN_WIDTH_PX: f64 = 320.0;
/// A wheel event scales the window by this to the power of its `deltaY` in px (a mouse
/// notch of 100 px zooms by 35%, so 50M samples to 10 take about 50 notches).
pub const WHEEL_ZOOM_PER_DELTA: f64 = 1.003;
/// With Ctrl held (and a trackpad pinch, which browsers send as a Ctrl + wheel of small
/// deltas) the window scales by this per px: a notch zooms 2.7×, so 50M samples to 10 take
/// about 16 notches, and a pinch follows the fingers.
pub const PINCH_ZOOM_PER_DELTA: f64 = 1.01;
/// px per line and per page, for wheels that count in lines (`deltaMode` 1, Firefox's
/// mouse wheels) or pages (2).
const PX_PER_LINE: f64 = 40.0;
const PX_PER_PAGE: f64 = 800.0;
/// The + and − keys and buttons zoom by this factor.
pub const STEP_ZOOM: f64 = 2.0;
/// The arrow keys pan by this fraction of the window.
pub const KEY_PAN: f64 = 0.2;

/// `window` kept inside `[0, end)`, at least `min_width` wide (or all of a shorter axis),
/// and no wider than the axis.
pub fn clamp_window((start, stop): Window, extent: Extent) -> Window {
    let end = extent.end;
    let width = (stop - start).clamp(extent.min_width.min(end), end.max(1.0));
    let start = start.clamp(0.0, (end - width).max(0.0));
    (start, start + width)
}

/// `window` scaled by `factor` about the position `about` (which stays where it is on
/// screen).
pub fn zoomed((start, stop): Window, about: f64, factor: f64, extent: Extent) -> Window {
    clamp_window(
        (
            about - (about - start) * factor,
            about + (stop - about) * factor,
        ),
        extent,
    )
}

/// `window` moved by `fraction` of its width (negative: to the left).
pub fn panned((start, stop): Window, fraction: f64, extent: Extent) -> Window {
    let shift = (stop - start) * fraction;
    clamp_window((start + shift, stop + shift), extent)
}

/// `window` moved to end at the newest sample, keeping its width.
pub fn following((start, stop): Window, extent: Extent) -> Window {
    clamp_window((extent.end - (stop - start), extent.end), extent)
}

/// The zoom factor of a wheel event of `delta_y` in units of `delta_mode` (0 px, 1 lines,
/// 2 pages), faster with Ctrl (a pinch). One event zooms at most 10×, so a wheel that
/// reports huge deltas cannot jump to the end.
pub fn wheel_factor(delta_y: f64, delta_mode: u32, ctrl: bool) -> f64 {
    let px = delta_y
        * match delta_mode {
            1 => PX_PER_LINE,
            2 => PX_PER_PAGE,
            _ => 1.0,
        };
    let per = if ctrl {
        PINCH_ZOOM_PER_DELTA
    } else {
        WHEEL_ZOOM_PER_DELTA
    };
    per.powf(px).clamp(0.1, 10.0)
}

/// The whole samples a window covers: `[floor(start), ceil(stop))`, within `[0, len]`.
pub fn samples((start, stop): Window, len: u64) -> (u64, u64) {
    (
        start.floor().max(0.0) as u64,
        (stop.ceil().max(0.0) as u64).min(len),
    )
}

/// The sample nearest to the fractional index `x`, within the series.
pub fn sample_at(x: f64, len: u64) -> u64 {
    (x.round().max(0.0) as u64).min(len.saturating_sub(1))
}

/// The instants `[t0, t1)` of a window on `axis`, whole nanoseconds, never empty.
pub fn instants((start, stop): Window, axis: &TimeAxis) -> (i64, i64) {
    let t0 = axis.ns_of_x(start.floor());
    (t0, axis.ns_of_x(stop.ceil()).max(t0.saturating_add(1)))
}

/// Everything the address bar says about a view.
#[derive(Debug, Clone, Copy)]
pub struct UrlState<'a> {
    /// The window, in x units.
    pub window: Window,
    /// How far the axis goes (a window over all of it is not written).
    pub extent: Extent,
    /// The time axis, if the chart is in time (the window is then written as instants).
    pub time: Option<&'a TimeAxis>,
    /// The timestamps asked for (`time=`), if any.
    pub time_asked: Option<&'a str>,
    /// What is added to the view (`add=`).
    pub added: &'a [String],
    /// Keys of the series toggled off (`hide=`).
    pub hidden: &'a [String],
    /// Keys of the series overlaid on the panel above (`join=`).
    pub joined: &'a [String],
    /// The panels' y scales other than autoscale (`y=`).
    pub y: &'a [(String, crate::chart::YScale)],
}

impl UrlState<'_> {
    /// The query (without `?`): each part only when it says something.
    pub fn query(&self) -> String {
        let mut query = Vec::new();
        if let Some(name) = self.time_asked {
            query.push(format!("time={name}"));
        }
        if !self.added.is_empty() {
            query.push(format!("add={}", self.added.join(",")));
        }
        let (start, stop) = self.window;
        let whole = start <= 0.0 && stop >= self.extent.end;
        match self.time {
            _ if whole => {}
            Some(axis) => {
                let (t0, t1) = instants(self.window, axis);
                query.push(format!("t0={t0}"));
                query.push(format!("t1={t1}"));
            }
            None => {
                let (lo, hi) = samples(self.window, self.extent.end as u64);
                query.push(format!("start={lo}"));
                query.push(format!("stop={hi}"));
            }
        }
        if !self.hidden.is_empty() {
            query.push(format!("hide={}", self.hidden.join(",")));
        }
        if !self.joined.is_empty() {
            query.push(format!("join={}", self.joined.join(",")));
        }
        if !self.y.is_empty() {
            query.push(format!("y={}", crate::chart::YScale::param(self.y)));
        }
        query.join("&")
    }
}

/// Most x tick labels listed for screen readers.
const MAX_TICK_LABELS: usize = 8;

/// The bins to fetch and draw for a chart `width` CSS px wide: one per CSS px of the widest
/// plot that width can hold (the same for every panel, as they share the x axis).
pub fn bins_for(width: f64) -> usize {
    let frame = ChartSpec {
        width: width.max(MIN_WIDTH_PX),
        height: 0.0,
        x_range: (0.0, 1.0),
        x_axis: XAxis::Index,
        panels: Vec::new(),
        theme: Theme::Light,
    };
    frame.plot_width_px() as usize
}

/// The x-axis ticks of `window`: their positions (x units) and labels.
pub fn x_ticks((start, stop): Window, axis: XAxis) -> Vec<(f64, String)> {
    match axis {
        XAxis::Time {
            t0_ns,
            ns_per_sample,
        } => {
            let at = |x: f64| t0_ns as f64 + x * ns_per_sample;
            time_ticks(at(start), at(stop), MAX_TICK_LABELS)
                .0
                .into_iter()
                .map(|(t, label)| ((t - t0_ns as f64) / ns_per_sample, label))
                .collect()
        }
        XAxis::Index => nice_ticks(start, stop, MAX_TICK_LABELS),
    }
}

/// Where the last frame put its plots, CSS px from the chart's top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlotBox {
    /// Left edge of the plots.
    pub left: f64,
    /// Right edge of the plots.
    pub right: f64,
    /// Top of the first panel.
    pub top: f64,
    /// Bottom of the last panel.
    pub bottom: f64,
}

impl PlotBox {
    /// The plots of a drawn frame; `None` when it has no panels.
    pub fn of(layout: &Layout) -> Option<PlotBox> {
        Some(PlotBox {
            left: layout.plot_left,
            right: layout.plot_right,
            top: layout.panels.first()?.top,
            bottom: layout.panels.last()?.bottom,
        })
    }

    /// The px ↔ sample mapping of these plots showing `window`.
    pub fn x_map(&self, window: Window) -> XMap {
        XMap::new((self.left, self.right), window)
    }

    /// The crosshair's style at sample `x`: a line over the plots, if `x` is inside them.
    pub fn crosshair_style(&self, window: Window, x: f64) -> Option<String> {
        let px = self.x_map(window).px_from_x(x);
        (self.left..=self.right).contains(&px).then(|| {
            format!(
                "left:{}px;top:{}px;height:{}px",
                px.floor(),
                self.top,
                self.bottom - self.top
            )
        })
    }

    /// The box-zoom band's style over the samples `selection`, clipped to the plots.
    pub fn band_style(&self, window: Window, (from, to): (f64, f64)) -> Option<String> {
        let map = self.x_map(window);
        let at = |x: f64| map.px_from_x(x).clamp(self.left, self.right);
        let (a, b) = (at(from.min(to)), at(from.max(to)));
        (b > a).then(|| {
            format!(
                "left:{}px;width:{}px;top:{}px;height:{}px",
                a.floor(),
                (b.floor() - a.floor()).max(1.0),
                self.top,
                self.bottom - self.top
            )
        })
    }
}

/// A drag in progress: a pan, or (with shift) a box zoom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drag {
    /// Where it started, CSS px from the chart's left.
    pub from_px: f64,
    /// The sample under that point.
    pub from_x: f64,
    /// The window when it started.
    pub window: Window,
    /// A box zoom (shift held), not a pan.
    pub boxed: bool,
}

impl Drag {
    /// The window of a pan whose pointer is now at `px` over `plot`: the samples follow
    /// the pointer.
    pub fn panned_to(&self, px: f64, plot: &PlotBox, extent: Extent) -> Window {
        let (start, stop) = self.window;
        let per_px = (stop - start) / (plot.right - plot.left).max(1.0);
        let shift = (self.from_px - px) * per_px;
        clamp_window((start + shift, stop + shift), extent)
    }

    /// The samples a box zoom whose pointer is now at sample `x` selects.
    pub fn selection(&self, x: f64) -> (f64, f64) {
        (self.from_x.min(x), self.from_x.max(x))
    }
}

/// The window a box selection zooms to, if it spans at least one x unit.
pub fn boxed_window((from, to): (f64, f64), extent: Extent) -> Option<Window> {
    (to - from >= 1.0).then(|| clamp_window((from, to), extent))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLOT: PlotBox = PlotBox {
        left: 60.0,
        right: 1060.0,
        top: 22.0,
        bottom: 300.0,
    };

    /// A time axis of a million nanoseconds, a sample every microsecond.
    const AXIS: TimeAxis = TimeAxis {
        first_ns: 1_700_000_000_000_000_000,
        last_ns: 1_700_000_000_000_999_999,
        spacing_ns: Some(1000),
    };

    #[test]
    fn windows_stay_inside_the_series() {
        let len = Extent::samples(1000);
        // (window, clamped)
        for (window, want) in [
            ((100.0, 200.0), (100.0, 200.0)),
            ((-50.0, 50.0), (0.0, 100.0)),
            ((950.0, 1050.0), (900.0, 1000.0)),
            ((10.0, 12.0), (10.0, 18.0)),
            ((-10.0, 5000.0), (0.0, 1000.0)),
        ] {
            assert_eq!(clamp_window(window, len), want, "{window:?}");
        }
        // A series shorter than the narrowest window shows whole.
        assert_eq!(clamp_window((0.0, 1.0), Extent::samples(3)), (0.0, 3.0));
        // On a time axis the narrowest window is a few samples' time.
        let time = Extent::time(&AXIS, AXIS.x_end());
        assert_eq!(clamp_window((5000.0, 5001.0), time), (5000.0, 13_000.0));
    }

    #[test]
    fn zoom_keeps_the_sample_under_the_pointer() {
        let window = (200.0, 400.0);
        let len = Extent::samples(1000);
        let zoomed_in = zoomed(window, 250.0, 0.5, len);
        assert_eq!(zoomed_in, (225.0, 325.0));
        let map = |w: Window| PLOT.x_map(w);
        let before = map(window).px_from_x(250.0);
        let after = map(zoomed_in).px_from_x(250.0);
        assert!((before - after).abs() < 1e-9, "{before} {after}");
        assert!(wheel_factor(100.0, 0, false) > 1.0 && wheel_factor(-100.0, 0, false) < 1.0);
        // Lines count as 40 px, and Ctrl (a pinch) zooms faster; one event at most 10×.
        assert_eq!(wheel_factor(3.0, 1, false), wheel_factor(120.0, 0, false));
        assert!(wheel_factor(-100.0, 0, true) < wheel_factor(-100.0, 0, false).powi(3));
        assert_eq!(wheel_factor(-1e6, 0, true), 0.1);
        // From 50M samples to 10: about 50 notches, or 16 with Ctrl.
        let notches = |ctrl| (5e6f64.ln() / wheel_factor(-100.0, 0, ctrl).recip().ln()).ceil();
        assert!(
            notches(false) <= 52.0 && notches(true) <= 16.0,
            "{} {}",
            notches(false),
            notches(true)
        );
        assert_eq!(zoomed(window, 300.0, 1e6, len), (0.0, 1000.0));
    }

    #[test]
    fn pans_and_follow() {
        let len = Extent::samples(1000);
        assert_eq!(panned((100.0, 200.0), KEY_PAN, len), (120.0, 220.0));
        assert_eq!(panned((100.0, 200.0), -1.0, len), (0.0, 100.0));
        assert_eq!(
            following((100.0, 200.0), Extent::samples(5000)),
            (4900.0, 5000.0)
        );
        let drag = Drag {
            from_px: 560.0,
            from_x: 150.0,
            window: (100.0, 200.0),
            boxed: false,
        };
        // 1000 px show 100 samples: dragging 100 px left shows 10 samples further right.
        assert_eq!(drag.panned_to(460.0, &PLOT, len), (110.0, 210.0));
        assert_eq!(drag.selection(120.0), (120.0, 150.0));
        assert_eq!(boxed_window((120.0, 150.0), len), Some((120.0, 150.0)));
        assert_eq!(boxed_window((120.0, 120.5), len), None);
    }

    #[test]
    fn sample_indices_of_a_window() {
        assert_eq!(samples((10.2, 20.7), 100), (10, 21));
        assert_eq!(samples((-3.0, 200.0), 100), (0, 100));
        assert_eq!(sample_at(9.6, 100), 10);
        assert_eq!(sample_at(-2.0, 100), 0);
        assert_eq!(sample_at(1e9, 100), 99);
        assert_eq!(
            instants((2000.5, 5000.0), &AXIS),
            (AXIS.first_ns + 2000, AXIS.first_ns + 5000)
        );
        assert_eq!(
            instants((7.0, 7.0), &AXIS),
            (AXIS.first_ns + 7, AXIS.first_ns + 8)
        );
    }

    #[test]
    fn bins_follow_the_plot_width() {
        let wide = bins_for(2000.0);
        assert!(wide > 1800 && wide < 2000, "{wide}");
        assert_eq!(bins_for(0.0), bins_for(MIN_WIDTH_PX));
        assert_eq!(
            x_ticks((0.0, 100.0), XAxis::Index)
                .first()
                .map(|(x, label)| (*x, label.as_str())),
            Some((0.0, "0"))
        );
        // Time ticks sit at their instants, counted from the axis' start.
        let axis = XAxis::Time {
            t0_ns: 1_767_225_600_000_000_000,
            ns_per_sample: 1.0,
        };
        let ticks = x_ticks((0.0, 3.6e12), axis);
        assert!(
            ticks
                .iter()
                .any(|(x, label)| *x == 6e11 && label == "00:10"),
            "{ticks:?}"
        );
    }

    #[test]
    fn the_url_holds_the_view() {
        let state = UrlState {
            window: (0.0, 100.0),
            extent: Extent::samples(100),
            time: None,
            time_asked: None,
            added: &[],
            hidden: &[],
            joined: &[],
            y: &[],
        };
        assert_eq!(state.query(), "");
        let zoomed = UrlState {
            window: (10.0, 20.5),
            ..state
        };
        assert_eq!(zoomed.query(), "start=10&stop=21");
        let keys = ["rssi".to_string(), "attitude.2".to_string()];
        let added = ["demo/hk".to_string(), "lab/x@lab/t_x".to_string()];
        let composed = UrlState {
            time_asked: Some("clock/t"),
            added: &added,
            hidden: &keys,
            joined: &keys[1..],
            ..zoomed
        };
        assert_eq!(
            composed.query(),
            "time=clock/t&add=demo/hk,lab/x@lab/t_x&start=10&stop=21&hide=rssi,attitude.2&join=attitude.2"
        );
        // The y scales, and back.
        use crate::chart::YScale;
        let y = [
            (
                "rssi".to_string(),
                YScale {
                    range: None,
                    log: true,
                },
            ),
            (
                "attitude.2".to_string(),
                YScale {
                    range: Some((-0.5, 1.25)),
                    log: false,
                },
            ),
            (
                "demo/x".to_string(),
                YScale {
                    range: Some((0.001, 10.0)),
                    log: true,
                },
            ),
        ];
        let scaled = UrlState { y: &y, ..zoomed };
        assert_eq!(
            scaled.query(),
            "start=10&stop=21&y=rssi:log,attitude.2:-0.5:1.25,demo/x:log:0.001:10"
        );
        assert_eq!(YScale::parse_param(&YScale::param(&y)), y);
        // What does not parse is left out.
        assert_eq!(
            YScale::parse_param("a:1:0,b:x:2,:log,c,d:log:1,e:log"),
            [(
                "e".to_string(),
                YScale {
                    range: None,
                    log: true
                }
            )]
        );
        // On a time axis the URL holds instants.
        let time = UrlState {
            window: (2000.5, 5000.0),
            extent: Extent::time(&AXIS, AXIS.x_end()),
            time: Some(&AXIS),
            ..state
        };
        assert_eq!(
            time.query(),
            "t0=1700000000000002000&t1=1700000000000005000"
        );
        let whole = UrlState {
            window: (0.0, time.extent.end),
            ..time
        };
        assert_eq!(whole.query(), "");
    }

    #[test]
    fn overlays_sit_on_the_plot() {
        let window = (0.0, 100.0);
        assert_eq!(
            PLOT.crosshair_style(window, 50.0).as_deref(),
            Some("left:560px;top:22px;height:278px")
        );
        assert_eq!(PLOT.crosshair_style(window, 150.0), None);
        assert_eq!(
            PLOT.band_style(window, (90.0, 200.0)).as_deref(),
            Some("left:960px;width:100px;top:22px;height:278px")
        );
        assert_eq!(PLOT.band_style(window, (150.0, 200.0)), None);
    }
}
