//! "Nice" numeric ticks: multiples of 1, 2 or 5 × 10^k, labelled compactly and without
//! float noise.
//!
//! Every label of one set of ticks has the same form and the same number of decimals, so
//! they line up: plain decimals for ordinary magnitudes (`0.25`, `1500`), SI suffixes from
//! ten thousand on (`20k`, `1.5M`, up to `T`, with at most three decimals), and exponent form for magnitudes below 10⁻⁴
//! or from 10¹⁵ on (`2.5e-9`, `1e18`).

/// The step `mantissa × 10^exponent` of a set of ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    /// 1, 2 or 5; or 25 with the exponent one lower, for 2.5 × 10^k.
    mantissa: i32,
    exponent: i32,
}

impl Step {
    fn value(self) -> f64 {
        f64::from(self.mantissa) * 10f64.powi(self.exponent)
    }

    /// The `i`-th multiple of the step, computed so that `3 × 0.1` is `0.3`: an integer
    /// divided by a power of ten rounds once. Never `-0.0`.
    fn multiple(self, i: f64) -> f64 {
        let count = i * f64::from(self.mantissa) + 0.0;
        if self.exponent >= 0 {
            count * 10f64.powi(self.exponent)
        } else {
            count / 10f64.powi(-self.exponent)
        }
    }

    /// The multiples of the step in `[lo, hi]`, as a range of `i`.
    fn span(self, lo: f64, hi: f64) -> (f64, f64) {
        let step = self.value();
        ((lo / step).ceil(), (hi / step).floor())
    }

    /// The next larger nice step: 1 → 2 → 5 → 10.
    fn next(self) -> Step {
        match self.mantissa {
            1 => Step {
                mantissa: 2,
                ..self
            },
            2 => Step {
                mantissa: 5,
                ..self
            },
            _ => Step {
                mantissa: 1,
                exponent: self.exponent + 1,
            },
        }
    }
}

/// Ticks for `[lo, hi]` at the finest 1/2/5 × 10^k step that gives at most `max_ticks`,
/// each with its label; 2.5 × 10^k where 5 × 10^k would leave a single tick and 2.5 fits
/// at least two. Empty if the range is not finite or `max_ticks` is 0; a single
/// tick at `lo` if the range is a point (or too narrow for its magnitude to subdivide).
pub fn nice_ticks(lo: f64, hi: f64, max_ticks: usize) -> Vec<(f64, String)> {
    nice_ticks_from(lo, hi, max_ticks, i32::MIN)
}

/// [`nice_ticks`] with steps of at least `10^min_exponent` (0 for sample indices, which
/// have no fractions).
pub(super) fn nice_ticks_from(
    lo: f64,
    hi: f64,
    max_ticks: usize,
    min_exponent: i32,
) -> Vec<(f64, String)> {
    if !(lo.is_finite() && hi.is_finite()) || max_ticks == 0 {
        return Vec::new();
    }
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let magnitude = lo.abs().max(hi.abs());
    // Below ~1e-12 of the magnitude, multiples of the step are no longer exact in f64.
    if hi - lo <= magnitude * 1e-12 || hi - lo < f64::MIN_POSITIVE {
        let format = TickFormat::new(magnitude, exponent_of(magnitude) - 3);
        return vec![(lo, format.label(lo))];
    }
    let mut step = Step {
        mantissa: 1,
        exponent: (exponent_of((hi - lo) / max_ticks as f64) - 1).max(min_exponent),
    };
    // At most seven turns: the first step is at most a hundred times finer than needed.
    let (first, last) = loop {
        let (first, last) = step.span(lo, hi);
        if last - first + 1.0 <= max_ticks as f64 {
            break (first, last);
        }
        step = step.next();
    };
    // 2 × 10^k gave too many ticks and 5 × 10^k may give one: 2.5 × 10^k sits between.
    let (step, first, last) = match step {
        Step {
            mantissa: 5,
            exponent,
        } if last <= first && exponent > min_exponent => {
            let quarter = Step {
                mantissa: 25,
                exponent: exponent - 1,
            };
            let (a, b) = quarter.span(lo, hi);
            if b > a && b - a + 1.0 <= max_ticks as f64 {
                (quarter, a, b)
            } else {
                (step, first, last)
            }
        }
        _ => (step, first, last),
    };
    let format = TickFormat::new(magnitude, step.exponent);
    let mut ticks = Vec::with_capacity((last - first + 1.0).max(0.0) as usize);
    let mut i = first;
    while i <= last {
        let value = step.multiple(i);
        ticks.push((value, format.label(value)));
        i += 1.0;
    }
    ticks
}

/// `floor(log10(|v|))`, corrected where `log10` rounds across a power of ten.
fn exponent_of(v: f64) -> i32 {
    let v = v.abs();
    if v == 0.0 || !v.is_finite() {
        return 0;
    }
    let mut e = v.log10().floor() as i32;
    if 10f64.powi(e) > v {
        e -= 1;
    } else if 10f64.powi(e + 1) <= v {
        e += 1;
    }
    e
}

/// How every label of one set of ticks is written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TickFormat {
    /// `1234.5`
    Plain { decimals: usize },
    /// `1.5M`: the value divided by `10^exponent`, then the suffix.
    Si {
        exponent: i32,
        suffix: &'static str,
        decimals: usize,
    },
    /// `2.5e-9`: each value in its own exponent, with enough digits for the step.
    Exponent { step_exponent: i32 },
}

impl TickFormat {
    /// The form for ticks up to `magnitude` in absolute value at steps of `10^step_exponent`
    /// (times 1, 2 or 5, which need no extra digit).
    fn new(magnitude: f64, step_exponent: i32) -> TickFormat {
        let exponent = exponent_of(magnitude);
        if !(-4..15).contains(&exponent) {
            return TickFormat::Exponent { step_exponent };
        }
        if exponent >= 4 {
            let si = (exponent / 3 * 3).min(12);
            let decimals = si - step_exponent;
            if decimals <= 3 {
                let suffix = match si {
                    3 => "k",
                    6 => "M",
                    9 => "G",
                    _ => "T",
                };
                return TickFormat::Si {
                    exponent: si,
                    suffix,
                    decimals: decimals.max(0) as usize,
                };
            }
            // A narrow window far from zero: whole numbers read better than `1.00001M`.
            if step_exponent >= 0 {
                return TickFormat::Plain { decimals: 0 };
            }
            return TickFormat::Exponent { step_exponent };
        }
        TickFormat::Plain {
            decimals: (-step_exponent).max(0) as usize,
        }
    }

    fn label(self, value: f64) -> String {
        match self {
            TickFormat::Plain { decimals } => fix_negative_zero(format!("{value:.decimals$}")),
            TickFormat::Si {
                exponent,
                suffix,
                decimals,
            } => {
                let scaled = value / 10f64.powi(exponent);
                let number = fix_negative_zero(format!("{scaled:.decimals$}"));
                if value == 0.0 {
                    number
                } else {
                    number + suffix
                }
            }
            TickFormat::Exponent { step_exponent } => {
                if value == 0.0 {
                    return "0".to_owned();
                }
                let mut exponent = exponent_of(value);
                let decimals = (exponent - step_exponent).max(0) as usize;
                let mut mantissa = format!("{:.decimals$}", value / 10f64.powi(exponent));
                // 9.96e-7 at two decimals is 10.0e-7: write it as 1.00e-6.
                if mantissa.trim_start_matches('-').starts_with("10") {
                    exponent += 1;
                    let decimals = decimals.saturating_sub(1);
                    mantissa = format!("{:.decimals$}", value / 10f64.powi(exponent));
                }
                format!("{mantissa}e{exponent}")
            }
        }
    }
}

/// `-0.0` rounds to "-0"; a tick at zero reads "0".
fn fix_negative_zero(label: String) -> String {
    if label.starts_with('-') && label[1..].bytes().all(|b| b == b'0' || b == b'.') {
        label[1..].to_owned()
    } else {
        label
    }
}
