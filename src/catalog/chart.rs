//! What a chart starts from, sent by the server with the page: its series, the first
//! window, and its time axis, with the one rule that places LOD answers on that axis.
//!
//! On a time axis, x is nanoseconds after the first timestamp (an `f64` offset stays exact
//! to a few ns over a year), so samples sit at their true times and a gap in the data is a
//! gap on the axis. Without one, x is the sample index.

use serde::{Deserialize, Serialize};

use crate::lod::{LodAnswer, M4Bin};

/// Neighbouring samples more than this many times the median spacing apart are not joined
/// by a line: the chart shows the gap (a pass that ended, a dropout).
pub const GAP_FACTOR: i64 = 5;

/// One charted series: a 1-D array, or one column of an (N, C) array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesInfo {
    /// Stable key for the URL: the array's name within the view (`rssi`, `attitude.2`).
    pub key: String,
    /// The array it reads.
    pub array: String,
    /// The column of the array (0 for 1-D arrays).
    pub column: u32,
    /// Columns the array has (one LOD request serves them all).
    pub columns: u32,
    /// Label on the chart.
    pub label: String,
    /// The array's dtype, as listed.
    pub dtype: String,
}

/// The time axis of a chart: its series' timestamps, checked (sorted, no NaT).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimeAxis {
    /// Nanoseconds per count of the datetime64 unit (1 for `ns`, 1000 for `us`, ...).
    pub unit_ns: i64,
    /// The first timestamp, ns since the Unix epoch: x = 0.
    pub first_ns: i64,
    /// The last timestamp, ns since the Unix epoch.
    pub last_ns: i64,
    /// The median spacing of neighbouring samples, ns (`None` for a single sample).
    pub spacing_ns: Option<i64>,
}

impl TimeAxis {
    /// The x of the instant `ns`.
    pub fn x_of_ns(&self, ns: i64) -> f64 {
        (i128::from(ns) - i128::from(self.first_ns)) as f64
    }

    /// The instant at `x`, rounded to the nanosecond.
    pub fn ns_of_x(&self, x: f64) -> i64 {
        let ns = i128::from(self.first_ns) + x.round() as i128;
        ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    /// The end of the axis: one nanosecond after the last sample.
    pub fn x_end(&self) -> f64 {
        self.x_of_ns(self.last_ns) + 1.0
    }

    /// How far apart neighbouring samples may be, in x, and still be joined by a line.
    pub fn gap(&self) -> Option<f64> {
        self.spacing_ns
            .filter(|&s| s > 0)
            .map(|s| (s.saturating_mul(GAP_FACTOR)) as f64)
    }

    /// The usual distance between neighbouring samples, in x.
    pub fn spacing(&self) -> f64 {
        self.spacing_ns.map_or(1.0, |s| s.max(1) as f64)
    }

    /// `answer`'s bins with each point at its time (its `*_index` fields are then x
    /// positions); `None` if the answer carries no times.
    pub fn place(&self, answer: &LodAnswer) -> Option<Vec<Vec<M4Bin>>> {
        // The counts are in the timestamps' own unit, the one this axis was made from.
        let mut counts = answer.time.as_ref()?.counts.iter();
        let mut x = || -> Option<u64> {
            let ns = i128::from(*counts.next()?) * i128::from(self.unit_ns);
            let offset = ns - i128::from(self.first_ns);
            u64::try_from(offset).ok()
        };
        answer
            .columns
            .iter()
            .map(|column| {
                column
                    .iter()
                    .map(|bin| {
                        Some(M4Bin {
                            first_index: x()?,
                            min_index: x()?,
                            max_index: x()?,
                            last_index: x()?,
                            ..*bin
                        })
                    })
                    .collect()
            })
            .collect()
    }
}

/// Everything the chart needs to start: the series, the window and the time axis. The
/// first frame's SVG is rendered on the server and never sent twice (it is not serialized
/// into the hydration data: the browser keeps the server's markup until its canvas draws).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartInit {
    /// Samples along the shared x axis.
    pub len: u64,
    /// The first window `[x0, x1)`: sample indices, or on a time axis nanoseconds after
    /// its first timestamp.
    pub window: (f64, f64),
    /// The series, top to bottom.
    pub series: Vec<SeriesInfo>,
    /// Keys of series toggled off.
    pub hidden: Vec<String>,
    /// The name of the timestamps array, if the series have one.
    pub time_array: Option<String>,
    /// Whether the page asked for those timestamps (`?time=`), rather than the group's.
    pub time_asked: bool,
    /// The time axis, if the series have usable timestamps.
    pub time: Option<TimeAxis>,
    /// Why the series chart by sample index although they have timestamps.
    pub notice: Option<String>,
    /// The server-rendered first frame (server only).
    #[serde(skip)]
    pub svg: String,
}

impl ChartInit {
    /// The end of the x axis: the series' length, or one nanosecond after its last sample.
    pub fn x_end(&self) -> f64 {
        self.time.map_or(self.len as f64, |t| t.x_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lod::{m4_scan, PointTimes};
    use crate::wire::dtype::{ScalarType, TimeUnit};

    #[test]
    fn answers_are_placed_at_their_times() {
        let axis = TimeAxis {
            unit_ns: 1000,
            first_ns: 1_700_000_000_000_000_000,
            last_ns: 1_700_000_000_000_000_000 + 99_000,
            spacing_ns: Some(1000),
        };
        let samples: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let mut answer = LodAnswer {
            start: 0,
            stop: 100,
            columns: vec![m4_scan(&samples, 0, 100, 10).unwrap()],
            time: None,
        };
        assert_eq!(axis.place(&answer), None);
        // Sample i at first + i µs, and a 1 ms gap before sample 50.
        let counts = answer
            .indices()
            .map(|i| 1_700_000_000_000_000 + i as i64 + if i >= 50 { 1000 } else { 0 })
            .collect();
        answer.time = Some(PointTimes {
            dtype: ScalarType::datetime_le(TimeUnit::Micro),
            counts,
        });
        let placed = axis.place(&answer).unwrap();
        assert_eq!(placed[0][0].first_index, 0);
        assert_eq!(placed[0][0].last_index, 9_000);
        assert_eq!(placed[0][5].first_index, 1_050_000);
        assert_eq!(placed[0][5].first, answer.columns[0][5].first);
        assert_eq!(axis.gap(), Some(5000.0));
        assert_eq!(axis.x_end(), 99_001.0);
        assert_eq!(axis.ns_of_x(axis.x_of_ns(axis.last_ns)), axis.last_ns);
    }
}
