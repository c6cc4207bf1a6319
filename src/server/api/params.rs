//! Query parameters, checked against the ones an endpoint knows: an unknown or repeated
//! parameter is a 400, so a typo never silently means "everything".

use crate::server::error::ApiError;
use crate::server::repr::{Selection, SliceSpec};
use crate::wire::dtype::DType;

/// The decoded query of one request.
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    /// Decode `query`, refusing any key not in `known`.
    pub(super) fn parse(query: Option<&str>, known: &[&str]) -> Result<Params, ApiError> {
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

    /// Every value of `key`, in order.
    pub(super) fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of `key`, which may be given at most once.
    pub(super) fn one(&self, key: &str) -> Result<Option<&str>, ApiError> {
        match self.all(key)[..] {
            [] => Ok(None),
            [value] => Ok(Some(value)),
            _ => Err(ApiError::BadParam(format!(
                "{key}= is given more than once"
            ))),
        }
    }

    /// The value of `key` as a non-negative integer.
    pub(super) fn integer(&self, key: &str) -> Result<Option<u64>, ApiError> {
        self.one(key)?
            .map(|text| {
                text.parse::<u64>().map_err(|_| {
                    ApiError::BadParam(format!("{key}={text:?} is not a non-negative integer"))
                })
            })
            .transpose()
    }

    /// The value of `key` as an instant in ns since the Unix epoch: an integer, or ISO 8601
    /// ([`crate::chart::parse_time_ns`]).
    pub(super) fn instant(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.one(key)?
            .map(|text| {
                text.parse::<i64>()
                    .ok()
                    .or_else(|| crate::chart::parse_time_ns(text))
                    .ok_or_else(|| {
                        ApiError::BadParam(format!(
                            "{key}={text:?} is not an instant: integer ns since the Unix epoch, or ISO 8601 such as 2026-03-14T09:26:53.020Z"
                        ))
                    })
            })
            .transpose()
    }

    /// `slice=` and `dtype=`, which every array read takes.
    pub(super) fn selection(&self) -> Result<Selection, ApiError> {
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
