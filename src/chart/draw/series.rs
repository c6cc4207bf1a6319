//! The data of one panel: the min..max band, the line through every bin's four points, and
//! the dots where samples are far apart.

use plotters::element::{Circle, PathElement, Polygon};
use plotters::prelude::DrawingBackend;
use plotters::style::{Color, ShapeStyle};

use super::clip::{Clip, Tracer};
use super::{draw_error, CssPoint, Painter, FAR};
use crate::chart::layout::{bins_in, PanelRect};
use crate::chart::style::{size, PALETTE_LEN};
use crate::chart::{ChartError, Series};
use crate::lod::M4Bin;

impl<DB: DrawingBackend> Painter<'_, DB> {
    /// Band, line and dots of one series, clipped to its panel.
    pub(super) fn series(&self, series: &Series, rect: &PanelRect) -> Result<(), ChartError> {
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
            for polygon in band_polygons(bins, series.gap, at) {
                let polygon = self.device_path(clip.polygon(polygon));
                if polygon.len() >= 3 {
                    self.area
                        .draw(&Polygon::new(polygon, band))
                        .map_err(draw_error)?;
                }
            }
        }

        let mut tracer = Tracer::new(clip, self.scale);
        // A bin's points are not neighbouring samples, but the last of one bin and the first
        // of the next are: a gap can only be between bins.
        let mut previous: Option<&M4Bin> = None;
        for bin in bins {
            if previous.is_some_and(|p| is_gap(series.gap, p.last_index, bin.first_index)) {
                tracer.lift();
            }
            previous = Some(bin);
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
        let dot_every_sample = self.x_map.px_per_x() * series.spacing >= size::DOT_SPACING;
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
    pub(super) fn bin_width(&self, bins: &[M4Bin]) -> f64 {
        match (bins.first(), bins.last()) {
            (Some(first), Some(last)) => {
                let samples = (last.last_index.saturating_sub(first.first_index) + 1) as f64;
                samples * self.x_map.px_per_x() / bins.len() as f64
            }
            _ => 0.0,
        }
    }

    pub(super) fn series_color(&self, series: &Series) -> plotters::style::RGBColor {
        self.colors.series[series.color % PALETTE_LEN]
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

/// Whether the x positions `a` then `b` lie across a gap: further apart than `gap`.
fn is_gap(gap: Option<f64>, a: u64, b: u64) -> bool {
    gap.is_some_and(|gap| b.saturating_sub(a) as f64 > gap)
}

/// The min..max band of `bins` as one polygon per run of bins with finite extremes (and no
/// gap): the maxima left to right, then the minima right to left, each bin a flat step
/// over its samples.
fn band_polygons(
    bins: &[M4Bin],
    gap: Option<f64>,
    at: impl Fn(u64, f64) -> CssPoint,
) -> Vec<Vec<CssPoint>> {
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
        // A gap ends a run like a bin without extremes does.
        if let Some(start) =
            run_start.filter(|_| i > 0 && is_gap(gap, bins[i - 1].last_index, bin.first_index))
        {
            polygons.push(polygon(&bins[start..i]));
            run_start = None;
        }
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
