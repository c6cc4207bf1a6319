//! The frame around the data: x ticks, each panel's grid, y labels and title, and the x
//! axis under the bottom panel.

use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, VPos};
use plotters::style::Color;

use super::Painter;
use crate::chart::layout::{bins_in, panel_extent, y_ticks, PanelRect, TITLE_ROW};
use crate::chart::style::size;
use crate::chart::ticks::nice_ticks_from;
use crate::chart::time::time_ticks_exact;
use crate::chart::{ChartError, Panel, Series, XAxis};

impl<DB: DrawingBackend> Painter<'_, DB> {
    /// The x ticks (in sample-index space) and the context label, as many as fit under the
    /// plot without their labels touching.
    pub(super) fn x_ticks(&self) -> (Vec<(f64, String)>, String) {
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

    pub(super) fn x_ticks_at_most(&self, max_ticks: usize) -> (Vec<(f64, String)>, String) {
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

    /// One panel: grid, each series' band, line and dots, y labels and titles.
    pub(super) fn panel(
        &self,
        panel: &Panel,
        rect: &PanelRect,
        x_ticks: &[(f64, String)],
    ) -> Result<(), ChartError> {
        let (left, right) = (self.layout.plot_left, self.layout.plot_right);
        let window = self.spec.window();
        let has_data = panel_extent(panel, window, panel.y.log).is_some();
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
            for series in &panel.series {
                self.series(series, rect)?;
            }
        } else {
            let empty = panel
                .series
                .iter()
                .all(|s| bins_in(&s.bins, window, 0).is_empty());
            let message = if empty { "no data" } else { "no finite values" };
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
        let mut x = left;
        for series in &panel.series {
            x = self.title(series, rect, x)?;
        }
        Ok(())
    }

    /// Colour swatch, name and unit in the row above the panel's plot (so no data hides
    /// under them), starting at `x`; returns where the next series' title starts.
    pub(super) fn title(
        &self,
        series: &Series,
        rect: &PanelRect,
        x: f64,
    ) -> Result<f64, ChartError> {
        let title = if series.unit.is_empty() {
            series.name.clone()
        } else {
            format!("{} ({})", series.name, series.unit)
        };
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
        )?;
        // Text is not measured (the server cannot): the average width of a character.
        Ok(text_x + title.chars().count() as f64 * size::CHAR_WIDTH + size::TITLE_GAP)
    }

    /// Tick marks and labels under the bottom panel, and the context label under them.
    pub(super) fn x_axis(
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
}
