//! `slice=START:STOP[:STEP]`: parsed as Python writes it, resolved as Python resolves it.

use crate::server::error::ApiError;

/// `slice=START:STOP[:STEP]` along axis 0, with Python's semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SliceSpec {
    /// First row; negative counts from the end; `None` is Python's default for the step.
    pub start: Option<i64>,
    /// One past the last row, as `start` counts.
    pub stop: Option<i64>,
    /// Distance between rows (never 0); negative walks backwards; `None` is 1.
    pub step: Option<i64>,
}

/// A slice resolved against a length: the rows `start, start+step, ...`, `count` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// First row.
    pub start: i64,
    /// Distance between rows (negative walks backwards).
    pub step: i64,
    /// Number of rows.
    pub count: u64,
}

impl SliceSpec {
    /// Parse `START:STOP[:STEP]`; every part may be empty.
    ///
    /// # Errors
    /// A 400 for anything else, or a zero step.
    pub fn parse(text: &str) -> Result<SliceSpec, ApiError> {
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() < 2 || parts.len() > 3 {
            return Err(ApiError::BadParam(format!(
                "slice={text:?} is not START:STOP or START:STOP:STEP"
            )));
        }
        let num = |part: &str| -> Result<Option<i64>, ApiError> {
            let part = part.trim();
            if part.is_empty() {
                return Ok(None);
            }
            part.parse::<i64>().map(Some).map_err(|_| {
                ApiError::BadParam(format!("slice={text:?}: {part:?} is not an integer"))
            })
        };
        let spec = SliceSpec {
            start: num(parts[0])?,
            stop: num(parts[1])?,
            step: match parts.get(2) {
                Some(part) => num(part)?,
                None => None,
            },
        };
        if spec.step == Some(0) {
            return Err(ApiError::BadParam("slice step cannot be zero".into()));
        }
        Ok(spec)
    }

    /// Python's `slice.indices(len)` followed by `len(range(...))`.
    pub fn resolve(&self, len: u64) -> Resolved {
        let len = i64::try_from(len).unwrap_or(i64::MAX);
        let step = self.step.unwrap_or(1);
        let (lower, upper) = if step < 0 { (-1, len - 1) } else { (0, len) };
        let clamp = |value: Option<i64>, default: i64| match value {
            None => default,
            Some(v) if v < 0 => (v.saturating_add(len)).max(lower),
            Some(v) => v.min(upper),
        };
        let start = clamp(self.start, if step < 0 { upper } else { lower });
        let stop = clamp(self.stop, if step < 0 { lower } else { upper });
        let count = if step > 0 && stop > start {
            (stop - start - 1) / step + 1
        } else if step < 0 && start > stop {
            (start - stop - 1) / (-step) + 1
        } else {
            0
        };
        Resolved {
            start,
            step,
            count: count as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_resolve_like_python() {
        // (spec, len) -> the indices Python's range(*slice(...).indices(len)) yields.
        let cases: &[(&str, u64, &[i64])] = &[
            ("0:3", 5, &[0, 1, 2]),
            (":", 3, &[0, 1, 2]),
            ("::-1", 3, &[2, 1, 0]),
            ("-2:", 5, &[3, 4]),
            (":-2", 5, &[0, 1, 2]),
            ("1:100:2", 6, &[1, 3, 5]),
            ("10:20", 5, &[]),
            ("-100:2", 5, &[0, 1]),
            ("4:0:-2", 6, &[4, 2]),
            ("::-2", 0, &[]),
            ("5:-100:-1", 3, &[2, 1, 0]),
        ];
        for (text, len, want) in cases {
            let r = SliceSpec::parse(text).unwrap().resolve(*len);
            let got: Vec<i64> = (0..r.count as i64).map(|i| r.start + i * r.step).collect();
            assert_eq!(&got[..], *want, "slice {text} of {len}");
        }
    }

    #[test]
    fn bad_slices_are_400() {
        for (text, message) in [
            ("", r#"slice="" is not START:STOP or START:STOP:STEP"#),
            ("1", r#"slice="1" is not START:STOP or START:STOP:STEP"#),
            (
                "1:2:3:4",
                r#"slice="1:2:3:4" is not START:STOP or START:STOP:STEP"#,
            ),
            ("a:b", r#"slice="a:b": "a" is not an integer"#),
            ("1.5:2", r#"slice="1.5:2": "1.5" is not an integer"#),
            ("1:2:0", "slice step cannot be zero"),
        ] {
            let err = SliceSpec::parse(text).expect_err(text);
            assert_eq!(err.status().as_u16(), 400, "{text:?}");
            assert_eq!(err.to_string(), message, "{text:?}");
        }
    }
}
