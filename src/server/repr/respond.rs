//! Answering a representation: ETag and `If-None-Match` (304), `Range` and `If-Range`
//! (206, 416), and a body made of the representation's parts: slices of the map sent as
//! they are, derived data computed one chunk at a time as the socket takes it (a `Range`
//! computes only its bytes).

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;

use super::{Part, Representation, CHUNK};
use crate::server::error::ApiError;
use crate::server::limits::Heavy;

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
    respond_holding(rep, request, ())
}

/// [`respond`], with `hold` kept alive until the body has been sent or dropped (an
/// admission permit, for example).
///
/// # Errors
/// 416 for an unsatisfiable range.
pub fn respond_holding<H: Send + Sync + Unpin + 'static>(
    rep: Representation,
    request: &HeaderMap,
    hold: H,
) -> Result<Response, ApiError> {
    let total: u64 = rep.parts.iter().map(Part::len).sum();
    // Room for every header of the answer, CORS's included: a map that grows on the way
    // rehashes, and one handed to axum as a response part is copied header by header.
    let mut headers = HeaderMap::with_capacity(ANSWER_HEADERS);
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
            return Ok(answer(StatusCode::NOT_MODIFIED, headers, Body::empty()));
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
        return Ok(answer(
            StatusCode::OK,
            headers,
            parts_body(rep.parts, total, hold),
        ));
    };
    let (first, last) = satisfy(range, total).ok_or(ApiError::RangeNotSatisfiable(total))?;
    let parts = cut(&rep.parts, first, last + 1);
    let len = last + 1 - first;
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(value) = HeaderValue::from_str(&format!("bytes {first}-{last}/{total}")) {
        headers.insert(header::CONTENT_RANGE, value);
    }
    Ok(answer(
        StatusCode::PARTIAL_CONTENT,
        headers,
        parts_body(parts, len, hold),
    ))
}

/// Headers a representation's answer may carry: content type, ranges, ETag, cache
/// control, two of the representation's own, length or range, and the two of CORS.
const ANSWER_HEADERS: usize = 12;

/// A response of `status` with `headers` (taken as they are) and `body`.
fn answer(status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// [`respond`] within the pool of heavy work: a representation that computes its bytes
/// (and is not answered 304) waits for a permit, which its body holds until sent.
///
/// # Errors
/// 503 ([`ApiError::Busy`]) when no permit came free in time, 416 for a bad range.
pub async fn respond_within(
    rep: Representation,
    request: &HeaderMap,
    heavy: &Heavy,
) -> Result<Response, ApiError> {
    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| none_match(v, &rep.etag));
    if !rep.computes() || not_modified {
        return respond(rep, request);
    }
    let permit = heavy
        .admit("a representation computed as it is sent: a conversion, a strided slice or a reordering")
        .await?;
    respond_holding(rep, request, permit)
}

/// The sub-parts of `parts` covering body bytes `[from, to)`, without copying or computing.
fn cut(parts: &[Part], from: u64, to: u64) -> Vec<Part> {
    let mut out = Vec::new();
    let mut at = 0u64;
    for part in parts {
        let (start, end) = (at, at + part.len());
        at = end;
        if end <= from || start >= to {
            continue;
        }
        let lo = from.saturating_sub(start);
        let hi = to.min(end) - start;
        out.push(part.slice(lo, hi));
    }
    out
}

fn parts_body<H: Send + Sync + Unpin + 'static>(parts: Vec<Part>, len: u64, hold: H) -> Body {
    let parts: Vec<Part> = parts.into_iter().filter(|p| !p.is_empty()).collect();
    // Several ranges of objects in a bucket (a bundle's members): their GETs start at once,
    // up to FETCH_AHEAD of them, each into a small channel that the body drains in order.
    let remote = parts
        .iter()
        .filter(|p| matches!(p, Part::Remote { .. }))
        .count();
    let mut ahead = if remote > 1 { FETCH_AHEAD } else { 0 };
    let pieces = parts
        .into_iter()
        .map(|part| match part {
            Part::Remote {
                fetcher, from, to, ..
            } if ahead > 0 => {
                ahead -= 1;
                Piece::Fetching(fetched_ahead(fetcher.stream(from, to)), to - from)
            }
            part => Piece::Part(part),
        })
        .collect();
    Body::new(PartsBody {
        parts: pieces,
        remaining: len,
        takes_turns: len > TAKES_TURNS_ABOVE,
        yield_next: false,
        yielding: None,
        streaming: None,
        _hold: hold,
    })
}

/// Range GETs of one body started at once (see [`parts_body`]).
const FETCH_AHEAD: usize = 8;

/// Chunks of a range GET fetched ahead and held until the body sends them.
const CHUNKS_AHEAD: usize = 4;

/// What is left of a body: a part, or the range GET of a remote part already under way.
enum Piece {
    Part(Part),
    Fetching(Remote, u64),
}

/// `stream`, polled by a task of its own into a channel of [`CHUNKS_AHEAD`] chunks (so its
/// request is sent now, not when the body reaches it); the task ends when the body drops.
fn fetched_ahead(mut stream: Remote) -> Remote {
    use futures_util::StreamExt;
    let (tx, rx) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
    tokio::spawn(async move {
        while let Some(chunk) = stream.next().await {
            if tx.send(chunk).await.is_err() {
                break;
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    })
    .boxed()
}

/// Bodies longer than this take turns (see [`PartsBody`]).
pub const TAKES_TURNS_ABOVE: u64 = 16 << 20;

/// A body made of parts, with an exact size hint, sent in frames of at most [`CHUNK`] bytes:
/// slices of the map cut without copying, derived data computed when the connection asks
/// for it (so a slow client holds one chunk, not the representation).
///
/// A body over [`TAKES_TURNS_ABOVE`] bytes hands its connection back to the scheduler after
/// each frame (as `tokio::task::yield_now`, which queues the task behind every other ready
/// one), so a connection streaming a big body to a fast reader takes turns with every other
/// connection a MiB at a time, while smaller bodies go out in one go: the shortest jobs
/// first, as web servers that care for latency schedule. Without it, one poll of such a
/// connection writes for as long as the socket takes bytes, and a listing queued behind a
/// few of them waits hundreds of milliseconds (`benches/load.py`).
struct PartsBody<H> {
    parts: VecDeque<Piece>,
    remaining: u64,
    /// Whether the body is long enough to take turns with other connections.
    takes_turns: bool,
    /// Whether the next poll yields to the scheduler first.
    yield_next: bool,
    /// The yield under way.
    yielding: Option<Pin<Box<dyn std::future::Future<Output = ()> + Send + Sync>>>,
    /// The range GET of a [`Part::Remote`] under way, and how many bytes it still owes.
    streaming: Option<(Remote, u64)>,
    /// Kept until the body is sent or dropped.
    _hold: H,
}

/// The bytes of a range GET as they arrive.
type Remote = futures_util::stream::BoxStream<'static, std::io::Result<Bytes>>;

impl<H: Unpin> http_body::Body for PartsBody<H> {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.yield_next && !this.parts.is_empty() {
            this.yield_next = false;
            this.yielding = Some(Box::pin(tokio::task::yield_now()));
        }
        if let Some(yielding) = this.yielding.as_mut() {
            if yielding.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.yielding = None;
        }
        if let Some((stream, owed)) = this.streaming.as_mut() {
            use futures_util::StreamExt;
            let frame = match stream.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(bytes))) if bytes.len() as u64 <= *owed => bytes,
                Poll::Ready(Some(Err(err))) => return Poll::Ready(Some(Err(err))),
                Poll::Ready(Some(Ok(_))) | Poll::Ready(None) if *owed > 0 => {
                    // The store sent more or fewer bytes than the range: the object changed.
                    this.streaming = None;
                    return Poll::Ready(Some(Err(std::io::Error::other(
                        "the object's bytes did not match its range",
                    ))));
                }
                Poll::Ready(_) => {
                    this.streaming = None;
                    return Pin::new(this).poll_frame(cx);
                }
            };
            *owed -= frame.len() as u64;
            this.remaining -= frame.len() as u64;
            this.yield_next = this.takes_turns;
            return Poll::Ready(Some(Ok(http_body::Frame::data(frame))));
        }
        let frame = match this.parts.pop_front() {
            None => return Poll::Ready(None),
            Some(Piece::Fetching(stream, len)) => {
                this.streaming = Some((stream, len));
                return Pin::new(this).poll_frame(cx);
            }
            Some(Piece::Part(Part::Remote {
                fetcher, from, to, ..
            })) => {
                this.streaming = Some((fetcher.stream(from, to), to - from));
                return Pin::new(this).poll_frame(cx);
            }
            Some(Piece::Part(Part::Bytes(mut bytes))) => {
                if bytes.len() > CHUNK {
                    let rest = bytes.split_off(CHUNK);
                    this.parts.push_front(Piece::Part(Part::Bytes(rest)));
                }
                bytes
            }
            Some(Piece::Part(Part::Derived { data, from, to })) => {
                let end = to.min(from + CHUNK as u64);
                if end < to {
                    this.parts.push_front(Piece::Part(Part::Derived {
                        data: std::sync::Arc::clone(&data),
                        from: end,
                        to,
                    }));
                }
                data.bytes(from, end)
            }
        };
        this.remaining -= frame.len() as u64;
        this.yield_next = this.takes_turns;
        Poll::Ready(Some(Ok(http_body::Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty() && self.streaming.is_none()
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
        let parts = vec![
            Part::Bytes(Bytes::from_static(b"abc")),
            Part::Bytes(Bytes::from_static(b"defg")),
        ];
        let joined = |v: Vec<Part>| {
            v.iter()
                .map(|p| p.to_bytes().unwrap())
                .collect::<Vec<_>>()
                .concat()
        };
        assert_eq!(joined(cut(&parts, 0, 7)), b"abcdefg");
        assert_eq!(joined(cut(&parts, 2, 5)), b"cde");
        assert_eq!(joined(cut(&parts, 3, 4)), b"d");
    }
}
