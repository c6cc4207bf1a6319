//! The painter: one pass over the spec that draws through any plotters backend, and the
//! SVG document the server sends as the first frame.
//!
//! Everything is placed by [`ChartSpec::layout`] and the spec's own px mapping, in CSS px,
//! then multiplied by the device pixel ratio and rounded to whole device pixels, which is
//! all a [`DrawingBackend`] takes. Grid lines are filled rectangles on
//! whole CSS pixels rather than stroked lines, so they are crisp on both SVG and canvas at
//! any integer pixel ratio, and fall on the same CSS pixels at every one.
//! Labels are placed by their anchor (the backend aligns them natively), never by measured
//! text: only the browser can measure text, and the server must draw the same frame.

use plotters::coord::Shift;
use plotters::drawing::DrawingAreaErrorKind;
use plotters::element::{Circle, PathElement, Polygon, Rectangle};
use plotters::prelude::{DrawingArea, DrawingBackend, IntoDrawingArea, SVGBackend};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontDesc, FontFamily, FontStyle, RGBAColor, ShapeStyle, TextStyle};

use super::layout::{bins_in, finite_extent, y_ticks, Layout, PanelRect, TITLE_ROW};
use super::style::{size, Colors, PALETTE_LEN};
use super::ticks::nice_ticks_from;
use super::time::time_ticks_exact;
use super::{ChartError, ChartSpec, Series, XAxis};
use crate::lod::M4Bin;

/// plotters' SVG backend writes a font's size divided by 1.24 (its em-to-px guess) while
/// the canvas backend writes it as is; [`render_svg`] multiplies it back so both show
/// [`size::FONT`] px.
const SVG_FONT_FACTOR: f64 = 1.24;

/// Farthest a point is drawn outside the chart, CSS px: `±inf` values land here, then get
/// clipped, and device coordinates stay far from `i32` overflow.
const FAR: f64 = 1e6;

/// Draw `spec` into `area`, whose size should be `width × scale` by `height × scale`
/// device px: pass the device pixel ratio as `scale` for crisp canvas lines (every
/// position, line width and font scales by it). Calls `present()`. Returns where the plots
/// went, so the caller can hit-test and overlay exactly what was drawn.
///
/// Text sizes follow the canvas backend, which takes a font size as CSS px; for an SVG use
/// [`render_svg`], which corrects for plotters' SVG backend.
///
/// # Errors
/// [`ChartError::Draw`] when the backend refuses an operation.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    scale: f64,
) -> Result<Layout, ChartError> {
    let painter = Painter::new(area, spec, scale, 1.0);
    painter.paint()?;
    Ok(painter.layout)
}

/// The chart as a standalone SVG document, `width × height` CSS px: the server's first frame.
///
/// # Errors
/// [`ChartError::Draw`] when plotters' SVG backend refuses an operation (it does not for
/// any spec this module knows of).
pub fn render_svg(spec: &ChartSpec) -> Result<String, ChartError> {
    let dimension = |css: f64| {
        if css.is_finite() {
            css.ceil().clamp(1.0, 1e5) as u32
        } else {
            1
        }
    };
    let mut svg = String::new();
    {
        let backend =
            SVGBackend::with_string(&mut svg, (dimension(spec.width), dimension(spec.height)));
        Painter::new(&backend.into_drawing_area(), spec, 1.0, SVG_FONT_FACTOR).paint()?;
    }
    Ok(svg)
}

/// Turns a plotters error into ours.
fn draw_error<E: std::error::Error + Send + Sync>(err: DrawingAreaErrorKind<E>) -> ChartError {
    ChartError::Draw(err.to_string())
}

/// A point in CSS px from the chart's top-left corner.
type CssPoint = (f64, f64);
/// A point in device px.
type DevicePoint = (i32, i32);

/// What one frame needs while it is drawn.
struct Painter<'a, DB: DrawingBackend> {
    area: &'a DrawingArea<DB, Shift>,
    spec: &'a ChartSpec,
    layout: Layout,
    colors: &'static Colors,
    /// Device px per CSS px.
    scale: f64,
    /// Font sizes are multiplied by this for the backend (see [`SVG_FONT_FACTOR`]).
    font_factor: f64,
    /// `px_from_x(x) = plot_left + (x - x_start) * x_factor`, precomputed for the hot loop.
    x_factor: f64,
    x_start: f64,
}

impl<'a, DB: DrawingBackend> Painter<'a, DB> {
    fn new(
        area: &'a DrawingArea<DB, Shift>,
        spec: &'a ChartSpec,
        scale: f64,
        font_factor: f64,
    ) -> Self {
        let layout = spec.layout();
        let (start, stop) = spec.window();
        let x_factor = (layout.plot_right - layout.plot_left) / (stop - start);
        Painter {
            area,
            spec,
            colors: spec.theme.colors(),
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                1.0
            },
            font_factor,
            x_factor,
            x_start: start,
            layout,
        }
    }

    fn paint(&self) -> Result<(), ChartError> {
        self.area
            .fill(&self.colors.background)
            .map_err(draw_error)?;
        if self.spec.panels.is_empty() {
            let middle = (self.spec.width / 2.0, self.spec.height / 2.0);
            self.text(
                "no data",
                middle,
                (HPos::Center, VPos::Center),
                self.colors.muted,
            )?;
        }
        let (x_ticks, context) = self.x_ticks();
        for (series, rect) in self.spec.panels.iter().zip(&self.layout.panels) {
            self.panel(series, rect, &x_ticks)?;
        }
        if let Some(last) = self.layout.panels.last() {
            self.x_axis(last.bottom, &x_ticks, &context)?;
        }
        self.area.present().map_err(draw_error)
    }

    // -------------------------------------------------------------------------------------
    // Axes and decorations.

    /// The x ticks (in sample-index space) and the context label, as many as fit under the
    /// plot without their labels touching.
    fn x_ticks(&self) -> (Vec<(f64, String)>, String) {
        let plot_width = self.layout.plot_right - self.layout.plot_left;
        let mut max_ticks = ((plot_width / 100.0) as usize).max(2);
        loop {
            let (ticks, context) = self.x_ticks_at_most(max_ticks);
            let widest = ticks
                .iter()
                .map(|(_, label)| label.chars().count())
                .max()
                .unwrap_or(0);
            let room = widest as f64 * size::CHAR_WIDTH + size::X_LABEL_GAP;
            let fit = ((plot_width / room) as usize).max(2);
            if ticks.len() <= fit || max_ticks <= 2 {
                return (ticks, context);
            }
            max_ticks = fit.min(max_ticks - 1);
        }
    }

    fn x_ticks_at_most(&self, max_ticks: usize) -> (Vec<(f64, String)>, String) {
        let (start, stop) = self.spec.window();
        match self.spec.x_axis {
            XAxis::Time {
                t0_ns,
                ns_per_sample,
            } if ns_per_sample.is_finite() && ns_per_sample != 0.0 => {
                let (a, b) = (start * ns_per_sample, stop * ns_per_sample);
                let (ticks, context) = time_ticks_exact(t0_ns, a.min(b), a.max(b), max_ticks);
                let ticks = ticks
                    .into_iter()
                    .map(|(t, label)| {
                        let offset_ns = (i128::from(t) - i128::from(t0_ns)) as f64;
                        (offset_ns / ns_per_sample, label)
                    })
                    .collect();
                (ticks, context)
            }
            _ => (
                nice_ticks_from(start, stop, max_ticks, 0),
                "index".to_owned(),
            ),
        }
    }

    /// One panel: grid, band, line, dots, y labels and title.
    fn panel(
        &self,
        series: &Series,
        rect: &PanelRect,
        x_ticks: &[(f64, String)],
    ) -> Result<(), ChartError> {
        let (left, right) = (self.layout.plot_left, self.layout.plot_right);
        let window = self.spec.window();
        let has_data = finite_extent(bins_in(&series.bins, window, 0)).is_some();
        let y_ticks = if has_data { y_ticks(rect) } else { Vec::new() };

        for (y, _) in &y_ticks {
            self.rule_h(left, right, rect.px_from_y(*y), self.colors.grid.to_rgba())?;
        }
        for (x, _) in x_ticks {
            self.rule_v(
                self.px_from_x(*x),
                rect.top,
                rect.bottom,
                self.colors.grid.to_rgba(),
            )?;
        }
        self.rule_h(left, right, rect.bottom - 1.0, self.colors.axis.to_rgba())?;

        if has_data {
            self.series(series, rect)?;
        } else {
            let message = if bins_in(&series.bins, window, 0).is_empty() {
                "no data"
            } else {
                "no finite values"
            };
            let middle = ((left + right) / 2.0, (rect.top + rect.bottom) / 2.0);
            self.text(
                message,
                middle,
                (HPos::Center, VPos::Center),
                self.colors.muted,
            )?;
        }

        for (y, label) in &y_ticks {
            let at = (left - size::TICK - size::LABEL_GAP, rect.px_from_y(*y));
            self.text(label, at, (HPos::Right, VPos::Center), self.colors.label)?;
        }
        self.title(series, rect)
    }

    /// Colour swatch, name and unit in the row above the panel's plot, so no data hides
    /// under them.
    fn title(&self, series: &Series, rect: &PanelRect) -> Result<(), ChartError> {
        let title = if series.unit.is_empty() {
            series.name.clone()
        } else {
            format!("{} ({})", series.name, series.unit)
        };
        let x = self.layout.plot_left;
        let y = rect.top - TITLE_ROW + 2.0;
        let swatch = 8.0;
        let text_x = x + swatch + 6.0;
        let color = self.series_color(series);
        self.fill_rect(
            (x, y + 2.0),
            (x + swatch, y + 2.0 + swatch),
            color.to_rgba(),
        )?;
        self.text(
            &title,
            (text_x, y),
            (HPos::Left, VPos::Top),
            self.colors.title,
        )
    }

    /// Tick marks and labels under the bottom panel, and the context label under them.
    fn x_axis(
        &self,
        bottom: f64,
        ticks: &[(f64, String)],
        context: &str,
    ) -> Result<(), ChartError> {
        let label_y = bottom + size::TICK + size::LABEL_GAP;
        for (x, label) in ticks {
            let px = self.px_from_x(*x);
            self.rule_v(px, bottom, bottom + size::TICK, self.colors.axis.to_rgba())?;
            // Skip a label that would run off the chart rather than move it off its tick.
            let half = label.chars().count() as f64 * size::CHAR_WIDTH / 2.0;
            if px - half < 0.0 || px + half > self.spec.width {
                continue;
            }
            self.text(
                label,
                (px, label_y),
                (HPos::Center, VPos::Top),
                self.colors.label,
            )?;
        }
        let at = (self.layout.plot_left, label_y + size::FONT + 6.0);
        self.text(context, at, (HPos::Left, VPos::Top), self.colors.muted)
    }

    // -------------------------------------------------------------------------------------
    // The data.

    /// Band, line and dots of one series, clipped to its panel.
    fn series(&self, series: &Series, rect: &PanelRect) -> Result<(), ChartError> {
        let color = self.series_color(series);
        let clip = Clip {
            left: self.layout.plot_left,
            right: self.layout.plot_right,
            top: rect.top,
            bottom: rect.bottom,
        };
        let bins = bins_in(&series.bins, self.spec.window(), 1);
        let at = |index: u64, value: f64| -> CssPoint {
            let y = rect.px_from_y(value).clamp(-FAR, FAR);
            (self.px_from_x(index as f64).clamp(-FAR, FAR), y)
        };

        if self.bin_width(bins) >= size::BAND_MIN_BIN_WIDTH
            && bins.iter().any(|b| b.first_index != b.last_index)
        {
            let band = color.mix(size::BAND_ALPHA).filled();
            for polygon in band_polygons(bins, at) {
                let polygon = self.device_path(clip.polygon(polygon));
                if polygon.len() >= 3 {
                    self.area
                        .draw(&Polygon::new(polygon, band))
                        .map_err(draw_error)?;
                }
            }
        }

        let mut tracer = Tracer::new(clip, self.scale);
        for bin in bins {
            for (index, value) in m4_points(bin) {
                if value.is_nan() {
                    tracer.lift();
                } else {
                    tracer.line_to(at(index, value));
                }
            }
        }
        let line = ShapeStyle {
            color: color.to_rgba(),
            filled: false,
            stroke_width: self.device_width(size::LINE),
        };
        let dot = ShapeStyle {
            color: color.to_rgba(),
            filled: true,
            stroke_width: 0,
        };
        let radius = self.device_width(size::DOT);
        // Once samples are this far apart, every sample gets a dot (drawn below).
        let dot_every_sample = self.x_factor >= size::DOT_SPACING;
        for run in tracer.finish() {
            match run.as_slice() {
                [_] if dot_every_sample => {}
                [single] => {
                    self.area
                        .draw(&Circle::new(*single, radius, dot))
                        .map_err(draw_error)?;
                }
                _ => self
                    .area
                    .draw(&PathElement::new(run, line))
                    .map_err(draw_error)?,
            }
        }

        if dot_every_sample {
            for bin in bins {
                for (index, value) in m4_points(bin) {
                    let point = at(index, value);
                    if value.is_finite() && clip.contains(point) {
                        let center = self.device(point);
                        self.area
                            .draw(&Circle::new(center, radius, dot))
                            .map_err(draw_error)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Average width of `bins` on screen, CSS px.
    fn bin_width(&self, bins: &[M4Bin]) -> f64 {
        match (bins.first(), bins.last()) {
            (Some(first), Some(last)) => {
                let samples = (last.last_index.saturating_sub(first.first_index) + 1) as f64;
                samples * self.x_factor / bins.len() as f64
            }
            _ => 0.0,
        }
    }

    fn series_color(&self, series: &Series) -> plotters::style::RGBColor {
        self.colors.series[series.color % PALETTE_LEN]
    }

    // -------------------------------------------------------------------------------------
    // Primitives, in CSS px.

    fn px_from_x(&self, x: f64) -> f64 {
        self.layout.plot_left + (x - self.x_start) * self.x_factor
    }

    fn device(&self, (x, y): CssPoint) -> DevicePoint {
        let d = |v: f64| (v * self.scale).round().clamp(-FAR, FAR) as i32;
        (d(x), d(y))
    }

    /// A CSS px width in whole device px, at least 1; ties to even, so the 1.25 px line is
    /// 2 device px at a ratio of 2 (crisp) rather than 3.
    fn device_width(&self, css: f64) -> u32 {
        (css * self.scale).round_ties_even().max(1.0) as u32
    }

    /// `points` in device px, without consecutive repeats.
    fn device_path(&self, points: Vec<CssPoint>) -> Vec<DevicePoint> {
        let mut path: Vec<DevicePoint> = Vec::with_capacity(points.len());
        for point in points {
            let point = self.device(point);
            if path.last() != Some(&point) {
                path.push(point);
            }
        }
        path
    }

    fn fill_rect(&self, from: CssPoint, to: CssPoint, color: RGBAColor) -> Result<(), ChartError> {
        let rect = Rectangle::new([self.device(from), self.device(to)], color.filled());
        self.area.draw(&rect).map_err(draw_error)
    }

    /// A one-CSS-px horizontal line covering the CSS px row `y` falls in, so grid lines
    /// sit on the same CSS pixels at every scale.
    fn rule_h(&self, x0: f64, x1: f64, y: f64, color: RGBAColor) -> Result<(), ChartError> {
        let (a, b) = (self.device((x0, y)).0, self.device((x1, y)).0);
        let row = self.device((x0, y.floor())).1;
        let rect = Rectangle::new(
            [(a, row), (b, row + self.device_width(1.0) as i32)],
            color.filled(),
        );
        self.area.draw(&rect).map_err(draw_error)
    }

    /// A one-CSS-px vertical line covering the CSS px column `x` falls in.
    fn rule_v(&self, x: f64, y0: f64, y1: f64, color: RGBAColor) -> Result<(), ChartError> {
        let (a, b) = (self.device((x, y0)).1, self.device((x, y1)).1);
        let column = self.device((x.floor(), y0)).0;
        let rect = Rectangle::new(
            [(column, a), (column + self.device_width(1.0) as i32, b)],
            color.filled(),
        );
        self.area.draw(&rect).map_err(draw_error)
    }

    fn text(
        &self,
        text: &str,
        at: CssPoint,
        (h, v): (HPos, VPos),
        color: plotters::style::RGBColor,
    ) -> Result<(), ChartError> {
        let font_size = size::FONT * self.scale * self.font_factor;
        let font = FontDesc::new(FontFamily::SansSerif, font_size, FontStyle::Normal);
        let style = TextStyle::from(font).color(&color).pos(Pos::new(h, v));
        self.area
            .draw_text(text, &style, self.device(at))
            .map_err(draw_error)
    }
}

/// The points of a bin in index order: first, the extremes, last, each index once.
fn m4_points(bin: &M4Bin) -> impl Iterator<Item = (u64, f64)> {
    let (low, high) = if bin.min_index <= bin.max_index {
        ((bin.min_index, bin.min), (bin.max_index, bin.max))
    } else {
        ((bin.max_index, bin.max), (bin.min_index, bin.min))
    };
    let points = [
        (bin.first_index, bin.first),
        low,
        high,
        (bin.last_index, bin.last),
    ];
    let mut previous = None;
    points.into_iter().filter(move |&(index, _)| {
        let fresh = previous != Some(index);
        previous = Some(index);
        fresh
    })
}

/// The min..max band of `bins` as one polygon per run of bins with finite extremes: the
/// maxima left to right, then the minima right to left, each bin a flat step over its
/// samples.
fn band_polygons(bins: &[M4Bin], at: impl Fn(u64, f64) -> CssPoint) -> Vec<Vec<CssPoint>> {
    let polygon = |run: &[M4Bin]| {
        let mut polygon = Vec::with_capacity(run.len() * 4);
        for bin in run {
            polygon.push(at(bin.first_index, bin.max));
            polygon.push(at(bin.last_index, bin.max));
        }
        for bin in run.iter().rev() {
            polygon.push(at(bin.last_index, bin.min));
            polygon.push(at(bin.first_index, bin.min));
        }
        polygon
    };
    let mut polygons = Vec::new();
    let mut run_start = None;
    for (i, bin) in bins.iter().enumerate() {
        let finite = !(bin.min.is_nan() || bin.max.is_nan());
        match (finite, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(start)) => {
                polygons.push(polygon(&bins[start..i]));
                run_start = None;
            }
            _ => {}
        }
    }
    if let Some(start) = run_start {
        polygons.push(polygon(&bins[start..]));
    }
    polygons
}

/// The rectangle drawing is clipped to, CSS px.
#[derive(Debug, Clone, Copy)]
struct Clip {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Clip {
    fn contains(&self, (x, y): CssPoint) -> bool {
        (self.left..=self.right).contains(&x) && (self.top..=self.bottom).contains(&y)
    }

    /// The part of the segment `p → q` inside (Liang–Barsky), and whether each end was
    /// moved.
    fn segment(&self, p: CssPoint, q: CssPoint) -> Option<(CssPoint, CssPoint, bool, bool)> {
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let (mut enter, mut leave) = (0.0f64, 1.0f64);
        for (direction, room) in [
            (-dx, p.0 - self.left),
            (dx, self.right - p.0),
            (-dy, p.1 - self.top),
            (dy, self.bottom - p.1),
        ] {
            if direction == 0.0 {
                if room < 0.0 {
                    return None;
                }
                continue;
            }
            let t = room / direction;
            if direction < 0.0 {
                enter = enter.max(t);
            } else {
                leave = leave.min(t);
            }
            if enter > leave {
                return None;
            }
        }
        let point = |t: f64| (p.0 + t * dx, p.1 + t * dy);
        Some((point(enter), point(leave), enter > 0.0, leave < 1.0))
    }

    /// `polygon` clipped to the rectangle (Sutherland–Hodgman, one edge at a time).
    fn polygon(&self, mut polygon: Vec<CssPoint>) -> Vec<CssPoint> {
        // (coordinate, bound, whether inside is above the bound)
        let edges = [
            (0, self.left, true),
            (0, self.right, false),
            (1, self.top, true),
            (1, self.bottom, false),
        ];
        for (axis, bound, above) in edges {
            let coordinate = |p: CssPoint| if axis == 0 { p.0 } else { p.1 };
            let inside = |p: CssPoint| {
                if above {
                    coordinate(p) >= bound
                } else {
                    coordinate(p) <= bound
                }
            };
            let crossing = |a: CssPoint, b: CssPoint| {
                let t = (bound - coordinate(a)) / (coordinate(b) - coordinate(a));
                (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
            };
            let Some(&last) = polygon.last() else {
                return polygon;
            };
            let mut clipped = Vec::with_capacity(polygon.len() + 4);
            let mut previous = last;
            for &point in &polygon {
                match (inside(previous), inside(point)) {
                    (true, true) => clipped.push(point),
                    (true, false) => clipped.push(crossing(previous, point)),
                    (false, true) => {
                        clipped.push(crossing(previous, point));
                        clipped.push(point);
                    }
                    (false, false) => {}
                }
                previous = point;
            }
            polygon = clipped;
        }
        polygon
    }
}

/// Whether `a → b → c` is one straight stroke going on in the same direction.
fn continues(a: DevicePoint, b: DevicePoint, c: DevicePoint) -> bool {
    let d = |p: DevicePoint, q: DevicePoint| {
        (
            i64::from(q.0) - i64::from(p.0),
            i64::from(q.1) - i64::from(p.1),
        )
    };
    let (u, v) = (d(a, b), d(b, c));
    u.0 * v.1 == u.1 * v.0 && u.0 * v.0 + u.1 * v.1 > 0
}

/// Follows a polyline with gaps and cuts it into the runs visible inside a [`Clip`], in
/// device px without consecutive repeats.
struct Tracer {
    clip: Clip,
    scale: f64,
    /// The previous point, `None` after a gap.
    pen: Option<CssPoint>,
    run: Vec<DevicePoint>,
    runs: Vec<Vec<DevicePoint>>,
}

impl Tracer {
    fn new(clip: Clip, scale: f64) -> Self {
        Tracer {
            clip,
            scale,
            pen: None,
            run: Vec::new(),
            runs: Vec::new(),
        }
    }

    fn line_to(&mut self, point: CssPoint) {
        match self.pen {
            None => {
                if self.clip.contains(point) {
                    self.push(point);
                }
            }
            Some(pen) => match self.clip.segment(pen, point) {
                Some((from, to, entered, left)) => {
                    if entered {
                        self.end_run();
                    }
                    if self.run.is_empty() {
                        self.push(from);
                    }
                    self.push(to);
                    if left {
                        self.end_run();
                    }
                }
                None => self.end_run(),
            },
        }
        self.pen = Some(point);
    }

    /// A gap: the next point starts a new run.
    fn lift(&mut self) {
        self.end_run();
        self.pen = None;
    }

    fn finish(mut self) -> Vec<Vec<DevicePoint>> {
        self.end_run();
        self.runs
    }

    /// Adds a point, dropping repeats and the middle of three points on one straight
    /// stroke (a bin's first, min and max often fall in one pixel column): the same pixels
    /// with fewer vertices to stroke.
    fn push(&mut self, (x, y): CssPoint) {
        let point = (
            (x * self.scale).round() as i32,
            (y * self.scale).round() as i32,
        );
        match self.run[..] {
            [.., last] if last == point => {}
            [.., a, b] if continues(a, b, point) => {
                if let Some(end) = self.run.last_mut() {
                    *end = point;
                }
            }
            _ => self.run.push(point),
        }
    }

    fn end_run(&mut self) {
        if !self.run.is_empty() {
            self.runs.push(std::mem::take(&mut self.run));
        }
    }
}
