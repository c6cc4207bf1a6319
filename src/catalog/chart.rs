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
    /// Unique key within the view, for the URL (`rssi`, `attitude.2`, `demo/hk/bus_v`).
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
    /// Samples in the array when the page was made.
    pub len: u64,
    /// The array's version when the page was made: its ETag without the quotes, as tile
    /// URLs name it (`v=`).
    pub version: String,
    /// Its timestamps, when it is charted in time.
    pub time: Option<SeriesTime>,
}

/// The timestamps of one series, checked (sorted, no NaT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesTime {
    /// The 1-D datetime64 array, as long as the series.
    pub array: String,
    /// Its version when the page was made (its ETag without the quotes).
    pub version: String,
    /// Nanoseconds per count of its datetime64 unit (1 for `ns`, 1000 for `us`, ...).
    pub unit_ns: i64,
    /// The first timestamp, ns since the Unix epoch.
    pub first_ns: i64,
    /// The last timestamp, ns since the Unix epoch.
    pub last_ns: i64,
    /// The median spacing of neighbouring samples, ns (`None` for a single sample).
    pub spacing_ns: Option<i64>,
}

impl SeriesTime {
    /// How far apart neighbouring samples may be, in ns (x), and still be joined by a line:
    /// [`GAP_FACTOR`] times the series' median spacing.
    pub fn gap(&self) -> Option<f64> {
        self.spacing_ns
            .filter(|&s| s > 0)
            .map(|s| (s.saturating_mul(GAP_FACTOR)) as f64)
    }

    /// The usual distance between neighbouring samples, in ns (x).
    pub fn spacing(&self) -> f64 {
        self.spacing_ns.map_or(1.0, |s| s.max(1) as f64)
    }

    /// The instant of a count of these timestamps, ns since the Unix epoch.
    pub fn ns_of_count(&self, count: i64) -> i128 {
        i128::from(count) * i128::from(self.unit_ns)
    }
}

/// The time axis of a chart, shared by its series: from the first of their timestamps to
/// the last of them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimeAxis {
    /// The earliest first timestamp, ns since the Unix epoch: x = 0.
    pub first_ns: i64,
    /// The latest last timestamp, ns since the Unix epoch.
    pub last_ns: i64,
    /// The finest median spacing of the series, ns: how far a zoom may go.
    pub spacing_ns: Option<i64>,
}

impl TimeAxis {
    /// The axis spanning every series' timestamps; `None` without any.
    pub fn spanning<'a>(times: impl IntoIterator<Item = &'a SeriesTime>) -> Option<TimeAxis> {
        times
            .into_iter()
            .map(|t| TimeAxis {
                first_ns: t.first_ns,
                last_ns: t.last_ns,
                spacing_ns: t.spacing_ns,
            })
            .reduce(|a, b| TimeAxis {
                first_ns: a.first_ns.min(b.first_ns),
                last_ns: a.last_ns.max(b.last_ns),
                spacing_ns: match (a.spacing_ns, b.spacing_ns) {
                    (Some(x), Some(y)) => Some(x.min(y)),
                    (x, y) => x.or(y),
                },
            })
    }

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

    /// The finest usual distance between neighbouring samples, in x.
    pub fn spacing(&self) -> f64 {
        self.spacing_ns.map_or(1.0, |s| s.max(1) as f64)
    }

    /// `answer`'s bins with each point at its time (its `*_index` fields are then x
    /// positions); `None` if the answer carries no times. `time` is the series' timestamps,
    /// in whose unit the answer's counts are.
    pub fn place(&self, answer: &LodAnswer, time: &SeriesTime) -> Option<Vec<Vec<M4Bin>>> {
        let mut counts = answer.time.as_ref()?.counts.iter();
        let mut x = || -> Option<u64> {
            let offset = time.ns_of_count(*counts.next()?) - i128::from(self.first_ns);
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

/// Everything one chart needs to start: the series, the window and the time axis. The
/// first frame's SVG is rendered on the server and never sent twice (it is not serialized
/// into the hydration data: the browser keeps the server's markup until its canvas draws).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartInit {
    /// Samples along the x axis of a chart by index (its longest series).
    pub len: u64,
    /// The first window `[x0, x1)`: sample indices, or on a time axis nanoseconds after
    /// its first timestamp.
    pub window: (f64, f64),
    /// The series, top to bottom.
    pub series: Vec<SeriesInfo>,
    /// Keys of series toggled off.
    pub hidden: Vec<String>,
    /// Keys of series overlaid on the panel above theirs rather than stacked.
    pub joined: Vec<String>,
    /// The time axis, when the series are charted in time (each has its [`SeriesTime`]).
    pub time: Option<TimeAxis>,
    /// Why series are charted as they are (by index, or left out), for the page to say.
    pub notices: Vec<String>,
    /// The composition the address bar keeps, on the page's main chart (`None` on the
    /// others, which do not touch the address bar).
    pub url: Option<ViewUrl>,
    /// The clock of a chart by index whose first array has one: its samples are then
    /// labelled by time (x stays the sample index).
    #[serde(default)]
    pub clock: Option<Clock>,
    /// The panels' y scales the address asked for (`y=`), by the key of a panel's first
    /// series.
    #[serde(default)]
    pub y: Vec<(String, crate::chart::YScale)>,
    /// The server-rendered first frame (server only).
    #[serde(skip)]
    pub svg: String,
}

/// When the samples of an array without timestamps were taken: sample `i` at
/// `start_ns + i / rate_hz` seconds. Set by `PUT /api/clock/{name}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Clock {
    /// Sample 0, ns since the Unix epoch.
    pub start_ns: i64,
    /// Samples per second.
    pub rate_hz: f64,
}

impl Clock {
    /// Nanoseconds from one sample to the next.
    pub fn ns_per_sample(&self) -> f64 {
        1e9 / self.rate_hz
    }

    /// The instant of sample `index`, ns since the Unix epoch.
    pub fn ns_of(&self, index: u64) -> i64 {
        self.start_ns
            .saturating_add((index as f64 * self.ns_per_sample()).round() as i64)
    }
}

/// What the address bar says a view is made of, besides its window and toggles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewUrl {
    /// The page's array or group (`/view/{name}`).
    pub name: String,
    /// `time=`: the timestamps asked for.
    pub time: Option<String>,
    /// `add=`: the arrays and groups added to the view, each `NAME` or `NAME@TIMES`.
    pub added: Vec<String>,
}

impl ChartInit {
    /// The end of the x axis: the series' length, or one nanosecond after its last sample.
    pub fn x_end(&self) -> f64 {
        self.time.map_or(self.len as f64, |t| t.x_end())
    }
}

/// The panels of a chart, top to bottom, as indices into `series`: each visible series
/// (not in `hidden`) in its own panel, or in the panel above when its key is in `joined`
/// (overlaid).
pub fn stack(series: &[SeriesInfo], hidden: &[String], joined: &[String]) -> Vec<Vec<usize>> {
    let mut panels: Vec<Vec<usize>> = Vec::new();
    for (i, s) in series.iter().enumerate() {
        if hidden.contains(&s.key) {
            continue;
        }
        match panels.last_mut() {
            Some(panel) if joined.contains(&s.key) => panel.push(i),
            _ => panels.push(vec![i]),
        }
    }
    panels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lod::{m4_scan, PointTimes};
    use crate::wire::dtype::{ScalarType, TimeUnit};

    fn micros(first_ns: i64, last_ns: i64) -> SeriesTime {
        SeriesTime {
            array: "t".into(),
            version: String::new(),
            unit_ns: 1000,
            first_ns,
            last_ns,
            spacing_ns: Some(1000),
        }
    }

    #[test]
    fn answers_are_placed_at_their_times() {
        let time = micros(
            1_700_000_000_000_000_000,
            1_700_000_000_000_000_000 + 99_000,
        );
        let axis = TimeAxis::spanning([&time]).unwrap();
        let samples: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let mut answer = LodAnswer {
            start: 0,
            stop: 100,
            columns: vec![m4_scan(&samples, 0, 100, 10).unwrap()],
            time: None,
        };
        assert_eq!(axis.place(&answer, &time), None);
        // Sample i at first + i µs, and a 1 ms gap before sample 50.
        let counts = answer
            .indices()
            .map(|i| 1_700_000_000_000_000 + i as i64 + if i >= 50 { 1000 } else { 0 })
            .collect();
        answer.time = Some(PointTimes {
            dtype: ScalarType::datetime_le(TimeUnit::Micro),
            counts,
        });
        let placed = axis.place(&answer, &time).unwrap();
        assert_eq!(placed[0][0].first_index, 0);
        assert_eq!(placed[0][0].last_index, 9_000);
        assert_eq!(placed[0][5].first_index, 1_050_000);
        assert_eq!(placed[0][5].first, answer.columns[0][5].first);
        assert_eq!(time.gap(), Some(5000.0));
        assert_eq!(axis.x_end(), 99_001.0);
        assert_eq!(axis.ns_of_x(axis.x_of_ns(axis.last_ns)), axis.last_ns);
    }

    #[test]
    fn joined_series_share_the_panel_above() {
        let series: Vec<SeriesInfo> = ["a", "b", "c", "d"]
            .iter()
            .map(|k| SeriesInfo {
                key: k.to_string(),
                array: k.to_string(),
                column: 0,
                columns: 1,
                label: k.to_string(),
                dtype: "<f4".into(),
                len: 10,
                version: String::new(),
                time: None,
            })
            .collect();
        let keys = |ks: &[&str]| ks.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        assert_eq!(stack(&series, &[], &[]), [[0], [1], [2], [3]]);
        assert_eq!(
            stack(&series, &[], &keys(&["b", "c"])),
            [vec![0, 1, 2], vec![3]]
        );
        // A hidden series leaves its panel to the next; the first cannot join anything.
        assert_eq!(
            stack(&series, &keys(&["a"]), &keys(&["b", "d"])),
            [vec![1], vec![2, 3]]
        );
        assert!(stack(&series, &keys(&["a", "b", "c", "d"]), &[]).is_empty());
    }

    #[test]
    fn series_at_two_rates_share_one_axis() {
        let first = 1_700_000_000_000_000_000;
        let fast = micros(first + 5_000, first + 60_000);
        let slow = SeriesTime {
            array: "t_hk".into(),
            version: String::new(),
            unit_ns: 1_000_000_000,
            first_ns: first,
            last_ns: first + 90_000,
            spacing_ns: Some(1_000_000_000),
        };
        let axis = TimeAxis::spanning([&fast, &slow]).unwrap();
        assert_eq!((axis.first_ns, axis.last_ns), (first, first + 90_000));
        assert_eq!(
            axis.spacing_ns,
            Some(1000),
            "the finer spacing bounds the zoom"
        );
        assert_eq!(TimeAxis::spanning([]), None);
        // A count of seconds lands at its instant on the shared axis.
        let samples = [1.0f32, 2.0];
        let answer = LodAnswer {
            start: 0,
            stop: 2,
            columns: vec![m4_scan(&samples, 0, 2, 2).unwrap()],
            time: Some(PointTimes {
                dtype: ScalarType::datetime_le(TimeUnit::Second),
                counts: vec![first / 1_000_000_000; 8],
            }),
        };
        let placed = axis.place(&answer, &slow).unwrap();
        assert_eq!(placed[0][0].first_index, 0);
        let placed = TimeAxis::spanning([&fast]).unwrap().place(&answer, &slow);
        assert_eq!(placed, None, "before the axis starts");
    }
}
