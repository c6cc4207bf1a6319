//! Answering a representation: ETag and `If-None-Match` (304), `Range` and `If-Range`
//! (206, 416), and a body made of the representation's `Bytes` parts, never copied.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::Representation;
use crate::server::error::ApiError;

/// A parsed `Range: bytes=` header: one range (multiple ranges are answered with the whole
/// representation, which RFC 9110 allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteRange {
    /// `bytes=A-B` or `bytes=A-`.
    From { first: u64, last: Option<u64> },
    /// `bytes=-N`: the last N bytes.
    Suffix(u64),
}

fn parse_range(value: &str) -> Option<ByteRange> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        return last.parse().ok().map(ByteRange::Suffix);
    }
    let first = first.parse().ok()?;
    let last = if last.is_empty() {
        None
    } else {
        Some(last.parse().ok()?)
    };
    Some(ByteRange::From { first, last })
}

/// Resolve a range against a length: the inclusive byte span, or `None` if unsatisfiable.
fn satisfy(range: ByteRange, len: u64) -> Option<(u64, u64)> {
    match range {
        ByteRange::From { first, last } => {
            if first >= len {
                return None;
            }
            let last = last.map_or(len - 1, |l| l.min(len - 1));
            (last >= first).then_some((first, last))
        }
        ByteRange::Suffix(n) => (n > 0 && len > 0).then(|| (len.saturating_sub(n), len - 1)),
    }
}

/// Whether an `If-None-Match` header value matches `etag` (weak comparison, as RFC 9110 asks).
fn none_match(value: &str, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    value
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == bare)
}

/// Answer a request for `rep`: 304 on a matching `If-None-Match`, 206/416 for a `Range`
/// (honoured only when an `If-Range` validator, if any, still matches), else 200.
///
/// # Errors
/// 416 for an unsatisfiable range.
pub fn respond(rep: Representation, request: &HeaderMap) -> Result<Response, ApiError> {
    let total: u64 = rep.parts.iter().map(|p| p.len() as u64).sum();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(rep.content_type),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(etag) = HeaderValue::from_str(&rep.etag) {
        headers.insert(header::ETAG, etag);
    }
    // Clients must revalidate, so a changed array is never served stale from a cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    for (name, value) in &rep.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name.clone(), value);
        }
    }

    if let Some(value) = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        if none_match(value, &rep.etag) {
            return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
        }
    }

    let if_range_ok = request
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == rep.etag);
    let range = request
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| if_range_ok)
        .and_then(parse_range);

    let Some(range) = range else {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
        return Ok((StatusCode::OK, headers, parts_body(rep.parts, total)).into_response());
    };
    let (first, last) = satisfy(range, total).ok_or(ApiError::RangeNotSatisfiable(total))?;
    let parts = cut(&rep.parts, first, last + 1);
    let len = last + 1 - first;
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(value) = HeaderValue::from_str(&format!("bytes {first}-{last}/{total}")) {
        headers.insert(header::CONTENT_RANGE, value);
    }
    Ok((StatusCode::PARTIAL_CONTENT, headers, parts_body(parts, len)).into_response())
}

/// The sub-slices of `parts` covering body bytes `[from, to)`, without copying.
fn cut(parts: &[Bytes], from: u64, to: u64) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut at = 0u64;
    for part in parts {
        let (start, end) = (at, at + part.len() as u64);
        at = end;
        if end <= from || start >= to {
            continue;
        }
        let lo = from.saturating_sub(start) as usize;
        let hi = (to.min(end) - start) as usize;
        out.push(part.slice(lo..hi));
    }
    out
}

fn parts_body(parts: Vec<Bytes>, len: u64) -> Body {
    Body::new(PartsBody {
        parts: parts.into_iter().filter(|p| !p.is_empty()).collect(),
        remaining: len,
    })
}

/// A body made of ready `Bytes` parts, with an exact size hint.
struct PartsBody {
    parts: VecDeque<Bytes>,
    remaining: u64,
}

impl http_body::Body for PartsBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        match self.parts.pop_front() {
            Some(part) => {
                self.remaining -= part.len() as u64;
                Poll::Ready(Some(Ok(http_body::Frame::data(part))))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_resolve() {
        assert_eq!(
            satisfy(parse_range("bytes=0-9").unwrap(), 100),
            Some((0, 9))
        );
        assert_eq!(
            satisfy(parse_range("bytes=90-").unwrap(), 100),
            Some((90, 99))
        );
        assert_eq!(
            satisfy(parse_range("bytes=-10").unwrap(), 100),
            Some((90, 99))
        );
        assert_eq!(
            satisfy(parse_range("bytes=-1000").unwrap(), 100),
            Some((0, 99))
        );
        assert_eq!(
            satisfy(parse_range("bytes=50-5000").unwrap(), 100),
            Some((50, 99))
        );
        assert_eq!(satisfy(parse_range("bytes=100-").unwrap(), 100), None);
        assert_eq!(satisfy(parse_range("bytes=9-3").unwrap(), 100), None);
        assert_eq!(satisfy(parse_range("bytes=-0").unwrap(), 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6"), None);
        assert_eq!(parse_range("items=0-1"), None);
    }

    #[test]
    fn cut_spans_parts() {
        let parts = vec![Bytes::from_static(b"abc"), Bytes::from_static(b"defg")];
        let joined = |v: Vec<Bytes>| v.concat();
        assert_eq!(joined(cut(&parts, 0, 7)), b"abcdefg");
        assert_eq!(joined(cut(&parts, 2, 5)), b"cde");
        assert_eq!(joined(cut(&parts, 3, 4)), b"d");
    }
}
