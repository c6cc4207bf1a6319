//! Array elements as NumPy prints them, for previews and the chart's readout: floats in
//! Python's shortest round-trip form, datetimes in ISO 8601 at their unit, records as
//! tuples, byte and unicode strings as Python literals.

use half::f16;

use super::convert::NAT;
use super::dtype::{ByteOrder, DType, ScalarKind, ScalarType, TimeUnit};
use super::pyliteral::repr_str;

/// Longest text shown for one string value in a preview, in characters.
const MAX_TEXT_PREVIEW: usize = 256;
/// Most subarray elements shown for one record field in a preview.
const MAX_SUBARRAY_PREVIEW: usize = 64;
const SECONDS_PER_DAY: i128 = 86_400;

/// Format the first `limit` elements as NumPy-like text for a preview (any dtype, records
/// included). Bytes past the last whole element are ignored; zero-size dtypes give nothing.
pub fn format_elements(data: &[u8], dtype: &DType, limit: usize) -> Vec<String> {
    let itemsize = dtype.itemsize();
    if itemsize == 0 {
        return Vec::new();
    }
    data.chunks_exact(itemsize)
        .take(limit)
        .map(|element| format_value(element, dtype))
        .collect()
}

fn format_value(bytes: &[u8], dtype: &DType) -> String {
    match dtype {
        DType::Scalar(scalar) => format_scalar(bytes, scalar),
        DType::Record { fields, .. } => {
            let mut parts = Vec::with_capacity(fields.len());
            for field in fields.iter().filter(|f| !f.is_padding()) {
                let size = field.dtype.itemsize();
                let count = field.element_count();
                let span = field
                    .offset
                    .checked_add(size.saturating_mul(count))
                    .and_then(|end| bytes.get(field.offset..end));
                let Some(span) = span else {
                    parts.push("?".to_string());
                    continue;
                };
                if field.shape.is_empty() {
                    parts.push(format_value(span, &field.dtype));
                } else {
                    parts.push(format_subarray(span, &field.dtype, &field.shape));
                }
            }
            match parts.as_slice() {
                // Python's one-element tuple keeps its comma.
                [only] => format!("({only},)"),
                _ => format!("({})", parts.join(", ")),
            }
        }
    }
}

/// `[[a, b], [c, d]]` for small subarrays, a flat `[a, b, ...]` past the preview cap.
fn format_subarray(bytes: &[u8], dtype: &DType, shape: &[usize]) -> String {
    let size = dtype.itemsize();
    let count = shape.iter().fold(1usize, |acc, &d| acc.saturating_mul(d));
    if size == 0 || count == 0 {
        return nest(&[], shape);
    }
    let shown: Vec<String> = bytes
        .chunks_exact(size)
        .take(count.min(MAX_SUBARRAY_PREVIEW))
        .map(|element| format_value(element, dtype))
        .collect();
    if count > MAX_SUBARRAY_PREVIEW {
        format!("[{}, ...]", shown.join(", "))
    } else {
        nest(&shown, shape)
    }
}

fn nest(items: &[String], shape: &[usize]) -> String {
    match shape {
        [] => items.first().cloned().unwrap_or_default(),
        [_] => format!("[{}]", items.join(", ")),
        [first, rest @ ..] => {
            let inner = rest.iter().fold(1usize, |acc, &d| acc.saturating_mul(d));
            let parts: Vec<String> = if inner == 0 {
                (0..*first).map(|_| nest(&[], rest)).collect()
            } else {
                items.chunks(inner).map(|chunk| nest(chunk, rest)).collect()
            };
            format!("[{}]", parts.join(", "))
        }
    }
}

fn format_scalar(bytes: &[u8], t: &ScalarType) -> String {
    let little = !matches!(t.order, ByteOrder::Big);
    match (t.kind, t.size) {
        (ScalarKind::Bool, _) => {
            if bytes.iter().any(|&b| b != 0) {
                "True".to_string()
            } else {
                "False".to_string()
            }
        }
        (ScalarKind::Int, 1..=8) => read_int(bytes, little).to_string(),
        (ScalarKind::UInt, 1..=8) => read_uint(bytes, little).to_string(),
        (ScalarKind::Float, 2) => float_text_f16(f16::from_bits(read_uint(bytes, little) as u16)),
        (ScalarKind::Float, 4) => float_text(f32::from_bits(read_uint(bytes, little) as u32)),
        (ScalarKind::Float, 8) => float_text(f64::from_bits(read_uint(bytes, little))),
        (ScalarKind::Complex, 8 | 16) => {
            let (re, im) = bytes.split_at(t.size / 2);
            let (re, im) = if t.size == 8 {
                (
                    f64::from(f32::from_bits(read_uint(re, little) as u32)),
                    f64::from(f32::from_bits(read_uint(im, little) as u32)),
                )
            } else {
                (
                    f64::from_bits(read_uint(re, little)),
                    f64::from_bits(read_uint(im, little)),
                )
            };
            complex_text(re, im, t.size == 8)
        }
        (ScalarKind::DateTime, 8) => datetime_text(read_int(bytes, little), t.unit),
        (ScalarKind::TimeDelta, 8) => timedelta_text(read_int(bytes, little), t.unit),
        (ScalarKind::Bytes, _) => {
            let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            repr_bytes(&bytes[..end])
        }
        (ScalarKind::Void, _) => repr_bytes(bytes),
        (ScalarKind::Unicode, _) => {
            let text: String = bytes
                .chunks_exact(4)
                .map(|unit| {
                    let code = read_uint(unit, little) as u32;
                    char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
                })
                .collect();
            let text = text.trim_end_matches('\0');
            repr_str(&truncate_text(text))
        }
        // Long doubles have a platform-specific layout; show their bits, most significant
        // byte first.
        _ => {
            let mut ordered = bytes.to_vec();
            if little {
                ordered.reverse();
            }
            let hex: String = ordered.iter().map(|b| format!("{b:02x}")).collect();
            format!("0x{hex}")
        }
    }
}

fn read_uint(bytes: &[u8], little: bool) -> u64 {
    let fold = |acc: u64, &b: &u8| (acc << 8) | u64::from(b);
    if little {
        bytes.iter().rev().fold(0, fold)
    } else {
        bytes.iter().fold(0, fold)
    }
}

fn read_int(bytes: &[u8], little: bool) -> i64 {
    let bits = bytes.len().clamp(1, 8) * 8;
    let shift = 64 - bits as u32;
    // Move the sign bit to the top, then shift back arithmetically to extend it.
    ((read_uint(bytes, little) << shift) as i64) >> shift
}

fn truncate_text(text: &str) -> String {
    if text.chars().count() > MAX_TEXT_PREVIEW {
        let mut cut: String = text.chars().take(MAX_TEXT_PREVIEW).collect();
        cut.push('…');
        cut
    } else {
        text.to_string()
    }
}

/// Python's `bytes` repr: `b'abc\x00'`.
fn repr_bytes(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(MAX_TEXT_PREVIEW)];
    let quote = if shown.contains(&b'\'') && !shown.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::from("b");
    out.push(char::from(quote));
    for &b in shown {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b if b == quote => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(char::from(quote));
    if shown.len() < bytes.len() {
        out.push('…');
    }
    out
}

/// Floats that format their shortest round-trip digits with `{:e}`.
trait ShortestExp: std::fmt::LowerExp + Copy {
    fn classify(self) -> std::num::FpCategory;
    fn negative(self) -> bool;
}

impl ShortestExp for f32 {
    fn classify(self) -> std::num::FpCategory {
        f32::classify(self)
    }
    fn negative(self) -> bool {
        self.is_sign_negative()
    }
}

impl ShortestExp for f64 {
    fn classify(self) -> std::num::FpCategory {
        f64::classify(self)
    }
    fn negative(self) -> bool {
        self.is_sign_negative()
    }
}

/// Python's float `repr`: shortest digits, `1.0`, `0.0001`, `1e-05`, `1e+16`, `nan`, `inf`.
fn float_text<F: ShortestExp>(value: F) -> String {
    match value.classify() {
        std::num::FpCategory::Nan => return "nan".to_string(),
        std::num::FpCategory::Infinite => {
            return if value.negative() { "-inf" } else { "inf" }.to_string()
        }
        _ => {}
    }
    python_float_from_exp(&format!("{value:e}"))
}

/// `f16` has no shortest formatter of its own: find the fewest digits that read back as
/// the same `f16`.
fn float_text_f16(value: f16) -> String {
    let wide = value.to_f32();
    if !wide.is_finite() {
        return float_text(wide);
    }
    for precision in 0..8 {
        let text = format!("{wide:.precision$e}");
        if text.parse::<f32>().map(f16::from_f32) == Ok(value) {
            return python_float_from_exp(&text);
        }
    }
    float_text(wide)
}

/// Turn Rust's `{:e}` output (`-1.2345e-7`) into Python's repr layout.
fn python_float_from_exp(text: &str) -> String {
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return text.to_string();
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return text.to_string();
    };
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if (-4..16).contains(&exponent) {
        if exponent >= 0 {
            let int_len = exponent as usize + 1;
            let (int_part, frac_part) = if digits.len() > int_len {
                (digits[..int_len].to_string(), digits[int_len..].to_string())
            } else {
                (format!("{digits:0<int_len$}"), "0".to_string())
            };
            format!("{sign}{int_part}.{frac_part}")
        } else {
            let zeros = "0".repeat((-exponent - 1) as usize);
            format!("{sign}0.{zeros}{digits}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{sign}{first}{point}e{exp_sign}{:02}",
            exponent.unsigned_abs()
        )
    }
}

/// Python's complex repr without parentheses: `1+2j`, `1.5-0.5j`, `nan+infj`.
fn complex_text(re: f64, im: f64, single: bool) -> String {
    let part = |v: f64| {
        let text = if single {
            float_text(v as f32)
        } else {
            float_text(v)
        };
        match text.strip_suffix(".0") {
            Some(short) => short.to_string(),
            None => text,
        }
    };
    let imaginary = part(im);
    let sign = if imaginary.starts_with('-') { "" } else { "+" };
    format!("{}{sign}{imaginary}j", part(re))
}

fn timedelta_text(count: i64, unit: Option<(TimeUnit, u32)>) -> String {
    if count == NAT {
        return "NaT".to_string();
    }
    match unit {
        None | Some((TimeUnit::Generic, _)) => count.to_string(),
        Some((unit, multiplier)) => format!(
            "{} {}",
            i128::from(count) * i128::from(multiplier),
            unit.abbreviation()
        ),
    }
}

/// ISO 8601 text at the unit's precision, as NumPy prints datetimes:
/// `2024-01-01T00:00:00.000000000` for `ns`, `2024-01` for `M`.
fn datetime_text(count: i64, unit: Option<(TimeUnit, u32)>) -> String {
    if count == NAT {
        return "NaT".to_string();
    }
    let Some((unit, multiplier)) = unit else {
        return count.to_string();
    };
    let total = i128::from(count) * i128::from(multiplier);
    let (seconds_per_tick, fraction_digits): (i128, u32) = match unit {
        TimeUnit::Generic => return count.to_string(),
        TimeUnit::Year => return year_text(1970 + total),
        TimeUnit::Month => {
            let year = 1970 + total.div_euclid(12);
            return format!("{}-{:02}", year_text(year), total.rem_euclid(12) + 1);
        }
        TimeUnit::Week => return date_text(total * 7),
        TimeUnit::Day => return date_text(total),
        TimeUnit::Hour => (3600, 0),
        TimeUnit::Minute => (60, 0),
        TimeUnit::Second => (1, 0),
        TimeUnit::Milli => (0, 3),
        TimeUnit::Micro => (0, 6),
        TimeUnit::Nano => (0, 9),
        TimeUnit::Pico => (0, 12),
        TimeUnit::Femto => (0, 15),
        TimeUnit::Atto => (0, 18),
    };
    let (seconds, fraction) = if fraction_digits == 0 {
        (total * seconds_per_tick, 0)
    } else {
        let per_second = 10i128.pow(fraction_digits);
        (total.div_euclid(per_second), total.rem_euclid(per_second))
    };
    let day = seconds.div_euclid(SECONDS_PER_DAY);
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (hour, minute, second) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
    let date = date_text(day);
    match unit {
        TimeUnit::Hour => format!("{date}T{hour:02}"),
        TimeUnit::Minute => format!("{date}T{hour:02}:{minute:02}"),
        TimeUnit::Second => format!("{date}T{hour:02}:{minute:02}:{second:02}"),
        _ => format!(
            "{date}T{hour:02}:{minute:02}:{second:02}.{fraction:0width$}",
            width = fraction_digits as usize
        ),
    }
}

fn year_text(year: i128) -> String {
    if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    }
}

/// `YYYY-MM-DD` for a count of days since 1970-01-01 (proleptic Gregorian, Howard Hinnant's
/// `civil_from_days`).
fn date_text(days: i128) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    format!("{}-{month:02}-{day:02}", year_text(year))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preview(bytes: &[u8], descr: &str) -> Vec<String> {
        format_elements(bytes, &DType::parse_descr(descr).expect("valid"), 100)
    }

    #[test]
    fn previews_look_like_numpy() {
        assert_eq!(preview(&[0, 1, 7], "|b1"), ["False", "True", "True"]);
        assert_eq!(preview(&[0xff, 0xff, 0, 1], ">i2"), ["-1", "1"]);
        assert_eq!(preview(&[0xff, 0xff], "<u2"), ["65535"]);
        let floats: Vec<u8> = [
            1.0f64,
            0.1,
            -2.5,
            1e16,
            1.5e-7,
            123456.0,
            f64::NAN,
            f64::NEG_INFINITY,
            1e-4,
        ]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
        assert_eq!(
            preview(&floats, "<f8"),
            ["1.0", "0.1", "-2.5", "1e+16", "1.5e-07", "123456.0", "nan", "-inf", "0.0001"]
        );
        assert_eq!(preview(&0.1f32.to_be_bytes(), ">f4"), ["0.1"]);
        assert_eq!(preview(&f16::from_f32(0.1).to_le_bytes(), "<f2"), ["0.1"]);
        assert_eq!(preview(&f16::from_f32(-3.0).to_le_bytes(), "<f2"), ["-3.0"]);
        let complex: Vec<u8> = [1.0f32, 2.0, 1.5, -0.5]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(preview(&complex, "<c8"), ["1+2j", "1.5-0.5j"]);
        let ns = 1_704_067_200_000_000_001i64;
        assert_eq!(
            preview(&ns.to_le_bytes(), "<M8[ns]"),
            ["2024-01-01T00:00:00.000000001"]
        );
        assert_eq!(preview(&NAT.to_le_bytes(), "<M8[ns]"), ["NaT"]);
        assert_eq!(preview(&(-1i64).to_le_bytes(), "<M8[D]"), ["1969-12-31"]);
        assert_eq!(preview(&(-1i64).to_le_bytes(), "<M8[W]"), ["1969-12-25"]);
        assert_eq!(
            preview(&3i64.to_le_bytes(), "<M8[10s]"),
            ["1970-01-01T00:00:30"]
        );
        assert_eq!(
            preview(&(54 * 12 + 1i64).to_le_bytes(), "<M8[M]"),
            ["2024-02"]
        );
        assert_eq!(preview(&(-3i64).to_be_bytes(), ">M8[h]"), ["1969-12-31T21"]);
        assert_eq!(
            preview(&(-1i64).to_le_bytes(), "<M8[ms]"),
            ["1969-12-31T23:59:59.999"]
        );
        assert_eq!(preview(&5i64.to_le_bytes(), "<m8[10s]"), ["50 s"]);
        assert_eq!(preview(b"ab\0cd\0\0", "|S7"), ["b'ab\\x00cd'"]);
        assert_eq!(preview(b"\x01\x02", "|V2"), ["b'\\x01\\x02'"]);
        let text: Vec<u8> = "hé\0"
            .chars()
            .flat_map(|c| u32::from(c).to_be_bytes())
            .collect();
        assert_eq!(preview(&text, ">U3"), ["'hé'"]);
        assert_eq!(preview(&[1, 2, 3], "|u1").len(), 3);
        assert_eq!(
            format_elements(&[1, 2, 3], &DType::parse_descr("|u1").expect("valid"), 2),
            ["1", "2"]
        );
        assert_eq!(preview(&[1, 2, 3], "<u2"), ["513"]);
        let long_double = [0u8; 16];
        assert_eq!(
            preview(&long_double, "<f16"),
            [format!("0x{}", "0".repeat(32))]
        );
    }

    #[test]
    fn record_previews() {
        let dtype = crate::wire::pyliteral::parse(
            "[('x', '<f4'), ('', '|V2'), ('y', '<i2', (2, 2)), ('z', [('a', '|u1')])]",
        )
        .and_then(|v| DType::from_descr_value(&v))
        .expect("valid");
        let mut element = 1.5f32.to_le_bytes().to_vec();
        element.extend_from_slice(&[9, 9]);
        for v in [1i16, 2, 3, 4] {
            element.extend_from_slice(&v.to_le_bytes());
        }
        element.push(7);
        assert_eq!(element.len(), dtype.itemsize());
        assert_eq!(
            format_elements(&element, &dtype, 10),
            ["(1.5, [[1, 2], [3, 4]], (7,))"]
        );
        let big = crate::wire::pyliteral::parse("[('v', '|u1', (100,))]")
            .and_then(|v| DType::from_descr_value(&v))
            .expect("valid");
        let text = &format_elements(&[0; 100], &big, 1)[0];
        assert!(text.ends_with(", ...],)"), "{text}");
        let empty = crate::wire::pyliteral::parse("[('v', '<f4', (2, 0))]")
            .and_then(|v| DType::from_descr_value(&v))
            .expect("valid");
        assert_eq!(format_elements(&[], &empty, 10), Vec::<String>::new());
    }

    #[test]
    fn python_float_layout() {
        for (value, text) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (100.0, "100.0"),
            (1e15, "1000000000000000.0"),
            (1.5e15, "1500000000000000.0"),
            (1e16, "1e+16"),
            (1.25e-5, "1.25e-05"),
            (0.000123, "0.000123"),
            (1e300, "1e+300"),
            (12.375, "12.375"),
        ] {
            assert_eq!(float_text(value), text, "{value}");
        }
    }
}
