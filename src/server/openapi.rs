//! The OpenAPI 3.1 description of the HTTP API, served at `GET /api/openapi.json`.
//!
//! It is generated from the `#[utoipa::path]` annotations on the handlers in
//! [`crate::server::api`], so a route and its description live side by side; the test below
//! holds the document to the contract in README.md ("The HTTP API").

use serde::Serialize;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::catalog::{ArrayChange, ArrayInfo};
use crate::server::api::{self, clock, lod, measure, read, write, zarr};

/// What the document's `info.description` says: the contract in brief.
pub const DESCRIPTION: &str = "\
Serve NumPy arrays to browsers and scripts as raw bytes.

**Names.** '/'-separated segments of `[A-Za-z0-9_.-]`, no segment `.` or `..` or starting with \
`.`, at most 255 bytes. `DIR/a/b.npy` is the array `a/b`; member `x.npy` of `DIR/a/run.npz` is \
`a/run/x`. Names are written into the path as they are, '/' included.

**Errors.** Every error is JSON `{\"error\": \"<clear message>\"}`: 400 bad name or parameter \
(unknown query parameters and parameters given twice are 400 too), 404 no such array, \
422 malformed or unsupported array.

**Arrays.** `GET /api/arrays/{name}` answers an `.npy` document (`application/x-npy`) that \
`numpy.load` reads back with identical dtype, shape and values, or with `format=raw` the data \
bytes only (`application/octet-stream`, described by `X-Array-Dtype` and `X-Array-Shape`). \
`slice=START:STOP[:STEP]` selects along axis 0 with Python semantics; `dtype=<descr>` converts \
on the way out.

**Caching and ranges.** Every 200 carries a strong `ETag` (the listing's `etag` for a plain \
GET) and `Cache-Control: no-cache`; `If-None-Match` answers 304. A single `Range: bytes=` \
answers 206 with the exact bytes of the full representation, `If-Range` is honoured, an \
unsatisfiable range answers 416, and a multi-range request gets the whole body (200).

**Bundles and level of detail.** `GET /api/bundle` and `GET /api/lod/{name}` answer \
`application/x-downlink-bundle`: the magic `DLBUNDLE`, a u32 LE version (1), a u32 LE header \
length H, H bytes of JSON `{\"arrays\":[{\"name\",\"dtype\",\"shape\",\"offset\",\"nbytes\"}]}` \
and each array's C-order data at its offset, a multiple of 64.

**Measurements.** `GET /api/stats/{name}` answers JSON statistics of a window (count, NaN \
count, min and max with their first index, mean, RMS, std with ddof 0), exact from the samples \
in microseconds on a series of any length; `GET /api/spectrum/{name}` its Welch power spectral \
density (periodic Hann, half overlap, constant detrend, one-sided density).

**Clocks.** `PUT /api/clock/{name}` with `{\"rate_hz\": N, \"start\": ISO 8601 or ns}` gives an \
array without timestamps a start and a sample rate (its chart then reads in time, its \
spectrum in Hz); GET reads it, DELETE removes it, and deleting the array removes it too.

**Writes.** `PUT` creates or replaces, `POST` appends along axis 0 (or creates), `DELETE` \
removes; bodies are `.npy` documents. `PUT /api/bundle` (a bundle body) and a `PUT` of an \
`.npz` archive to a group name store several arrays at once, all or none. Without a configured token only loopback clients may \
write (403 otherwise); with one, writes need `Authorization: Bearer <token>` (401). `.npz` \
members are read-only (405). Every change is announced on `GET /api/events`.";

/// The document: every API route and the schemas they use.
#[derive(OpenApi)]
#[openapi(
    info(title = "Downlink", description = DESCRIPTION),
    paths(
        read::list_arrays,
        read::get_array,
        write::put_array,
        write::post_array,
        write::delete_array,
        read::get_bundle,
        write::put_bundle,
        lod::get_lod,
        lod::get_tile,
        measure::get_stats,
        measure::get_spectrum,
        clock::get_clock,
        clock::put_clock,
        clock::delete_clock,
        zarr::get_key,
        api::events,
        api::openapi_json,
    ),
    components(schemas(ErrorBody, ArrayInfo, read::ArrayList, ArrayChange, clock::ClockInfo, clock::ClockBody)),
    modifiers(&WriteToken),
    tags(
        (name = "arrays", description = "Read arrays and the listing"),
        (name = "writes", description = "Create, append to and delete arrays"),
        (name = "charts", description = "Several arrays at once, and level-of-detail envelopes"),
        (name = "meta", description = "Change events and this document"),
    )
)]
pub struct ApiDoc;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, written for people.
    pub error: String,
}

/// Bytes in a body: an `.npy` document, raw array data or a bundle.
pub struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for Binary {}

/// An array name, as the naming rules in [`crate::names`] accept it.
pub struct ArrayName;

/// [`crate::names::validate_name`] as a regular expression: '/'-separated segments of
/// `[A-Za-z0-9_.-]`, none empty or starting with '.'.
pub const NAME_PATTERN: &str = "^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$";

impl PartialSchema for ArrayName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(NAME_PATTERN))
            .min_length(Some(1))
            .max_length(Some(crate::names::MAX_NAME_LEN))
            .description(Some(
                "'/'-separated segments of [A-Za-z0-9_.-], none starting with '.', at most 255 bytes",
            ))
            .into()
    }
}

impl ToSchema for ArrayName {}

// ---- Descriptions of parameters and responses the handlers take or give as raw values.

/// The failures PUT and POST share, as the OpenAPI document describes them.
#[derive(utoipa::IntoResponses)]
#[expect(dead_code, reason = "a description of responses; never built")]
pub(crate) enum UploadFailures {
    #[response(
        status = 400,
        description = "A bad name, or the upload was interrupted"
    )]
    BadRequest(ErrorBody),
    #[response(
        status = 401,
        description = "A token is configured and the request lacks it",
        headers(("WWW-Authenticate" = String, description = "Bearer realm=\"downlink\""))
    )]
    Unauthorized(ErrorBody),
    #[response(
        status = 403,
        description = "No token is configured and the client is not on this machine"
    )]
    Forbidden(ErrorBody),
    #[response(
        status = 405,
        description = "The name is a member of an .npz group, which is read-only"
    )]
    ReadOnly(ErrorBody),
    #[response(
        status = 408,
        description = "The body stalled longer than --body-timeout; nothing was stored"
    )]
    Stalled(ErrorBody),
    #[response(status = 413, description = "The upload is over the size limit")]
    TooLarge(ErrorBody),
    #[response(
        status = 415,
        description = "The Content-Type is not application/x-npy or application/octet-stream \
            (or, for a PUT of a group, application/zip or application/x-npz)"
    )]
    UnsupportedType(ErrorBody),
    #[response(
        status = 422,
        description = "The body is not a valid .npy document (or, for a group, .npz archive)"
    )]
    NotNpy(ErrorBody),
    #[response(
        status = 500,
        description = "Storing failed; the previous version is unchanged"
    )]
    StoreFailed(ErrorBody),
}

/// The failures of a write of several arrays (`PUT /api/bundle`, an `.npz` PUT).
#[derive(utoipa::IntoResponses)]
#[expect(dead_code, reason = "a description of responses; never built")]
pub(crate) enum SetFailures {
    #[response(status = 400, description = "The upload was interrupted")]
    BadRequest(ErrorBody),
    #[response(
        status = 401,
        description = "A token is configured and the request lacks it",
        headers(("WWW-Authenticate" = String, description = "Bearer realm=\"downlink\""))
    )]
    Unauthorized(ErrorBody),
    #[response(
        status = 403,
        description = "No token is configured and the client is not on this machine"
    )]
    Forbidden(ErrorBody),
    #[response(
        status = 405,
        description = "A name is inside an .npz group, which is read-only; nothing was stored"
    )]
    ReadOnly(ErrorBody),
    #[response(
        status = 408,
        description = "The body stalled longer than --body-timeout; nothing was stored"
    )]
    Stalled(ErrorBody),
    #[response(
        status = 413,
        description = "The body, or an .npz's inflated members, over the size limit; nothing was stored"
    )]
    TooLarge(ErrorBody),
    #[response(
        status = 415,
        description = "The Content-Type is not application/x-downlink-bundle"
    )]
    UnsupportedType(ErrorBody),
    #[response(
        status = 422,
        description = "A malformed body, a bad name in it, or an array that cannot be stored; nothing was stored"
    )]
    Malformed(ErrorBody),
    #[response(
        status = 500,
        description = "Storing failed; the stored arrays are unchanged"
    )]
    StoreFailed(ErrorBody),
}

/// The `name` path parameter of every per-array route.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(
    dead_code,
    reason = "read by the OpenAPI description only; handlers take `Path<String>`"
)]
pub(crate) struct NameParam {
    /// The array's name. It may contain '/' (e.g. `demo/pass/t`): write it into the path as it is.
    #[param(inline, example = "demo/pass/t")]
    name: ArrayName,
}

/// The format of `GET /api/arrays/{name}`.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(
    dead_code,
    reason = "read by the OpenAPI description only; see `read::get_array`"
)]
pub(crate) enum ArrayFormat {
    Npy,
    Raw,
}

/// `slice` and `dtype`, which every array read takes.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "read by the OpenAPI description only; see `Params::selection`"
)]
pub(crate) struct SelectionParams {
    /// START:STOP[:STEP] along axis 0, with Python semantics (negatives, omitted parts).
    #[param(example = "0:100")]
    slice: Option<String>,
    /// Convert on the way out to this NumPy descr (e.g. <f4; >f8 flips the byte order).
    #[param(example = "<f4")]
    dtype: Option<String>,
}

/// The conditional and range headers every array read honours.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(
    dead_code,
    reason = "read by the OpenAPI description only; see `repr::respond`"
)]
pub(crate) struct RangeHeaders {
    /// One range (bytes=A-B, A-, -N) answers 206; a multi-range request gets the whole body.
    #[param(rename = "Range", required = false)]
    range: String,
    /// An ETag seen before: 304 when it still matches.
    #[param(rename = "If-None-Match", required = false)]
    if_none_match: String,
    /// Honour Range only while the representation still has this ETag.
    #[param(rename = "If-Range", required = false)]
    if_range: String,
}

/// The optional bearer token of writes (`DOWNLINK_WRITE_TOKEN`).
struct WriteToken;

impl Modify for WriteToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "write_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Needed for writes when the server has DOWNLINK_WRITE_TOKEN set; \
                         without one, writes are accepted from loopback clients only",
                    ))
                    .build(),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Every route of the contract, its methods and the statuses each may answer.
    const CONTRACT: &[(&str, &str, &[u16])] = &[
        ("/api/arrays", "get", &[200, 502]),
        (
            "/api/arrays/{name}",
            "get",
            &[200, 206, 304, 400, 404, 416, 422, 502, 503],
        ),
        (
            "/api/arrays/{name}",
            "put",
            &[200, 201, 400, 401, 403, 405, 408, 409, 413, 415, 422, 500],
        ),
        (
            "/api/arrays/{name}",
            "post",
            &[200, 201, 400, 401, 403, 405, 408, 409, 413, 415, 422, 500],
        ),
        (
            "/api/arrays/{name}",
            "delete",
            &[204, 400, 401, 403, 404, 405, 500],
        ),
        (
            "/api/bundle",
            "get",
            &[200, 206, 304, 400, 404, 416, 422, 502, 503],
        ),
        (
            "/api/bundle",
            "put",
            &[200, 400, 401, 403, 405, 408, 409, 413, 415, 422, 500],
        ),
        (
            "/api/lod/{name}",
            "get",
            &[200, 206, 304, 400, 404, 416, 422, 502, 503],
        ),
        (
            "/api/tiles/{name}",
            "get",
            &[200, 206, 304, 400, 404, 410, 416, 422, 502, 503],
        ),
        (
            "/api/stats/{name}",
            "get",
            &[200, 206, 304, 400, 404, 416, 422, 502, 503],
        ),
        (
            "/api/spectrum/{name}",
            "get",
            &[200, 206, 304, 400, 404, 416, 422, 502, 503],
        ),
        ("/api/clock/{name}", "get", &[200, 400, 404]),
        (
            "/api/clock/{name}",
            "put",
            &[200, 400, 401, 403, 404, 413, 500],
        ),
        ("/api/clock/{name}", "delete", &[204, 400, 401, 403, 404]),
        ("/zarr/{key}", "get", &[200, 206, 304, 404, 416, 422, 502]),
        ("/api/events", "get", &[200]),
        ("/api/openapi.json", "get", &[200]),
    ];

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).expect("the document serializes")
    }

    #[test]
    fn every_route_method_and_status_of_the_contract_is_documented() {
        let doc = document();
        for (path, method, statuses) in CONTRACT {
            let operation = &doc["paths"][path][method];
            assert!(operation.is_object(), "{method} {path} is not documented");
            let documented: Vec<u16> = operation["responses"]
                .as_object()
                .map(|r| r.keys().filter_map(|k| k.parse().ok()).collect())
                .unwrap_or_default();
            for status in *statuses {
                assert!(
                    documented.contains(status),
                    "{method} {path}: status {status} is not documented (has {documented:?})"
                );
            }
            for status in &documented {
                assert!(
                    statuses.contains(status),
                    "{method} {path}: status {status} is documented but not in the contract"
                );
            }
        }
        let routes: usize = doc["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .values()
                    .map(|p| p.as_object().map_or(0, |m| m.len()))
                    .sum()
            })
            .unwrap_or(0);
        assert_eq!(routes, CONTRACT.len(), "an operation outside the contract");
    }

    #[test]
    fn errors_are_json_error_bodies() {
        let doc = document();
        for (path, method, statuses) in CONTRACT {
            for status in statuses.iter().filter(|s| **s >= 400) {
                let schema = &doc["paths"][path][method]["responses"][status.to_string()]
                    ["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
        let body = &doc["components"]["schemas"]["ErrorBody"];
        assert_eq!(body["required"], serde_json::json!(["error"]));
        assert_eq!(body["properties"]["error"]["type"], "string");
    }

    #[test]
    fn array_names_are_one_path_parameter_that_may_hold_slashes() {
        let doc = document();
        for (path, method, _) in CONTRACT.iter().filter(|(p, ..)| p.ends_with("{name}")) {
            let params = doc["paths"][path][method]["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let name = params
                .iter()
                .find(|p| p["name"] == "name" && p["in"] == "path")
                .unwrap_or_else(|| panic!("{method} {path} has no path parameter 'name'"));
            let description = name["description"].as_str().unwrap_or("");
            assert!(
                description.contains("'/'"),
                "{method} {path}: {description}"
            );
        }
    }

    #[test]
    fn a_listed_dtype_is_a_string_or_a_list_of_fields() {
        let doc = document();
        let dtype = &doc["components"]["schemas"]["ArrayInfo"]["properties"]["dtype"];
        let kinds: Vec<&Value> = dtype["oneOf"]
            .as_array()
            .map(|items| items.iter().map(|item| &item["type"]).collect())
            .unwrap_or_default();
        assert_eq!(kinds, ["string", "array"], "{dtype}");
    }

    #[test]
    fn documented_limits_are_the_servers() {
        let doc = document();
        let schema = |path: &str, name: &str| {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .and_then(|params| params.iter().find(|p| p["name"] == name))
                .map(|param| param["schema"].clone())
                .unwrap_or_else(|| panic!("GET {path} has no parameter {name}"))
        };
        let limits = [
            (
                schema("/api/lod/{name}", "bins")["maximum"].as_u64(),
                crate::lod::MAX_BINS as u64,
                "bins",
            ),
            (
                schema("/api/bundle", "name")["maxItems"].as_u64(),
                api::MAX_BUNDLE_ARRAYS as u64,
                "bundle names",
            ),
            (
                schema("/api/arrays/{name}", "name")["maxLength"].as_u64(),
                crate::names::MAX_NAME_LEN as u64,
                "name length",
            ),
        ];
        for (documented, served, what) in limits {
            assert_eq!(documented, Some(served), "{what}");
        }
    }

    /// GET `uri` through the API routes over an empty data directory: status and JSON body.
    async fn get_json(uri: &str) -> (u16, Value) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;

        let dir = tempfile::tempdir().expect("a temporary directory");
        let state = crate::server::AppState::new(
            leptos::prelude::LeptosOptions::builder()
                .output_name("downlink")
                .build(),
            dir.path(),
            crate::server::write::WriteConfig::default(),
        );
        let request = axum::http::Request::get(uri)
            .body(axum::body::Body::empty())
            .expect("a request");
        let response = api::routes()
            .with_state(state)
            .oneshot(request)
            .await
            .expect("a response");
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        (status, serde_json::from_slice(&body).expect("a JSON body"))
    }

    #[tokio::test]
    async fn the_document_is_served() {
        assert_eq!(get_json("/api/openapi.json").await, (200, document()));
    }

    #[tokio::test]
    async fn an_error_is_an_error_body() {
        for (uri, want) in [
            ("/api/arrays/missing", 404),
            ("/api/arrays/.hidden", 400),
            ("/api/bundle", 400),
        ] {
            let (status, body) = get_json(uri).await;
            assert_eq!(status, want, "{uri}");
            let fields: Vec<&String> = body
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            assert_eq!(fields, ["error"], "{uri}: {body}");
            assert!(body["error"].is_string(), "{uri}: {body}");
        }
    }
}
