//! The events of `GET /api/events`, which open pages follow: one enum for both sides, and its
//! codec (the server encodes, the browser decodes).
//!
//! On the wire each event is a Server-Sent Event whose type is `changed` or `deleted` and
//! whose data is the JSON of an [`ArrayChange`]. The stream does not replay what happened
//! before a client connected, so the browser also raises [`LiveEvent::Connected`] itself each
//! time its `EventSource` opens; the server never sends it.

use serde::{Deserialize, Serialize};

use super::ArrayInfo;

/// The array an event is about, as it is now (or was, for a deletion):
/// `{"name","dtype","shape","etag"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ArrayChange {
    /// The array's name.
    pub name: String,
    /// Its dtype, as in the listing.
    #[cfg_attr(feature = "ssr", schema(schema_with = super::schema::dtype_schema))]
    pub dtype: serde_json::Value,
    /// Its shape.
    pub shape: Vec<u64>,
    /// Its ETag, as in the listing.
    pub etag: String,
}

impl From<ArrayInfo> for ArrayChange {
    fn from(info: ArrayInfo) -> Self {
        ArrayChange {
            name: info.name,
            dtype: info.dtype,
            shape: info.shape,
            etag: info.etag,
        }
    }
}

/// One thing that happened to the store, as a page sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// The browser's stream (re)connected: anything may have changed while it was not.
    Connected,
    /// An array was created, replaced or appended to.
    Changed(ArrayChange),
    /// An array was deleted.
    Deleted(ArrayChange),
}

/// Why an event from the stream was not understood.
#[derive(Debug, thiserror::Error)]
pub enum LiveEventError {
    /// An event type the server never sends.
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    /// Data that is not an [`ArrayChange`].
    #[error("the event data is not an array change: {0}")]
    BadData(#[from] serde_json::Error),
}

impl LiveEvent {
    /// The SSE type of [`LiveEvent::Changed`].
    pub const CHANGED: &'static str = "changed";
    /// The SSE type of [`LiveEvent::Deleted`].
    pub const DELETED: &'static str = "deleted";
    /// Every type the server sends, for a client's listeners.
    pub const SENT_TYPES: [&'static str; 2] = [LiveEvent::CHANGED, LiveEvent::DELETED];

    /// The SSE type and JSON data the server sends; `None` for [`LiveEvent::Connected`],
    /// which only the browser raises.
    pub fn to_sse(&self) -> Option<(&'static str, String)> {
        let (kind, change) = match self {
            LiveEvent::Connected => return None,
            LiveEvent::Changed(change) => (LiveEvent::CHANGED, change),
            LiveEvent::Deleted(change) => (LiveEvent::DELETED, change),
        };
        // A struct of strings, numbers and JSON values always serializes.
        let data = serde_json::to_string(change).unwrap_or_else(|_| "{}".into());
        Some((kind, data))
    }

    /// The event of an SSE message of type `kind` with `data`.
    ///
    /// # Errors
    /// [`LiveEventError`] for a type the server never sends or data that does not parse.
    pub fn from_sse(kind: &str, data: &str) -> Result<LiveEvent, LiveEventError> {
        let change = || serde_json::from_str::<ArrayChange>(data);
        match kind {
            LiveEvent::CHANGED => Ok(LiveEvent::Changed(change()?)),
            LiveEvent::DELETED => Ok(LiveEvent::Deleted(change()?)),
            other => Err(LiveEventError::UnknownType(other.to_string())),
        }
    }

    /// The array the event is about, if it is about one.
    pub fn array(&self) -> Option<&ArrayChange> {
        match self {
            LiveEvent::Connected => None,
            LiveEvent::Changed(change) | LiveEvent::Deleted(change) => Some(change),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change() -> ArrayChange {
        ArrayChange {
            name: "demo/live".into(),
            dtype: serde_json::json!([["t", "<M8[ns]"], ["x", "<f4", [3]]]),
            shape: vec![5000, 2],
            etag: "\"00ff\"".into(),
        }
    }

    #[test]
    fn events_round_trip_through_sse() {
        for event in [LiveEvent::Changed(change()), LiveEvent::Deleted(change())] {
            let (kind, data) = event.to_sse().expect("sent by the server");
            assert!(LiveEvent::SENT_TYPES.contains(&kind), "{kind}");
            assert_eq!(LiveEvent::from_sse(kind, &data).unwrap(), event);
        }
        assert_eq!(LiveEvent::Connected.to_sse(), None);
    }

    #[test]
    fn the_data_is_the_documented_json() {
        let (kind, data) = LiveEvent::Changed(change()).to_sse().unwrap();
        assert_eq!(kind, "changed");
        let json: serde_json::Value = serde_json::from_str(&data).unwrap();
        let mut keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["dtype", "etag", "name", "shape"]);
    }

    #[test]
    fn unknown_events_are_refused() {
        assert!(matches!(
            LiveEvent::from_sse("connected", "{}"),
            Err(LiveEventError::UnknownType(_))
        ));
        assert!(matches!(
            LiveEvent::from_sse("changed", "{\"name\": 3}"),
            Err(LiveEventError::BadData(_))
        ));
    }
}
