//! Time ticks and timestamps, in UTC, from integer nanoseconds since the Unix epoch.
//!
//! Calendar fields come from Howard Hinnant's days-from-civil algorithms (proleptic
//! Gregorian, exact for every `i64` of days), so there is no date-time dependency and the
//! browser and the server label the same ticks the same way.
//!
//! Ticks fall on round boundaries of their step, counted from the epoch: every fixed step
//! (1 ns … 12 h) divides a day, so they all land on midnight UTC too; 7- and 14-day ticks are
//! Mondays, month ticks the first of a month, year ticks 1 January of a multiple of the
//! step. A label shows what changes at its step, and a tick that falls on a coarser
//! boundary shows that boundary instead (midnight shows the date, 1 January the year).

/// Nanoseconds per unit.
const NS_PER_US: i64 = 1_000;
const NS_PER_MS: i64 = 1_000_000;
const NS_PER_S: i64 = 1_000_000_000;
const NS_PER_MIN: i64 = 60 * NS_PER_S;
const NS_PER_HOUR: i64 = 60 * NS_PER_MIN;
const NS_PER_DAY: i64 = 24 * NS_PER_HOUR;

/// 1970-01-05, the first Monday after the epoch, as days since the epoch.
const FIRST_MONDAY: i64 = 4;

const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// One candidate spacing of time ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeStep {
    /// A fixed number of nanoseconds that divides a day.
    Fixed(i64),
    /// Whole days: 1, 2 (even days since the epoch), 7 or 14 (Mondays, even weeks).
    Days(i64),
    /// The first of every n-th month (January, and every n months from it).
    Months(i64),
    /// 1 January of years divisible by n.
    Years(i64),
}

/// Every step, finest first.
const STEPS: [TimeStep; 59] = {
    use TimeStep::{Days, Fixed, Months, Years};
    [
        Fixed(1),
        Fixed(2),
        Fixed(5),
        Fixed(10),
        Fixed(20),
        Fixed(50),
        Fixed(100),
        Fixed(200),
        Fixed(500),
        Fixed(NS_PER_US),
        Fixed(2 * NS_PER_US),
        Fixed(5 * NS_PER_US),
        Fixed(10 * NS_PER_US),
        Fixed(20 * NS_PER_US),
        Fixed(50 * NS_PER_US),
        Fixed(100 * NS_PER_US),
        Fixed(200 * NS_PER_US),
        Fixed(500 * NS_PER_US),
        Fixed(NS_PER_MS),
        Fixed(2 * NS_PER_MS),
        Fixed(5 * NS_PER_MS),
        Fixed(10 * NS_PER_MS),
        Fixed(20 * NS_PER_MS),
        Fixed(50 * NS_PER_MS),
        Fixed(100 * NS_PER_MS),
        Fixed(200 * NS_PER_MS),
        Fixed(500 * NS_PER_MS),
        Fixed(NS_PER_S),
        Fixed(2 * NS_PER_S),
        Fixed(5 * NS_PER_S),
        Fixed(10 * NS_PER_S),
        Fixed(15 * NS_PER_S),
        Fixed(30 * NS_PER_S),
        Fixed(NS_PER_MIN),
        Fixed(2 * NS_PER_MIN),
        Fixed(5 * NS_PER_MIN),
        Fixed(10 * NS_PER_MIN),
        Fixed(15 * NS_PER_MIN),
        Fixed(30 * NS_PER_MIN),
        Fixed(NS_PER_HOUR),
        Fixed(3 * NS_PER_HOUR),
        Fixed(6 * NS_PER_HOUR),
        Fixed(12 * NS_PER_HOUR),
        Days(1),
        Days(2),
        Days(7),
        Days(14),
        Months(1),
        Months(3),
        Months(6),
        Years(1),
        Years(2),
        Years(5),
        Years(10),
        Years(20),
        Years(50),
        Years(100),
        Years(200),
        Years(500),
    ]
};

impl TimeStep {
    /// Typical length of the step, for skipping steps far too fine without generating them.
    fn nominal_ns(self) -> f64 {
        match self {
            TimeStep::Fixed(ns) => ns as f64,
            TimeStep::Days(n) => (n * NS_PER_DAY) as f64,
            TimeStep::Months(n) => n as f64 * 30.436_875 * NS_PER_DAY as f64,
            TimeStep::Years(n) => n as f64 * 365.2425 * NS_PER_DAY as f64,
        }
    }

    /// The ticks in `[start, end]`, stopping once there are more than `limit`.
    fn ticks(self, start: i64, end: i64, limit: usize) -> Vec<i64> {
        let mut ticks = Vec::new();
        let mut push = |t: i128| {
            if t > i128::from(end) || ticks.len() > limit {
                return false;
            }
            // Within [start, end], so within i64.
            ticks.push(t as i64);
            true
        };
        match self {
            TimeStep::Fixed(step) => {
                let step = i128::from(step);
                let mut t = ceil_div(i128::from(start), step) * step;
                while push(t) {
                    t += step;
                }
            }
            TimeStep::Days(n) => {
                let anchor = if n % 7 == 0 { FIRST_MONDAY } else { 0 };
                let mut day = ceil_div(i128::from(start), i128::from(NS_PER_DAY));
                day += (i128::from(anchor) - day).rem_euclid(i128::from(n));
                while push(day * i128::from(NS_PER_DAY)) {
                    day += i128::from(n);
                }
            }
            TimeStep::Months(n) => {
                let (year, month, day) = civil_from_days(start.div_euclid(NS_PER_DAY));
                let mut months = year * 12 + i64::from(month) - 1;
                if day != 1 || start.rem_euclid(NS_PER_DAY) != 0 {
                    months += 1;
                }
                months += (-months).rem_euclid(n);
                loop {
                    let first =
                        days_from_civil(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1);
                    if !push(i128::from(first) * i128::from(NS_PER_DAY)) {
                        break;
                    }
                    months += n;
                }
            }
            TimeStep::Years(n) => {
                let (mut year, month, day) = civil_from_days(start.div_euclid(NS_PER_DAY));
                if month != 1 || day != 1 || start.rem_euclid(NS_PER_DAY) != 0 {
                    year += 1;
                }
                year += (-year).rem_euclid(n);
                while push(i128::from(days_from_civil(year, 1, 1)) * i128::from(NS_PER_DAY)) {
                    year += n;
                }
            }
        }
        ticks
    }

    /// The label of the tick at `t`: what changes at this step, or the coarser boundary the
    /// tick falls on.
    fn label(self, t: i64) -> String {
        let c = Civil::from_ns(t);
        let new_year = c.month == 1 && c.day == 1;
        match self {
            TimeStep::Years(_) => format!("{}", c.year),
            TimeStep::Months(_) if c.month == 1 => format!("{}", c.year),
            TimeStep::Months(_) => MONTH_NAMES[c.month as usize - 1].to_owned(),
            TimeStep::Days(_) if new_year => format!("{}", c.year),
            TimeStep::Days(_) => c.month_day(),
            TimeStep::Fixed(_) if c.ns_of_day == 0 => c.month_day(),
            TimeStep::Fixed(step) if step >= NS_PER_MIN => {
                format!("{:02}:{:02}", c.hour(), c.minute())
            }
            TimeStep::Fixed(step) if step >= NS_PER_S || c.subsec() == 0 => c.hms(),
            TimeStep::Fixed(step) if step >= NS_PER_MS => {
                format!("{}.{:03}", c.hms(), c.subsec() / NS_PER_MS)
            }
            TimeStep::Fixed(step) if step >= NS_PER_US => {
                let us = c.subsec() / NS_PER_US;
                format!(".{:03} {:03}", us / 1000, us % 1000)
            }
            TimeStep::Fixed(_) => {
                let ns = c.subsec();
                format!(
                    ".{:03} {:03} {:03}",
                    ns / NS_PER_MS,
                    ns / NS_PER_US % 1000,
                    ns % 1000
                )
            }
        }
    }

    /// What the labels at this step leave out, for a range starting at `start`.
    fn context(self, start: i64) -> String {
        let c = Civil::from_ns(start);
        match self {
            TimeStep::Years(_) => "UTC".to_owned(),
            TimeStep::Months(_) | TimeStep::Days(_) => format!("{} UTC", c.year),
            TimeStep::Fixed(step) if step >= NS_PER_MS => format!("{} UTC", c.date()),
            TimeStep::Fixed(_) => format!("{} {} UTC", c.date(), c.hms()),
        }
    }
}

/// Human time ticks for `[start_ns, end_ns]` (ns since the Unix epoch, UTC) at the finest
/// step giving at most `max_ticks`, with their labels, and a context label naming what the
/// labels leave out (e.g. the date), for the caller to show once.
///
/// An `f64` holds absolute times only to ~256 ns in this century; the chart itself calls
/// the exact form, [`time_ticks_exact`], with an integer base.
pub fn time_ticks(start_ns: f64, end_ns: f64, max_ticks: usize) -> (Vec<(f64, String)>, String) {
    if !(start_ns.is_finite() && end_ns.is_finite()) {
        return (Vec::new(), String::new());
    }
    let (lo, hi) = if start_ns <= end_ns {
        (start_ns, end_ns)
    } else {
        (end_ns, start_ns)
    };
    // Saturating: ranges past ±292 years from 1970 are clipped to what i64 ns can hold.
    let base = lo.floor() as i64;
    let (ticks, context) = time_ticks_exact(base, lo - base as f64, hi - base as f64, max_ticks);
    let ticks = ticks
        .into_iter()
        .map(|(t, label)| (t as f64, label))
        .collect();
    (ticks, context)
}

/// [`time_ticks`] for `[base_ns + start_offset_ns, base_ns + end_offset_ns]`: exact to the
/// nanosecond whatever the base, as long as the offsets are below 2^53 ns (104 days) or
/// the step is coarser than their rounding.
pub fn time_ticks_exact(
    base_ns: i64,
    start_offset_ns: f64,
    end_offset_ns: f64,
    max_ticks: usize,
) -> (Vec<(i64, String)>, String) {
    if !(start_offset_ns.is_finite() && end_offset_ns.is_finite()) || max_ticks == 0 {
        return (Vec::new(), String::new());
    }
    let clamp = |t: i128| t.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    // Float to i128 saturates, and any f64 offset fits an i128 after that.
    let start = clamp(i128::from(base_ns) + start_offset_ns.ceil() as i128);
    let end = clamp(i128::from(base_ns) + end_offset_ns.floor() as i128);
    if start > end {
        return (Vec::new(), TimeStep::Fixed(1).context(base_ns));
    }
    let span = (i128::from(end) - i128::from(start)) as f64;
    for step in STEPS {
        if span / step.nominal_ns() > 2.0 * max_ticks as f64 + 2.0 {
            continue;
        }
        let ticks = step.ticks(start, end, max_ticks);
        if ticks.len() <= max_ticks {
            let labelled = ticks.into_iter().map(|t| (t, step.label(t))).collect();
            return (labelled, step.context(start));
        }
    }
    (Vec::new(), TimeStep::Years(1).context(start))
}

/// One exact timestamp, e.g. `2026-03-14T09:26:53.020000000Z` (RFC 3339, UTC, all nine
/// digits of nanoseconds).
pub fn format_time_ns(ns: i64) -> String {
    let c = Civil::from_ns(ns);
    format!("{}T{}.{:09}Z", c.date(), c.hms(), c.subsec())
}

/// An instant written in ISO 8601 as ns since the Unix epoch: `2026-03-14`,
/// `2026-03-14T09:26:53`, with a fraction of up to nine digits (`.020`, `.020000001`), and
/// `Z`, `+HH:MM` or `-HH:MM` (no zone means UTC). `None` for anything else, or an instant
/// outside the years 1678–2261 that i64 nanoseconds hold.
pub fn parse_time_ns(text: &str) -> Option<i64> {
    let digits = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let (date, rest) = match text.split_once('T') {
        Some((date, rest)) => (date, Some(rest)),
        None => (text, None),
    };
    let mut parts = date.splitn(3, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let (year, month, day) = (digits(year)?, digits(month)?, digits(day)?);
    let days_in_month = [
        31,
        28 + i64::from(is_leap(year)),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month[month as usize - 1] {
        return None;
    }
    let mut ns =
        i128::from(days_from_civil(year, month as u32, day as u32)) * i128::from(NS_PER_DAY);
    if let Some(rest) = rest {
        // The zone: Z, +HH:MM or -HH:MM at the end.
        let (clock, offset_ns) = if let Some(clock) = rest.strip_suffix('Z') {
            (clock, 0)
        } else if let Some(at) = rest.rfind(['+', '-']) {
            let (clock, zone) = rest.split_at(at);
            let (hours, minutes) = zone[1..].split_once(':')?;
            if hours.len() != 2 || minutes.len() != 2 {
                return None;
            }
            let (hours, minutes) = (digits(hours)?, digits(minutes)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = (hours * 60 + minutes) * 60 * NS_PER_S;
            (
                clock,
                if zone.starts_with('-') {
                    -offset
                } else {
                    offset
                },
            )
        } else {
            (rest, 0)
        };
        let (hms, fraction) = match clock.split_once('.') {
            Some((hms, fraction)) if (1..=9).contains(&fraction.len()) => (hms, Some(fraction)),
            Some(_) => return None,
            None => (clock, None),
        };
        let fields: Vec<&str> = hms.split(':').collect();
        let [h, m, sec] = fields.as_slice() else {
            return None;
        };
        if [h, m, sec].iter().any(|f| f.len() != 2) {
            return None;
        }
        let (h, m, sec) = (digits(h)?, digits(m)?, digits(sec)?);
        if h > 23 || m > 59 || sec > 59 {
            return None;
        }
        let subsec = match fraction {
            Some(f) => digits(f)? * 10i64.pow(9 - f.len() as u32),
            None => 0,
        };
        ns += i128::from(((h * 60 + m) * 60 + sec) * NS_PER_S + subsec - offset_ns);
    }
    i64::try_from(ns).ok()
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Calendar fields of an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    /// Nanoseconds since midnight.
    ns_of_day: i64,
}

impl Civil {
    fn from_ns(ns: i64) -> Civil {
        let (year, month, day) = civil_from_days(ns.div_euclid(NS_PER_DAY));
        Civil {
            year,
            month,
            day,
            ns_of_day: ns.rem_euclid(NS_PER_DAY),
        }
    }

    fn hour(self) -> i64 {
        self.ns_of_day / NS_PER_HOUR
    }

    fn minute(self) -> i64 {
        self.ns_of_day / NS_PER_MIN % 60
    }

    fn second(self) -> i64 {
        self.ns_of_day / NS_PER_S % 60
    }

    /// Nanoseconds since the whole second.
    fn subsec(self) -> i64 {
        self.ns_of_day % NS_PER_S
    }

    /// `2026-03-14`
    fn date(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `09:26:53`
    fn hms(self) -> String {
        format!(
            "{:02}:{:02}:{:02}",
            self.hour(),
            self.minute(),
            self.second()
        )
    }

    /// `Mar 14`
    fn month_day(self) -> String {
        format!("{} {}", MONTH_NAMES[self.month as usize - 1], self.day)
    }
}

/// `ceil(a / b)` for `b > 0`.
fn ceil_div(a: i128, b: i128) -> i128 {
    -((-a).div_euclid(b))
}

/// Year, month (1–12) and day (1–31) of the day `days` after 1970-01-01.
pub(super) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March, so the leap day is the last day of the year.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to `year-month-day` (month 1–12, day 1–31).
pub(super) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
