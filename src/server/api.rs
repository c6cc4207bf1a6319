//! The read half of the HTTP API (the contract is documented in README.md, "The HTTP API").

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};

use crate::catalog::ArrayInfo;
use crate::names::validate_name;
use crate::server::error::ApiError;
use crate::server::repr::{self, Format, Selection, SliceSpec};
use crate::server::store::{Store, StoredArray};
use crate::server::AppState;
use crate::wire::dtype::DType;

/// Most arrays one bundle may name.
pub const MAX_BUNDLE_ARRAYS: usize = 256;

/// Routes under `/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/arrays", get(list_arrays))
        .route("/api/arrays/{*name}", get(get_array))
        .route("/api/bundle", get(get_bundle))
}

/// The listing entry of a stored array.
pub fn info_of(array: &StoredArray) -> ArrayInfo {
    ArrayInfo {
        name: array.name.clone(),
        dtype: array.header.dtype.to_json(),
        shape: array.header.shape.clone(),
        nbytes: array.data.len() as u64,
        etag: repr::etag_for(&array.etag, ""),
    }
}

async fn list_arrays(State(store): State<Store>) -> Json<serde_json::Value> {
    let arrays: Vec<ArrayInfo> = store
        .list_async()
        .await
        .iter()
        .map(|a| info_of(a))
        .collect();
    Json(serde_json::json!({ "arrays": arrays }))
}

async fn get_array(
    State(store): State<Store>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    validate_name(&name)?;
    let params = Params::parse(query.as_deref(), &["format", "slice", "dtype"])?;
    let format = match params.one("format")? {
        None | Some("npy") => Format::Npy,
        Some("raw") => Format::Raw,
        Some(other) => {
            return Err(ApiError::BadParam(format!(
                "format={other:?} is not one of npy, raw"
            )))
        }
    };
    let selection = params.selection()?;
    // Fast path: a cached, unchanged array whose representation is a zero-copy slice is
    // answered right here; reading files and reshuffling bytes go to a blocking thread.
    let rep = match store.get_cached(&name).transpose()? {
        Some(array) if repr::is_cheap(&array, format, &selection) => {
            repr::single(&array, format, &selection)?
        }
        Some(array) => blocking(move || repr::single(&array, format, &selection)).await?,
        None => {
            blocking(move || {
                let array = store.get(&name)?;
                repr::single(&array, format, &selection)
            })
            .await?
        }
    };
    repr::respond(rep, &headers)
}

async fn get_bundle(
    State(store): State<Store>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &["name", "slice", "dtype"])?;
    let names = params.all("name");
    if names.is_empty() {
        return Err(ApiError::BadParam(
            "a bundle needs at least one name= parameter".into(),
        ));
    }
    if names.len() > MAX_BUNDLE_ARRAYS {
        return Err(ApiError::BadParam(format!(
            "a bundle holds at most {MAX_BUNDLE_ARRAYS} arrays"
        )));
    }
    for (i, name) in names.iter().enumerate() {
        validate_name(name)?;
        if names[..i].contains(name) {
            return Err(ApiError::BadParam(format!("name={name} is listed twice")));
        }
    }
    let names: Vec<String> = names.into_iter().map(str::to_string).collect();
    let selection = params.selection()?;
    let rep = blocking(move || {
        let arrays = names
            .iter()
            .map(|name| store.get(name))
            .collect::<Result<Vec<Arc<StoredArray>>, _>>()?;
        repr::bundle(&arrays, &selection)
    })
    .await?;
    repr::respond(rep, &headers)
}

/// Run file access and byte shuffling off the async worker threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|err| Err(ApiError::Unprocessable(format!("internal error: {err}"))))
}

/// Query parameters, checked against the ones an endpoint knows.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: Option<&str>, known: &[&str]) -> Result<Params, ApiError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        for (key, _) in &pairs {
            if !known.contains(&key.as_str()) {
                return Err(ApiError::BadParam(format!(
                    "unknown parameter {key:?}; this endpoint takes {}",
                    known.join(", ")
                )));
            }
        }
        Ok(Params(pairs))
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn one(&self, key: &str) -> Result<Option<&str>, ApiError> {
        match self.all(key)[..] {
            [] => Ok(None),
            [value] => Ok(Some(value)),
            _ => Err(ApiError::BadParam(format!(
                "{key}= is given more than once"
            ))),
        }
    }

    fn selection(&self) -> Result<Selection, ApiError> {
        let slice = self.one("slice")?.map(SliceSpec::parse).transpose()?;
        let dtype = match self.one("dtype")? {
            None => None,
            Some(text) => match DType::parse_descr(text) {
                Ok(DType::Scalar(scalar)) => Some(scalar),
                Ok(DType::Record { .. }) => {
                    return Err(ApiError::BadParam(
                        "dtype= must be a plain dtype such as '<f4'".into(),
                    ))
                }
                Err(err) => return Err(ApiError::BadParam(format!("dtype={text:?}: {err}"))),
            },
        };
        Ok(Selection { slice, dtype })
    }
}
