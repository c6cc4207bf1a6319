//! The answer of `GET /api/lod/{name}`, encoded by the server and decoded by the browser with
//! this one codec, so the two sides cannot drift apart.
//!
//! The body is a Downlink bundle (see [`crate::wire::bundle`]) of these arrays, in order:
//!
//! | name     | dtype                  | shape              | holds                              |
//! |----------|------------------------|--------------------|------------------------------------|
//! | `window` | `<u8`                  | `(2,)`             | `[start, stop)` of the window      |
//! | `index`  | `<u8`                  | `(columns, bins, 4)` | first, min, max, last sample index |
//! | `value`  | `<f8`                  | same               | the values at those indices        |
//! | `time`   | the timestamps' `<M8[unit]` | same          | their timestamps (only for series that have them) |
//!
//! Every column has the same number of bins. A client that does not need `time` may ignore
//! it; a decoder ignores arrays it does not know, so entries can be added later.

use super::M4Bin;
use crate::wire::bundle::{decode_bundle, encode_bundle, BundleEntry, BundleItem};
use crate::wire::dtype::{ByteOrder, DType, ScalarKind, ScalarType};
use crate::wire::WireError;

/// Points per bin: first, min, max, last.
pub const POINTS_PER_BIN: usize = 4;

/// One level-of-detail answer: the window, each column's bins and, for a series with
/// timestamps, the timestamp of every point.
#[derive(Debug, Clone, PartialEq)]
pub struct LodAnswer {
    /// First sample of the window.
    pub start: u64,
    /// One past the last sample of the window.
    pub stop: u64,
    /// The bins of each column, the same number for every column.
    pub columns: Vec<Vec<M4Bin>>,
    /// The timestamps of every point, in the order of [`LodAnswer::indices`].
    pub time: Option<PointTimes>,
}

/// The timestamps of an answer's points, as counts of a little-endian datetime64 unit.
#[derive(Debug, Clone, PartialEq)]
pub struct PointTimes {
    /// `<M8[unit]`: the timestamps' own unit, little-endian.
    pub dtype: ScalarType,
    /// One count per point (NaT is `i64::MIN`).
    pub counts: Vec<i64>,
}

/// Why bytes are not a valid LOD answer.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum AnswerError {
    /// The body is not a valid bundle, or the answer cannot be framed as one.
    #[error("the LOD answer is not a valid bundle: {0}")]
    Bundle(#[from] WireError),
    /// An array the answer must have is missing.
    #[error("the LOD answer has no '{0}' array")]
    Missing(&'static str),
    /// An array has the wrong dtype or shape, or the arrays disagree.
    #[error("the LOD answer's '{name}' array is malformed: {reason}")]
    Malformed {
        /// Which array of the answer.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl LodAnswer {
    /// Every point's sample index, column by column, bin by bin: first, min, max, last.
    pub fn indices(&self) -> impl Iterator<Item = u64> + '_ {
        self.columns.iter().flatten().flat_map(|bin| {
            [
                bin.first_index,
                bin.min_index,
                bin.max_index,
                bin.last_index,
            ]
        })
    }

    /// The answers of consecutive windows, in order (the tiles of a view), as one answer over
    /// their union: each column's bins one after the other, and their times with them.
    /// `None` for no answers, or answers that differ in columns or in having times.
    pub fn joined(parts: Vec<LodAnswer>) -> Option<LodAnswer> {
        let (first, last) = (parts.first()?, parts.last()?);
        let columns = first.columns.len();
        let dtype = first.time.as_ref().map(|t| t.dtype.clone());
        let agree = parts.iter().all(|p| {
            p.columns.len() == columns && p.time.as_ref().map(|t| &t.dtype) == dtype.as_ref()
        });
        if !agree {
            return None;
        }
        let mut joined = LodAnswer {
            start: first.start,
            stop: last.stop,
            columns: vec![Vec::new(); columns],
            time: dtype.map(|dtype| PointTimes {
                dtype,
                counts: Vec::new(),
            }),
        };
        for c in 0..columns {
            for part in &parts {
                joined.columns[c].extend_from_slice(&part.columns[c]);
                if let (Some(into), Some(from)) = (&mut joined.time, &part.time) {
                    let per_column = part.bins() * POINTS_PER_BIN;
                    let counts = from.counts.get(c * per_column..(c + 1) * per_column)?;
                    into.counts.extend_from_slice(counts);
                }
            }
        }
        Some(joined)
    }

    /// Bins per column.
    fn bins(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// The answer as a bundle body.
    ///
    /// # Errors
    /// [`AnswerError::Malformed`] when the columns differ in length, the times are not one
    /// per point or not a datetime64 dtype; [`AnswerError::Bundle`] when framing fails.
    pub fn encode(&self) -> Result<Vec<u8>, AnswerError> {
        let bins = self.bins();
        if self.columns.iter().any(|c| c.len() != bins) {
            return Err(malformed(
                "index",
                "the columns have different numbers of bins",
            ));
        }
        let shape = vec![
            self.columns.len() as u64,
            bins as u64,
            POINTS_PER_BIN as u64,
        ];
        let window: Vec<u8> = [self.start, self.stop]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let index: Vec<u8> = self.indices().flat_map(u64::to_le_bytes).collect();
        let value: Vec<u8> = self
            .columns
            .iter()
            .flatten()
            .flat_map(|bin| [bin.first, bin.min, bin.max, bin.last])
            .flat_map(f64::to_le_bytes)
            .collect();
        let mut items = vec![
            (
                item("window", ScalarType::u64_le(), vec![2], &window),
                window.as_slice(),
            ),
            (
                item("index", ScalarType::u64_le(), shape.clone(), &index),
                index.as_slice(),
            ),
            (
                item("value", ScalarType::f64_le(), shape.clone(), &value),
                value.as_slice(),
            ),
        ];
        let times: Vec<u8>;
        if let Some(time) = &self.time {
            if time.counts.len() * 8 != index.len() {
                return Err(malformed("time", "there is not one timestamp per point"));
            }
            if time.dtype.kind != ScalarKind::DateTime || time.dtype.order != ByteOrder::Little {
                return Err(malformed(
                    "time",
                    "the dtype is not a little-endian datetime64",
                ));
            }
            times = time.counts.iter().flat_map(|c| c.to_le_bytes()).collect();
            items.push((
                item("time", time.dtype.clone(), shape, &times),
                times.as_slice(),
            ));
        }
        Ok(encode_bundle(&items)?)
    }

    /// Read an answer back.
    ///
    /// # Errors
    /// [`AnswerError`] for anything but the documented layout.
    pub fn decode(body: &[u8]) -> Result<LodAnswer, AnswerError> {
        let entries = decode_bundle(body)?;
        let find = |name: &'static str| {
            entries
                .iter()
                .find(|e| e.name == name)
                .ok_or(AnswerError::Missing(name))
        };
        let window = words(find("window")?, "window", &ScalarType::u64_le())?;
        let [start, stop] = window[..] else {
            return Err(malformed("window", "it does not hold two numbers"));
        };
        let index_entry = find("index")?;
        let (columns, bins) = match index_entry.shape[..] {
            [c, b, 4] => (c as usize, b as usize),
            _ => return Err(malformed("index", "its shape is not (columns, bins, 4)")),
        };
        let index = words(index_entry, "index", &ScalarType::u64_le())?;
        let value_entry = find("value")?;
        if value_entry.shape != index_entry.shape {
            return Err(malformed("value", "its shape differs from the index's"));
        }
        let value: Vec<f64> = words(value_entry, "value", &ScalarType::f64_le())?
            .into_iter()
            .map(f64::from_bits)
            .collect();
        let time = match entries.iter().find(|e| e.name == "time") {
            None => None,
            Some(entry) => {
                let DType::Scalar(dtype) = &entry.dtype else {
                    return Err(malformed("time", "its dtype is not datetime64"));
                };
                if dtype.kind != ScalarKind::DateTime || entry.shape != index_entry.shape {
                    return Err(malformed("time", "it is not one datetime64 per point"));
                }
                let counts = words(entry, "time", dtype)?
                    .into_iter()
                    .map(|c| c as i64)
                    .collect();
                Some(PointTimes {
                    dtype: dtype.clone(),
                    counts,
                })
            }
        };
        let point = |at: usize| (index[at], value[at]);
        let columns = (0..columns)
            .map(|c| {
                (0..bins)
                    .map(|b| {
                        let at = (c * bins + b) * POINTS_PER_BIN;
                        let (first_index, first) = point(at);
                        let (min_index, min) = point(at + 1);
                        let (max_index, max) = point(at + 2);
                        let (last_index, last) = point(at + 3);
                        M4Bin {
                            first_index,
                            first,
                            min_index,
                            min,
                            max_index,
                            max,
                            last_index,
                            last,
                        }
                    })
                    .collect()
            })
            .collect();
        Ok(LodAnswer {
            start,
            stop,
            columns,
            time,
        })
    }
}

fn item(name: &str, dtype: ScalarType, shape: Vec<u64>, data: &[u8]) -> BundleItem {
    BundleItem {
        name: name.to_string(),
        dtype: DType::Scalar(dtype),
        shape,
        nbytes: data.len() as u64,
    }
}

fn malformed(name: &'static str, reason: &str) -> AnswerError {
    AnswerError::Malformed {
        name,
        reason: reason.to_string(),
    }
}

/// The 8-byte little-endian words of `entry`, which must have the dtype `want`.
fn words(
    entry: &BundleEntry<'_>,
    name: &'static str,
    want: &ScalarType,
) -> Result<Vec<u64>, AnswerError> {
    if entry.dtype != DType::Scalar(want.clone()) {
        return Err(malformed(
            name,
            &format!("its dtype is not {}", want.descr()),
        ));
    }
    Ok(entry
        .data
        .chunks_exact(8)
        .map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lod::m4_scan;
    use crate::wire::dtype::TimeUnit;

    fn answer(with_time: bool) -> LodAnswer {
        let samples: Vec<f64> = (0..1000).map(|i| (i as f64 / 7.0).sin()).collect();
        let mut nan = samples.clone();
        nan[10] = f64::NAN;
        let columns = vec![
            m4_scan(&samples, 100, 900, 37).unwrap(),
            m4_scan(&nan, 100, 900, 37).unwrap(),
        ];
        let mut answer = LodAnswer {
            start: 100,
            stop: 900,
            columns,
            time: None,
        };
        if with_time {
            let counts = answer.indices().map(|i| 1_700_000_000 + i as i64).collect();
            answer.time = Some(PointTimes {
                dtype: ScalarType::datetime_le(TimeUnit::Second),
                counts,
            });
        }
        answer
    }

    #[test]
    fn answers_round_trip() {
        for with_time in [false, true] {
            let sent = answer(with_time);
            let body = sent.encode().unwrap();
            let got = LodAnswer::decode(&body).unwrap();
            assert_eq!(got.start, sent.start, "time={with_time}");
            assert_eq!(got.time, sent.time, "time={with_time}");
            // NaN != NaN, so compare bit patterns.
            let bits = |a: &LodAnswer| -> Vec<(u64, u64)> {
                a.columns
                    .iter()
                    .flatten()
                    .flat_map(|b| {
                        [
                            (b.first_index, b.first.to_bits()),
                            (b.min_index, b.min.to_bits()),
                            (b.max_index, b.max.to_bits()),
                            (b.last_index, b.last.to_bits()),
                        ]
                    })
                    .collect()
            };
            assert_eq!(bits(&got), bits(&sent), "time={with_time}");
        }
    }

    /// `answer` cut after bin `at` of every column, times and all.
    fn split(answer: &LodAnswer, at: usize) -> (LodAnswer, LodAnswer) {
        let bins = answer.bins();
        let part = |range: std::ops::Range<usize>| LodAnswer {
            start: answer.columns[0][range.start].first_index,
            stop: answer.columns[0][range.end - 1].last_index + 1,
            columns: answer
                .columns
                .iter()
                .map(|c| c[range.clone()].to_vec())
                .collect(),
            time: answer.time.as_ref().map(|t| PointTimes {
                dtype: t.dtype.clone(),
                counts: (0..answer.columns.len())
                    .flat_map(|c| {
                        let from = (c * bins + range.start) * POINTS_PER_BIN;
                        t.counts[from..from + range.len() * POINTS_PER_BIN].to_vec()
                    })
                    .collect(),
            }),
        };
        (part(0..at), part(at..bins))
    }

    #[test]
    fn tiles_join_into_the_answer_over_their_union() {
        for with_time in [false, true] {
            let whole = answer(with_time);
            let (left, right) = split(&whole, 15);
            let joined = LodAnswer::joined(vec![left.clone(), right]).unwrap();
            assert_eq!(joined.time, whole.time, "time={with_time}");
            assert_eq!(joined.encode().unwrap(), whole.encode().unwrap());
            assert_eq!(LodAnswer::joined(vec![left.clone()]), Some(left));
        }
        assert_eq!(LodAnswer::joined(Vec::new()), None);
        let (with, _) = split(&answer(true), 10);
        let (_, without) = split(&answer(false), 10);
        assert_eq!(LodAnswer::joined(vec![with, without]), None);
    }

    #[test]
    fn the_layout_is_the_documented_one() {
        let body = answer(true).encode().unwrap();
        let entries = decode_bundle(&body).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["window", "index", "value", "time"]);
        let descrs: Vec<String> = entries.iter().map(|e| e.dtype.descr_string()).collect();
        assert_eq!(descrs, ["<u8", "<u8", "<f8", "<M8[s]"]);
        assert_eq!(entries[1].shape, [2, 37, 4]);
        assert_eq!(entries[3].shape, entries[1].shape);
    }

    #[test]
    fn malformed_answers_are_refused() {
        let mut ragged = answer(false);
        ragged.columns[1].pop();
        assert!(matches!(
            ragged.encode(),
            Err(AnswerError::Malformed { name: "index", .. })
        ));
        let mut short = answer(true);
        if let Some(time) = short.time.as_mut() {
            time.counts.pop();
        }
        assert!(matches!(
            short.encode(),
            Err(AnswerError::Malformed { name: "time", .. })
        ));

        let body = answer(false).encode().unwrap();
        let entries = decode_bundle(&body).unwrap();
        let without_value: Vec<(BundleItem, &[u8])> = entries
            .iter()
            .filter(|e| e.name != "value")
            .map(|e| {
                let item = BundleItem {
                    name: e.name.clone(),
                    dtype: e.dtype.clone(),
                    shape: e.shape.clone(),
                    nbytes: e.data.len() as u64,
                };
                (item, e.data)
            })
            .collect();
        let body = encode_bundle(&without_value).unwrap();
        assert_eq!(LodAnswer::decode(&body), Err(AnswerError::Missing("value")));
        assert!(matches!(
            LodAnswer::decode(b"not a bundle"),
            Err(AnswerError::Bundle(_))
        ));
    }
}
