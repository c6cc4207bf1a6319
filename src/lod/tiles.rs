//! Tiles: level-of-detail windows on a fixed grid, so the answers of a view can be cached by
//! URL (`GET /api/tiles/{name}`). Shared by the server (which answers a tile) and the chart
//! (which covers its window with tiles).
//!
//! A tile of level `L` holds [`TILE_BINS`] bins of `2^L` units each and starts at a multiple
//! of `TILE_BINS * 2^L` units. The unit is a sample for a tile by index and a nanosecond
//! since the Unix epoch for a tile in time. So a view is covered by two or three tiles of
//! the level whose bins are about as wide as a pixel, and panning or zooming back to a view
//! asks for tiles already asked for.
//!
//! By index the last tile of a series stops at its end: `[k * span, min((k + 1) * span,
//! len))` in `ceil(width / 2^L)` bins. In time every tile is whole: instants
//! `[k * span, (k + 1) * span)` in [`TILE_BINS`] equal intervals (the intervals with no
//! samples have no bin).

/// Bins per tile.
pub const TILE_BINS: u64 = 1024;

/// The highest level: a tile then spans `2^62` units, and every tile start fits in `i64`.
pub const MAX_LEVEL: u32 = 62 - TILE_BINS.trailing_zeros();

/// Units (samples or ns) one tile of `level` spans.
pub fn tile_span(level: u32) -> u64 {
    TILE_BINS << level.min(MAX_LEVEL)
}

/// The level whose bins are nearest (in ratio) to `width / bins` units: bins of about one
/// pixel when `bins` is the plot's width in pixels.
pub fn level_for(width: f64, bins: u64) -> u32 {
    let per_bin = width / bins.max(1) as f64;
    if per_bin.is_nan() || per_bin <= 1.0 {
        return 0;
    }
    (per_bin.log2().round() as u32).min(MAX_LEVEL)
}

/// The tiles of `level` that cover samples `[start, stop)` (none for an empty window).
pub fn index_tiles(level: u32, start: u64, stop: u64) -> std::ops::Range<u64> {
    if start >= stop {
        return 0..0;
    }
    let span = tile_span(level);
    start / span..(stop - 1) / span + 1
}

/// The samples `[start, stop)` and the bin count of tile `tile` of `level` of a series of
/// `len` samples; `None` for a tile at or past its end.
pub fn index_tile(level: u32, tile: u64, len: u64) -> Option<(u64, u64, u64)> {
    let span = tile_span(level);
    let start = tile.checked_mul(span).filter(|&s| s < len)?;
    let stop = start.saturating_add(span).min(len);
    let bins = (stop - start).div_ceil(1 << level.min(MAX_LEVEL));
    Some((start, stop, bins))
}

/// The tiles of `level` that cover the instants `[t0, t1)`, ns (none when `t0 >= t1`).
pub fn time_tiles(level: u32, t0: i64, t1: i64) -> std::ops::RangeInclusive<i64> {
    if t0 >= t1 {
        #[allow(clippy::reversed_empty_ranges)]
        return 1..=0;
    }
    let span = tile_span(level) as i64;
    t0.div_euclid(span)..=(t1 - 1).div_euclid(span)
}

/// The instants `[t0, t1)` of tile `tile` of `level` in time; `None` when they do not fit
/// in `i64` ns.
pub fn time_tile(level: u32, tile: i64) -> Option<(i64, i64)> {
    let span = tile_span(level) as i64;
    let t0 = tile.checked_mul(span)?;
    Some((t0, t0.checked_add(span)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_gives_bins_of_about_a_pixel() {
        assert_eq!(level_for(1000.0, 1000), 0);
        assert_eq!(level_for(10.0, 1000), 0);
        assert_eq!(level_for(1e8, 1000), 17); // 1e5 samples a bin: 2^16.6
        assert_eq!(level_for(f64::MAX, 1), MAX_LEVEL);
        assert_eq!(level_for(f64::NAN, 1000), 0);
    }

    #[test]
    fn index_tiles_cover_the_window_and_stop_at_the_end() {
        assert_eq!(index_tiles(0, 0, 1), 0..1);
        assert_eq!(index_tiles(0, 1023, 1025), 0..2);
        assert_eq!(index_tiles(1, 0, 2048), 0..1);
        assert_eq!(index_tiles(0, 5, 5), 0..0);
        assert_eq!(index_tile(0, 0, 10), Some((0, 10, 10)));
        assert_eq!(index_tile(2, 1, 5000), Some((4096, 5000, 226)));
        assert_eq!(index_tile(2, 2, 5000), None);
        assert_eq!(index_tile(MAX_LEVEL, u64::MAX, u64::MAX), None);
        // Whole tiles have whole bins of 2^L samples.
        let (start, stop, bins) = index_tile(3, 7, 1 << 20).unwrap();
        assert_eq!((stop - start) / bins, 8);
        assert_eq!(start % (8 * TILE_BINS), 0);
    }

    #[test]
    fn time_tiles_are_aligned_to_the_epoch_on_both_sides_of_it() {
        let span = tile_span(4) as i64;
        assert_eq!(time_tiles(4, -1, 1), -1..=0);
        assert_eq!(time_tiles(4, 0, span), 0..=0);
        assert_eq!(time_tiles(4, span, span + 1), 1..=1);
        assert!(time_tiles(4, 5, 5).is_empty());
        assert_eq!(time_tile(4, -1), Some((-span, 0)));
        assert_eq!(time_tile(MAX_LEVEL, 0), Some((0, 1 << 62)));
        assert_eq!(time_tile(MAX_LEVEL, 1), None);
        assert_eq!(time_tile(MAX_LEVEL, -2), Some((i64::MIN, -(1 << 62))));
        assert_eq!(time_tile(MAX_LEVEL, -3), None);
    }
}
