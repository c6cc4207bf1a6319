//! Level of detail: exact M4 downsampling of long 1-D series, in time independent of the
//! series length. Compiles natively and to wasm32 with no `cfg` inside: the browser
//! re-aggregates bins it already holds with the same code. It sits beside [`crate::wire`]
//! at the bottom of the crate and uses only it.
//!
//! # Contract
//!
//! - **Bins.** A window `[start, stop)` of `W = stop - start` samples cut into `bins` bins
//!   gives bin `i` the samples `[start + floor(i*W/bins), start + floor((i+1)*W/bins))`.
//!   When `W < bins` there are `W` bins of one sample each.
//! - **Output size.** At most `min(bins, W)` bins, and `bins` may not exceed [`MAX_BINS`],
//!   so a query returns at most 20,000 bins (four points each). An empty window gives none.
//! - **Endpoints.** Each bin keeps its first and its last sample with their indices, NaN or
//!   not, so consecutive bins join up exactly as the raw polyline does (a gap stays a gap).
//! - **Extremes.** Each bin keeps its minimum and maximum with the index of their first
//!   occurrence (lowest index on ties, for both). NaN is ignored; a bin whose samples are
//!   all NaN has `min = max = NaN` at the bin's first index. `±inf` are ordinary values.
//!   `-0.0` and `0.0` are equal, so the first of them wins, with its own sign.
//! - **Exactness.** [`Pyramid::m4`] returns exactly what [`m4_scan`] returns (same values,
//!   same indices). [`merge_bins`] is exact only where output edges fall on source edges.
//!
//! # Pieces
//!
//! - [`m4_scan`]: the brute-force reference, O(W); fine for windows of up to a few hundred
//!   thousand samples.
//! - [`Pyramid`]: per-block minima and maxima ([`BLOCK`] samples per block, [`FANOUT`]
//!   nodes per node above), at most 1/30 of the data's bytes. Queries cost
//!   O(bins × (BLOCK + FANOUT × levels)) whatever the window width (bins of up to 16 blocks
//!   are simply scanned, which is faster at that size); [`Pyramid::extend`] follows an
//!   appended series; [`Pyramid::to_bytes`] and [`Pyramid::from_bytes`] are a validated
//!   disk cache.
//! - [`MomentTree`]: count, mean and spread of any window from per-chunk [`Moments`] kept
//!   beside the pyramid (0.6% of `f32` data), for the window statistics.
//! - [`merge_bins`]: re-binning of M4 bins without the samples.
//! - [`TimeIndex`]: which samples fall in each interval of a window of time, by binary
//!   search on the timestamps in place.
//! - [`tiles`]: the grid of windows `/api/tiles` answers, so views can be cached by URL.
//! - [`LodAnswer`]: the bytes of an `/api/lod` answer, encoded by the server and decoded by
//!   the browser with one codec.

mod answer;
mod cache;
mod error;
mod kernels;
mod m4;
mod moments;
mod pyramid;
mod sample;
pub mod series;
pub mod tiles;
mod time;

#[cfg(test)]
mod tests;

pub use answer::{AnswerError, LodAnswer, PointTimes, POINTS_PER_BIN};
pub use cache::{PYRAMID_MAGIC, PYRAMID_VERSION};
pub use error::LodError;
pub use m4::{m4_scan, m4_scan_ranges, merge_bins, M4Bin};
pub use moments::{MomentTree, Moments, CHUNK};
pub use pyramid::{MinMax, Pyramid, BLOCK, FANOUT};
pub use sample::{Count, Sample, Truth};
pub use series::{Series, Strided, View};
pub use time::{TimeIndex, TimeOrderError, SPARSE};

/// Most bins one query may ask for: a few times the width of any screen, so the output of a
/// query is bounded (at most 20,000 × 4 points) whatever the window.
pub const MAX_BINS: usize = 20_000;
