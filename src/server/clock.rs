//! The clocks of arrays without timestamps: a start time and a sample rate, kept for each
//! array name as a small JSON file under `DIR/.downlink/clock/` (hidden, never listed),
//! written through a temporary file and a rename so it is never torn. Deleting the array
//! deletes its clock; replacing or appending keeps it.
//!
//! With a bucket as the data source the files are objects under `PREFIX/.downlink/clock/`,
//! shared by every replica: one replica's change is seen by the others within
//! [`RECHECK`] (each replica keeps what it read that long). Every method then blocks on
//! the network: call them from a blocking task.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::catalog::Clock;
use crate::server::store::remote::{Bucket, RECHECK};

/// What a replica last read of each clock in a bucket, and when.
type Seen = HashMap<String, (Option<Clock>, Instant)>;

/// Every array's clock.
#[derive(Debug, Clone)]
pub struct Clocks {
    dir: PathBuf,
    /// With a bucket: where the clocks are, and what was last read of each, when.
    shared: Option<(Arc<Bucket>, Arc<Mutex<Seen>>)>,
}

/// The highest sample rate a clock may state, samples per second (1 per ps).
pub const MAX_RATE_HZ: f64 = 1e12;

impl Clocks {
    /// The clocks kept under `dir`.
    pub fn new(dir: PathBuf) -> Clocks {
        Clocks { dir, shared: None }
    }

    /// The clocks kept in `bucket` (see the module docs).
    pub fn in_bucket(dir: PathBuf, bucket: Arc<Bucket>) -> Clocks {
        Clocks {
            dir,
            shared: Some((bucket, Arc::default())),
        }
    }

    /// The key of `name`'s clock in a bucket.
    fn key(name: &str) -> String {
        format!(".downlink/clock/{name}.json")
    }

    fn remember(&self, name: &str, clock: Option<Clock>) {
        if let Some((_, seen)) = &self.shared {
            seen.lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .insert(name.to_string(), (clock, Instant::now()));
        }
    }

    /// The file of `name`'s clock (the name is already valid, so it stays under `dir`).
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// The clock of array `name`, if one was set (an unreadable file counts as none).
    pub fn get(&self, name: &str) -> Option<Clock> {
        let Some((bucket, seen)) = &self.shared else {
            return parse(&std::fs::read(self.path(name)).ok()?);
        };
        let fresh = seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(name)
            .filter(|(_, read)| read.elapsed() < RECHECK)
            .map(|(clock, _)| *clock);
        if let Some(clock) = fresh {
            return clock;
        }
        let clock = match bucket.head(&Clocks::key(name)) {
            Ok(Some(object)) => bucket.read_whole(&object).ok().and_then(|b| parse(&b)),
            Ok(None) => None,
            Err(err) => {
                tracing::warn!("cannot read a clock: {err}");
                return None;
            }
        };
        self.remember(name, clock);
        clock
    }

    /// Keep `clock` for array `name`.
    ///
    /// # Errors
    /// I/O errors writing the file.
    pub fn set(&self, name: &str, clock: &Clock) -> std::io::Result<()> {
        if let Some((bucket, _)) = &self.shared {
            let body = serde_json::to_vec(clock).map_err(std::io::Error::other)?;
            bucket
                .put_bytes(&Clocks::key(name), body)
                .map_err(std::io::Error::other)?;
            self.remember(name, Some(*clock));
            return Ok(());
        }
        let path = self.path(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(clock).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(tmp, path)
    }

    /// Forget the clock of `name`; whether there was one.
    pub fn remove(&self, name: &str) -> bool {
        let Some((bucket, _)) = &self.shared else {
            return std::fs::remove_file(self.path(name)).is_ok();
        };
        let key = Clocks::key(name);
        let found = bucket.head(&key).is_ok_and(|o| o.is_some());
        let removed = found && bucket.delete(&key).is_ok();
        self.remember(name, None);
        removed
    }
}

/// A clock file's content, if it is a valid clock (an unreadable one counts as none).
fn parse(bytes: &[u8]) -> Option<Clock> {
    let clock: Clock = serde_json::from_slice(bytes).ok()?;
    valid(&clock).then_some(clock)
}

/// Whether a clock can be used: a finite positive rate up to [`MAX_RATE_HZ`].
pub fn valid(clock: &Clock) -> bool {
    clock.rate_hz.is_finite() && clock.rate_hz > 0.0 && clock.rate_hz <= MAX_RATE_HZ
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_round_trip_and_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let clocks = Clocks::new(dir.path().join("clock"));
        assert_eq!(clocks.get("demo/vibration"), None);
        let clock = Clock {
            start_ns: 1_773_446_400_000_000_000,
            rate_hz: 25_600.0,
        };
        clocks.set("demo/vibration", &clock).unwrap();
        assert_eq!(clocks.get("demo/vibration"), Some(clock));
        assert_eq!(clock.ns_of(25_600), clock.start_ns + 1_000_000_000);
        // A damaged file is no clock.
        std::fs::write(dir.path().join("clock/demo/vibration.json"), b"{").unwrap();
        assert_eq!(clocks.get("demo/vibration"), None);
        assert!(clocks.remove("demo/vibration"));
        assert!(!clocks.remove("demo/vibration"));
        assert!(!valid(&Clock {
            start_ns: 0,
            rate_hz: 0.0
        }));
        assert!(!valid(&Clock {
            start_ns: 0,
            rate_hz: f64::INFINITY
        }));
    }
}
