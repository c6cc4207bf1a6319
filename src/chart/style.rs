//! Colours and sizes of the chart, in one place so the look can be tuned without touching
//! the painter.

use plotters::style::RGBColor;

/// The chart's colour scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Dark text and light grey grid on white.
    #[default]
    Light,
}

/// Number of distinct series colours; [`Series::color`](super::Series::color) wraps
/// around it.
pub const PALETTE_LEN: usize = 16;

/// Every colour one theme uses.
#[derive(Debug)]
pub(super) struct Colors {
    /// Behind everything.
    pub background: RGBColor,
    /// Grid lines inside the panels.
    pub grid: RGBColor,
    /// The baseline under each panel.
    pub axis: RGBColor,
    /// Tick labels.
    pub label: RGBColor,
    /// Panel titles.
    pub title: RGBColor,
    /// "no data" and the axis context label.
    pub muted: RGBColor,
    /// Series colours, chosen to stay apart for the common kinds of colour blindness.
    pub series: [RGBColor; PALETTE_LEN],
}

const LIGHT: Colors = Colors {
    background: RGBColor(0xff, 0xff, 0xff),
    grid: RGBColor(0xeb, 0xed, 0xf0),
    axis: RGBColor(0xc4, 0xc9, 0xd0),
    label: RGBColor(0x5f, 0x63, 0x68),
    title: RGBColor(0x20, 0x21, 0x24),
    muted: RGBColor(0x80, 0x86, 0x8b),
    series: [
        RGBColor(0x0f, 0x9d, 0x8a), // teal
        RGBColor(0x4f, 0x5b, 0xd5), // indigo
        RGBColor(0xe8, 0x71, 0x0a), // orange
        RGBColor(0xd6, 0x3f, 0x6e), // rose
        RGBColor(0x7a, 0x8a, 0x1e), // olive
        RGBColor(0x5b, 0x67, 0x78), // slate
        RGBColor(0x93, 0x34, 0xe6), // purple
        RGBColor(0x1a, 0x8f, 0xd6), // sky
        RGBColor(0x8d, 0x5a, 0x2b), // brown
        RGBColor(0xc0, 0x26, 0xd3), // magenta
        RGBColor(0xb8, 0x8a, 0x00), // gold
        RGBColor(0x1e, 0x6b, 0x3a), // forest
        RGBColor(0x1f, 0x3b, 0x8a), // navy
        RGBColor(0xf0, 0x5a, 0x4f), // coral
        RGBColor(0x7b, 0x2d, 0x5b), // plum
        RGBColor(0x4a, 0x90, 0xa4), // steel
    ],
};

impl Theme {
    /// The theme's colours.
    pub(super) fn colors(self) -> &'static Colors {
        match self {
            Theme::Light => &LIGHT,
        }
    }
}

/// Sizes in CSS px (scaled by the device pixel ratio when drawn).
pub(super) mod size {
    /// Tick labels, panel titles and messages.
    pub const FONT: f64 = 12.0;
    /// Average advance of a character at [`FONT`], for fitting labels without measuring
    /// text (which only the browser can do).
    pub const CHAR_WIDTH: f64 = 6.8;
    /// Width of the series line.
    pub const LINE: f64 = 1.25;
    /// Radius of a sample dot.
    pub const DOT: f64 = 2.0;
    /// A sample gets a dot once it is at least this wide.
    pub const DOT_SPACING: f64 = 6.0;
    /// Opacity of the min/max band.
    pub const BAND_ALPHA: f64 = 0.25;
    /// Bins narrower than this on average get no band: the line's strokes through each
    /// bin's first, min, max and last already cover its min..max.
    pub const BAND_MIN_BIN_WIDTH: f64 = 3.0;
    /// Length of a tick mark outside the plot.
    pub const TICK: f64 = 4.0;
    /// Gap between a tick mark and its label.
    pub const LABEL_GAP: f64 = 3.0;
    /// Least room between two x labels.
    pub const X_LABEL_GAP: f64 = 24.0;
    /// Room between the titles of series overlaid in one panel.
    pub const TITLE_GAP: f64 = 16.0;
}
