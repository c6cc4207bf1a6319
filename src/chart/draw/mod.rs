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

//!
//! - `axes`: ticks, grid, labels and titles.
//! - `series`: the band, line and dots of the data.
//! - `clip`: clipping to the plot and tracing lines into visible runs.

mod axes;
mod clip;
mod series;

use plotters::coord::Shift;
use plotters::drawing::DrawingAreaErrorKind;
use plotters::element::Rectangle;
use plotters::prelude::{DrawingArea, DrawingBackend, IntoDrawingArea, SVGBackend};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontDesc, FontFamily, FontStyle, RGBAColor, TextStyle};

use super::layout::{Layout, XMap};
use super::style::{size, Colors};
use super::{ChartError, ChartSpec};

/// plotters' SVG backend writes a font's size divided by 1.24 (its em-to-px guess) while
/// the canvas backend writes it as is; [`render_svg`] multiplies it back so both show
/// [`size::FONT`] px.
const SVG_FONT_FACTOR: f64 = 1.24;

/// Farthest a point is drawn outside the chart, CSS px: `±inf` values land here, then get
/// clipped, and device coordinates stay far from `i32` overflow.
pub(super) const FAR: f64 = 1e6;

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
pub(super) fn draw_error<E: std::error::Error + Send + Sync>(
    err: DrawingAreaErrorKind<E>,
) -> ChartError {
    ChartError::Draw(err.to_string())
}

/// A point in CSS px from the chart's top-left corner.
pub(super) type CssPoint = (f64, f64);
/// A point in device px.
pub(super) type DevicePoint = (i32, i32);

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
    /// Sample index to CSS px, for the window drawn.
    x_map: XMap,
}

impl<'a, DB: DrawingBackend> Painter<'a, DB> {
    fn new(
        area: &'a DrawingArea<DB, Shift>,
        spec: &'a ChartSpec,
        scale: f64,
        font_factor: f64,
    ) -> Self {
        let layout = spec.layout();
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
            x_map: layout.x_map(),
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
        for (panel, rect) in self.spec.panels.iter().zip(&self.layout.panels) {
            self.panel(panel, rect, &x_ticks)?;
        }
        if let Some(last) = self.layout.panels.last() {
            self.x_axis(last.bottom, &x_ticks, &context)?;
        }
        self.area.present().map_err(draw_error)
    }

    // Primitives, in CSS px.

    fn px_from_x(&self, x: f64) -> f64 {
        self.x_map.px_from_x(x)
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
