//! The spectrum panel: a power spectral density over frequency, log y, drawn through any
//! plotters backend like the chart (CSS px scaled by the device pixel ratio; labels placed by
//! their anchor, never by measured text).
//!
//! - **x** is linear from 0 to the highest frequency, with [`nice_ticks`] labels.
//! - **y** is log10 over the positive densities, widened to whole decades; a density of 0 (or
//!   none) breaks the line. One grid line and label per decade, thinned to fit.

use plotters::coord::Shift;
use plotters::element::{PathElement, Rectangle};
use plotters::prelude::{DrawingArea, DrawingBackend};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontDesc, FontFamily, FontStyle, RGBColor, TextStyle};

use super::draw::draw_error;
use super::style::{size, Theme};
use super::ticks::nice_ticks;
use super::ChartError;

/// Left of the plot, CSS px: room for decade labels.
const LEFT: f64 = 64.0;
/// Right margin, CSS px.
const RIGHT: f64 = 16.0;
/// Top margin, CSS px.
const TOP: f64 = 22.0;
/// Below the plot, CSS px: the frequency labels.
const BOTTOM: f64 = 28.0;
/// Height of the panel, CSS px.
pub const SPECTRUM_HEIGHT: f64 = 260.0;

/// What the spectrum panel draws.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumSpec {
    /// CSS px.
    pub width: f64,
    /// CSS px.
    pub height: f64,
    /// Each bin's frequency, ascending from 0.
    pub frequency: Vec<f64>,
    /// Each bin's density; `None` or `<= 0` leaves a break.
    pub psd: Vec<Option<f64>>,
    /// Title above the plot (the series and how the spectrum was made).
    pub title: String,
    /// The frequency unit (`Hz`, `cycles/sample`).
    pub unit: String,
    /// Index into the series palette.
    pub color: usize,
}

/// Where a spectrum went: its plot's rectangle and scales, for hit-testing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpectrumLayout {
    /// The plot's left edge, CSS px.
    pub left: f64,
    /// The plot's right edge, CSS px.
    pub right: f64,
    /// The plot's top, CSS px.
    pub top: f64,
    /// The plot's bottom, CSS px.
    pub bottom: f64,
    /// The frequency at the right edge.
    pub f_max: f64,
    /// log10 of the density at the bottom and at the top.
    pub decades: (f64, f64),
}

impl SpectrumLayout {
    /// The layout of `spec`.
    pub fn of(spec: &SpectrumSpec) -> SpectrumLayout {
        let f_max = spec
            .frequency
            .last()
            .copied()
            .filter(|f| *f > 0.0)
            .unwrap_or(1.0);
        let logs = spec
            .psd
            .iter()
            .flatten()
            .filter(|p| **p > 0.0 && p.is_finite())
            .map(|p| p.log10());
        let (lo, hi) = logs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), l| {
            (lo.min(l), hi.max(l))
        });
        let decades = if lo.is_finite() {
            (lo.floor(), hi.ceil().max(lo.floor() + 1.0))
        } else {
            (-1.0, 1.0)
        };
        SpectrumLayout {
            left: LEFT,
            right: (spec.width - RIGHT).max(LEFT + 1.0),
            top: TOP,
            bottom: (spec.height - BOTTOM).max(TOP + 1.0),
            f_max,
            decades,
        }
    }

    /// The CSS px of frequency `f`.
    pub fn px_from_frequency(&self, f: f64) -> f64 {
        self.left + f / self.f_max * (self.right - self.left)
    }

    /// The frequency at CSS px `px` (from the panel's left).
    pub fn frequency_from_px(&self, px: f64) -> f64 {
        (px - self.left) / (self.right - self.left) * self.f_max
    }

    /// The CSS px of density `p` (> 0).
    pub fn px_from_density(&self, p: f64) -> f64 {
        let (lo, hi) = self.decades;
        self.bottom - (p.log10() - lo) / (hi - lo) * (self.bottom - self.top)
    }
}

/// A density as a compact label: `1e-3`, `3.2e+4`'s decade, `1`.
pub fn decade_label(exponent: i32) -> String {
    match exponent {
        0 => "1".into(),
        1 => "10".into(),
        e => format!("1e{e}"),
    }
}

/// Draw `spec` into `area` (`width × scale` by `height × scale` device px). Calls
/// `present()`. Returns where the plot went.
///
/// # Errors
/// [`ChartError::Draw`] when the backend refuses an operation.
pub fn draw_spectrum<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    spec: &SpectrumSpec,
    scale: f64,
) -> Result<SpectrumLayout, ChartError> {
    let colors = Theme::Light.colors();
    let layout = SpectrumLayout::of(spec);
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    };
    let device = |(x, y): (f64, f64)| {
        let d = |v: f64| (v * scale).round().clamp(-1e6, 1e6) as i32;
        (d(x), d(y))
    };
    let text = |label: &str, at: (f64, f64), pos: (HPos, VPos), color: RGBColor| {
        let font = FontDesc::new(FontFamily::SansSerif, size::FONT * scale, FontStyle::Normal);
        let style = TextStyle::from(font)
            .color(&color)
            .pos(Pos::new(pos.0, pos.1));
        area.draw_text(label, &style, device(at))
            .map_err(draw_error)
    };
    let rect = |from: (f64, f64), to: (f64, f64), color: RGBColor| {
        area.draw(&Rectangle::new([device(from), device(to)], color.filled()))
            .map_err(draw_error)
    };
    area.fill(&colors.background).map_err(draw_error)?;
    text(
        &spec.title,
        (layout.left, 4.0),
        (HPos::Left, VPos::Top),
        colors.title,
    )?;

    // Decades: every one, or every second, third... so labels stay 14 px apart.
    let (lo, hi) = layout.decades;
    let count = (hi - lo) as i32;
    let room = ((layout.bottom - layout.top) / 14.0).max(1.0) as i32;
    let step = (count / room.max(1) + 1).max(1);
    let mut e = lo as i32;
    while e <= hi as i32 {
        let y = layout.px_from_density(10f64.powi(e)).floor();
        rect((layout.left, y), (layout.right, y + 1.0), colors.grid)?;
        text(
            &decade_label(e),
            (layout.left - 6.0, y),
            (HPos::Right, VPos::Center),
            colors.label,
        )?;
        e += step;
    }
    let max_ticks = ((layout.right - layout.left) / 90.0).max(2.0) as usize;
    for (f, label) in nice_ticks(0.0, layout.f_max, max_ticks) {
        let x = layout.px_from_frequency(f).floor();
        rect((x, layout.top), (x + 1.0, layout.bottom), colors.grid)?;
        text(
            &label,
            (x, layout.bottom + 6.0),
            (HPos::Center, VPos::Top),
            colors.label,
        )?;
    }
    rect(
        (layout.left, layout.bottom.floor()),
        (layout.right, layout.bottom.floor() + 1.0),
        colors.axis,
    )?;
    text(
        &format!("frequency, {}", spec.unit),
        (layout.right, 4.0),
        (HPos::Right, VPos::Top),
        colors.muted,
    )?;

    // The line, broken where a density is missing or not positive.
    let color = colors.series[spec.color % colors.series.len()];
    let stroke = color.stroke_width((size::LINE * scale).round_ties_even().max(1.0) as u32);
    let mut run: Vec<(i32, i32)> = Vec::new();
    let points = spec.frequency.iter().zip(&spec.psd);
    for (&f, p) in points {
        match p.filter(|p| *p > 0.0 && p.is_finite()) {
            Some(p) => {
                let point = device((layout.px_from_frequency(f), layout.px_from_density(p)));
                if run.last() != Some(&point) {
                    run.push(point);
                }
            }
            None if !run.is_empty() => {
                area.draw(&PathElement::new(std::mem::take(&mut run), stroke))
                    .map_err(draw_error)?;
            }
            None => {}
        }
    }
    if !run.is_empty() {
        area.draw(&PathElement::new(run, stroke))
            .map_err(draw_error)?;
    }
    area.present().map_err(draw_error)?;
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::{IntoDrawingArea, SVGBackend};

    fn spec() -> SpectrumSpec {
        SpectrumSpec {
            width: 800.0,
            height: SPECTRUM_HEIGHT,
            frequency: (0..=100).map(f64::from).collect(),
            psd: (0..=100)
                .map(|k| {
                    Some(if k == 40 {
                        10.0
                    } else {
                        1e-4 * (1.0 + f64::from(k))
                    })
                })
                .collect(),
            title: "x".into(),
            unit: "Hz".into(),
            color: 0,
        }
    }

    #[test]
    fn decades_cover_the_densities_and_map_both_ways() {
        let layout = SpectrumLayout::of(&spec());
        assert_eq!(layout.decades, (-4.0, 1.0));
        assert_eq!(layout.f_max, 100.0);
        let px = layout.px_from_frequency(40.0);
        assert!((layout.frequency_from_px(px) - 40.0).abs() < 1e-9);
        assert!((layout.px_from_density(10.0) - layout.top).abs() < 1e-9);
        assert!((layout.px_from_density(1e-4) - layout.bottom).abs() < 1e-9);
    }

    #[test]
    fn draws_labels_and_the_line() {
        let mut svg = String::new();
        {
            let backend = SVGBackend::with_string(&mut svg, (800, SPECTRUM_HEIGHT as u32));
            draw_spectrum(&backend.into_drawing_area(), &spec(), 1.0).unwrap();
        }
        let texts: Vec<&str> = svg
            .split("<text")
            .skip(1)
            .filter_map(|t| t.split('>').nth(1)?.split('<').next())
            .map(str::trim)
            .collect();
        for label in ["1e-4", "1e-3", "10", "frequency, Hz", "40", "x"] {
            assert!(texts.contains(&label), "{label} missing from {texts:?}");
        }
        assert!(svg.contains("<polyline"));
        // A spectrum of nothing draws axes only.
        let mut empty = spec();
        empty.psd = vec![None; 101];
        let mut svg = String::new();
        {
            let backend = SVGBackend::with_string(&mut svg, (800, SPECTRUM_HEIGHT as u32));
            draw_spectrum(&backend.into_drawing_area(), &empty, 1.0).unwrap();
        }
        assert!(!svg.contains("<polyline"));
    }
}
