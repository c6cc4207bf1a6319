//! Cross-origin reads and writes of the API (the Fetch standard's CORS protocol).
//!
//! Every answer may be read by a page of any origin: `Access-Control-Allow-Origin: *`, with
//! no cookies (a script authenticates with its `Authorization` header). The headers a
//! reader needs beyond the safelisted ones are exposed: [`EXPOSE_HEADERS`]. An `OPTIONS`
//! request is a preflight, answered here with the methods and request headers allowed
//! ([`ALLOW_METHODS`], [`ALLOW_HEADERS`]); the browser may keep that answer for
//! [`MAX_AGE_SECONDS`].
//!
//! Each of these lists is fixed, and none depends on the request's `Origin` or on its
//! preflight headers, so no answer varies with them and none carries `Vary` for them. Every
//! header value is a constant: a small read pays two header inserts for CORS, not a second
//! header map and a `Vary` built per response (as tower-http's general `CorsLayer` does;
//! see README.md, "Serving small arrays").

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::response::Response;
use futures_util::future::{self, Either, MapOk, Ready, TryFutureExt};
use tower::{Layer, Service};

/// Methods a page of another origin may use.
pub const ALLOW_METHODS: &str = "GET, HEAD, PUT, POST, DELETE";
/// Request headers a page of another origin may send.
pub const ALLOW_HEADERS: &str = "range, if-none-match, if-range, authorization, content-type";
/// Response headers a page of another origin may read.
pub const EXPOSE_HEADERS: &str =
    "etag, content-range, content-length, x-array-dtype, x-array-shape";
/// How long a browser may keep a preflight's answer (Chromium keeps it at most 2 hours).
pub const MAX_AGE_SECONDS: &str = "7200";

/// The layer: see the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct CorsLayer;

impl<S> Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Cors<S> {
        Cors { inner }
    }
}

/// The service of [`CorsLayer`] around `S`.
#[derive(Debug, Clone)]
pub struct Cors<S> {
    inner: S,
}

/// An answer of the inner service, with the CORS headers added.
type Exposed<F> = MapOk<F, fn(Response) -> Response>;

impl<S> Service<Request> for Cors<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, Exposed<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if request.method() == Method::OPTIONS {
            return Either::Left(future::ready(Ok(preflight())));
        }
        Either::Right(self.inner.call(request).map_ok(expose as fn(_) -> _))
    }
}

/// The headers of a preflight's answer: what a cross-origin request may do.
const PREFLIGHT_HEADERS: [(HeaderName, &str); 4] = [
    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    (header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS),
    (header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS),
    (header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_SECONDS),
];

/// The headers added to every other answer: readable from any origin.
const EXPOSE: [(HeaderName, &str); 2] = [
    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    (header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS),
];

/// The answer to a preflight (200, no body).
fn preflight() -> Response {
    with_headers(Response::default(), &PREFLIGHT_HEADERS)
}

/// `response`, readable from any origin.
fn expose(response: Response) -> Response {
    with_headers(response, &EXPOSE)
}

/// `response` with `headers` set (each value a constant: nothing is allocated).
fn with_headers(mut response: Response, headers: &[(HeaderName, &'static str)]) -> Response {
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(name.clone(), HeaderValue::from_static(value));
    }
    response
}
