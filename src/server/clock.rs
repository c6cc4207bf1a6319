//! The clocks of arrays without timestamps: a start time and a sample rate, kept for each
//! array name as a small JSON file under `DIR/.downlink/clock/` (hidden, never listed),
//! written through a temporary file and a rename so it is never torn. Deleting the array
//! deletes its clock; replacing or appending keeps it.

use std::path::PathBuf;

use crate::catalog::Clock;

/// Every array's clock.
#[derive(Debug, Clone)]
pub struct Clocks {
    dir: PathBuf,
}

/// The highest sample rate a clock may state, samples per second (1 per ps).
pub const MAX_RATE_HZ: f64 = 1e12;

impl Clocks {
    /// The clocks kept under `dir`.
    pub fn new(dir: PathBuf) -> Clocks {
        Clocks { dir }
    }

    /// The file of `name`'s clock (the name is already valid, so it stays under `dir`).
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// The clock of array `name`, if one was set (an unreadable file counts as none).
    pub fn get(&self, name: &str) -> Option<Clock> {
        let bytes = std::fs::read(self.path(name)).ok()?;
        let clock: Clock = serde_json::from_slice(&bytes).ok()?;
        valid(&clock).then_some(clock)
    }

    /// Keep `clock` for array `name`.
    ///
    /// # Errors
    /// I/O errors writing the file.
    pub fn set(&self, name: &str, clock: &Clock) -> std::io::Result<()> {
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
        std::fs::remove_file(self.path(name)).is_ok()
    }
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
