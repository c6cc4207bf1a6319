//! The JSON spelling of a dtype: `"<f4"`, or for a record a list of `[name, descr]` and
//! `[name, descr, shape]` items that `numpy.lib.format.descr_to_dtype` accepts.

use super::parse::MAX_RECORD_DEPTH;
use super::DType;
use crate::wire::pyliteral::PyValue;
use crate::wire::WireError;

impl DType {
    /// JSON form: `"<f4"`, or `[["x","<f4"],["y","<i2",[3]]]` for records.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            DType::Scalar(scalar) => Value::String(scalar.descr()),
            DType::Record { fields, .. } => Value::Array(
                fields
                    .iter()
                    .map(|field| {
                        let mut entry =
                            vec![Value::String(field.name.clone()), field.dtype.to_json()];
                        if !field.shape.is_empty() {
                            entry.push(Value::Array(
                                field.shape.iter().map(|&d| Value::from(d)).collect(),
                            ));
                        }
                        Value::Array(entry)
                    })
                    .collect(),
            ),
        }
    }

    /// Inverse of [`DType::to_json`]; also accepts anything `from_descr_value` would.
    ///
    /// # Errors
    /// As [`DType::from_descr_value`], plus [`WireError::BadDescr`] for JSON that is not a
    /// string, a list, or a non-negative integer inside a shape.
    pub fn from_json(value: &serde_json::Value) -> Result<DType, WireError> {
        DType::from_descr_value(&json_to_py(value, 0)?)
    }
}

fn json_to_py(value: &serde_json::Value, depth: usize) -> Result<PyValue, WireError> {
    use serde_json::Value;
    let bad = |reason| WireError::BadDescr {
        descr: {
            let text = value.to_string();
            if text.len() > 80 {
                format!("{}...", text.chars().take(80).collect::<String>())
            } else {
                text
            }
        },
        reason,
    };
    if depth > 2 * MAX_RECORD_DEPTH + 2 {
        return Err(bad("records nest too deeply"));
    }
    Ok(match value {
        Value::String(s) => PyValue::Str(s.clone()),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => PyValue::Int(i128::from(u)),
            (None, Some(i)) => PyValue::Int(i128::from(i)),
            _ => return Err(bad("dimensions must be integers")),
        },
        Value::Array(items) => PyValue::List(
            items
                .iter()
                .map(|item| json_to_py(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Bool(_) | Value::Null | Value::Object(_) => {
            return Err(bad("a JSON dtype must be a string or a list of fields"))
        }
    })
}
