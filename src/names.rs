//! Array names: the one place that decides what an array may be called.
//!
//! A name is what clients put in URLs and what maps to a path under the data directory, so
//! it is deliberately narrow: '/'-separated segments of `[A-Za-z0-9_.-]`, no segment `.` or
//! `..` or starting with `.`, at most [`MAX_NAME_LEN`] bytes. Such a name never needs
//! percent-encoding and can never climb out of the data directory.

use std::fmt;

/// Longest accepted name, in bytes.
pub const MAX_NAME_LEN: usize = 255;
/// Longest accepted segment, in bytes: with `.npy` or `.npz` added it is still a file name
/// every common file system accepts (255 bytes).
pub const MAX_SEGMENT_LEN: usize = 251;

/// Why a string is not a valid array name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    TooLong(usize),
    /// A segment between two '/' is empty (leading, trailing or doubled '/').
    EmptySegment,
    /// A segment is `.`/`..` or starts with `.` (hidden files are never arrays).
    DotSegment(String),
    /// A character outside `[A-Za-z0-9_.-]`.
    BadChar(char),
    /// One segment is longer than [`MAX_SEGMENT_LEN`] bytes.
    SegmentTooLong(usize),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => write!(f, "the array name is empty"),
            NameError::TooLong(len) => write!(
                f,
                "the array name is {len} bytes long; the limit is {MAX_NAME_LEN}"
            ),
            NameError::EmptySegment => write!(
                f,
                "the array name has an empty segment (a leading, trailing or doubled '/')"
            ),
            NameError::DotSegment(seg) => write!(
                f,
                "the array name segment '{seg}' starts with '.', which is not allowed"
            ),
            NameError::SegmentTooLong(len) => write!(
                f,
                "a segment of the array name is {len} bytes long; the limit is {MAX_SEGMENT_LEN}"
            ),
            NameError::BadChar(c) => write!(
                f,
                "the array name contains {c:?}; only letters, digits, '_', '.', '-' and '/' are allowed"
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// Check that `name` is a valid array name.
///
/// # Errors
/// Returns the first rule the name breaks.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong(name.len()));
    }
    for segment in name.split('/') {
        validate_segment(segment)?;
    }
    Ok(())
}

/// Check one '/'-free segment of a name.
///
/// # Errors
/// As [`validate_name`].
pub fn validate_segment(segment: &str) -> Result<(), NameError> {
    if segment.is_empty() {
        return Err(NameError::EmptySegment);
    }
    if segment.starts_with('.') {
        return Err(NameError::DotSegment(segment.to_string()));
    }
    if segment.len() > MAX_SEGMENT_LEN {
        return Err(NameError::SegmentTooLong(segment.len()));
    }
    if let Some(c) = segment
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(NameError::BadChar(c));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_and_nested_names() {
        for name in ["a", "a/b", "demo/pass/t", "x.y-z_9", "A/b.c/D"] {
            assert_eq!(validate_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn rejects_each_rule() {
        let long = "a".repeat(MAX_NAME_LEN + 1);
        let cases: &[(&str, NameError)] = &[
            ("", NameError::Empty),
            (&long, NameError::TooLong(MAX_NAME_LEN + 1)),
            ("/a", NameError::EmptySegment),
            ("a/", NameError::EmptySegment),
            ("a//b", NameError::EmptySegment),
            ("..", NameError::DotSegment("..".into())),
            ("a/../b", NameError::DotSegment("..".into())),
            ("a/./b", NameError::DotSegment(".".into())),
            (".hidden", NameError::DotSegment(".hidden".into())),
            ("a b", NameError::BadChar(' ')),
            ("a\\b", NameError::BadChar('\\')),
            ("é", NameError::BadChar('é')),
            ("a%2e", NameError::BadChar('%')),
            (&long[..252], NameError::SegmentTooLong(252)),
        ];
        for (name, want) in cases {
            assert_eq!(validate_name(name).as_ref(), Err(want), "{name:?}");
        }
    }
}
