//! What can go wrong while drawing a chart.

/// A reason why a chart could not be drawn.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ChartError {
    /// The drawing backend refused an operation (for a canvas, a browser error; an SVG
    /// string never fails).
    #[error("drawing failed: {0}")]
    Draw(String),
}
