//! How much the server takes on at once, and how long it waits for a client: the flags
//! (documented in README.md, "Limits"), and the bounded pool of heavy work.
//!
//! Heavy work is what costs CPU in proportion to the data: a read that computes its bytes
//! (a dtype conversion, a strided slice, a Fortran-order reordering), a level-of-detail
//! scan of a wide window before the array's pyramid exists, and the pyramid and timestamp
//! builds themselves. It shares one [`Heavy`] pool of permits. A request past it waits for
//! a permit up to [`Limits::heavy_wait_ms`], then gets 503 with `Retry-After`; a build waits
//! as long as it takes. Everything else (listing, zero-copy reads, answers from a pyramid)
//! never waits for a permit, so heavy requests cannot starve it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::server::store::DEFAULT_DECODE_CACHE_MAX;

/// Most connections served at once by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// The limits, as flags of the `downlink` binary.
#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// Seconds a client has to send a request's whole header, counted from when its
    /// connection opens or goes idle after a response (so also the idle keep-alive timeout).
    #[arg(long, env = "DOWNLINK_HEADER_TIMEOUT", default_value_t = 10.0)]
    pub header_timeout: f64,
    /// Seconds an upload's body may stall (no bytes arriving) before the upload is
    /// abandoned with 408 and nothing stored.
    #[arg(long, env = "DOWNLINK_BODY_TIMEOUT", default_value_t = 30.0)]
    pub body_timeout: f64,
    /// Most connections served at once; past it, new connections wait in the listen queue
    /// until one closes.
    #[arg(long, env = "DOWNLINK_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Heavy requests and builds running at once (default: the number of cores).
    #[arg(long, env = "DOWNLINK_HEAVY")]
    pub heavy: Option<usize>,
    /// Milliseconds a heavy request waits for its turn before it is answered 503.
    #[arg(long, env = "DOWNLINK_HEAVY_WAIT_MS", default_value_t = 2000)]
    pub heavy_wait_ms: u64,
    /// Bytes of disk the decoded Zarr arrays (`DIR/.downlink/zarr/`) and, with `s3://`, the
    /// blocks fetched from the bucket may take in all; past it, the least recently used
    /// stores and objects are dropped and decoded or fetched again when next read.
    #[arg(long, env = "DOWNLINK_DECODE_CACHE_MAX", default_value_t = DEFAULT_DECODE_CACHE_MAX)]
    pub decode_cache_max: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: 10.0,
            body_timeout: 30.0,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            heavy: None,
            heavy_wait_ms: 2000,
            decode_cache_max: DEFAULT_DECODE_CACHE_MAX,
        }
    }
}

impl Limits {
    /// The header read (and idle keep-alive) timeout.
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.header_timeout.max(0.001))
    }

    /// The longest stall of an upload's body.
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.body_timeout.max(0.001))
    }

    /// The pool of heavy work these limits describe.
    pub fn heavy_pool(&self) -> Heavy {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Heavy::new(
            self.heavy.unwrap_or(cores).max(1),
            Duration::from_millis(self.heavy_wait_ms),
        )
    }
}

/// Heavy work refused because every permit stayed taken for the whole wait: a 503.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the server is busy with other heavy work ({what}); retry in a moment")]
pub struct Busy {
    /// What was refused, for the message.
    pub what: String,
}

/// The bounded pool of heavy work (see the module docs).
#[derive(Debug, Clone)]
pub struct Heavy {
    permits: Arc<Semaphore>,
    size: usize,
    wait: Duration,
}

impl Default for Heavy {
    fn default() -> Heavy {
        Limits::default().heavy_pool()
    }
}

/// How often a blocking thread looks for a free permit.
const POLL: Duration = Duration::from_millis(2);

impl Heavy {
    /// A pool of `size` permits; a request waits at most `wait` for one.
    pub fn new(size: usize, wait: Duration) -> Heavy {
        Heavy {
            permits: Arc::new(Semaphore::new(size)),
            size,
            wait,
        }
    }

    /// Permits in the pool.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Permits taken now.
    pub fn in_use(&self) -> usize {
        self.size - self.permits.available_permits()
    }

    /// A permit for the request doing `what`, waiting up to the pool's wait.
    ///
    /// # Errors
    /// [`Busy`] when none came free in time.
    pub async fn admit(&self, what: &str) -> Result<OwnedSemaphorePermit, Busy> {
        let permits = Arc::clone(&self.permits);
        match tokio::time::timeout(self.wait, permits.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Busy { what: what.into() }),
        }
    }

    /// [`Heavy::admit`] from a blocking thread.
    ///
    /// # Errors
    /// [`Busy`] when none came free in time.
    pub fn admit_blocking(&self, what: &str) -> Result<OwnedSemaphorePermit, Busy> {
        let deadline = Instant::now() + self.wait;
        loop {
            if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
                return Ok(permit);
            }
            if Instant::now() >= deadline {
                return Err(Busy { what: what.into() });
            }
            std::thread::sleep(POLL);
        }
    }

    /// A permit for a background build, from a blocking thread: it waits as long as it
    /// takes (builds are queued, never refused).
    pub fn queue_blocking(&self) -> OwnedSemaphorePermit {
        loop {
            if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
                return permit;
            }
            std::thread::sleep(POLL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_pool_refuses_after_its_wait_and_admits_once_freed() {
        let pool = Heavy::new(1, Duration::from_millis(30));
        let held = pool.admit("first").await.unwrap();
        assert_eq!(pool.in_use(), 1);
        let started = Instant::now();
        let refused = pool.admit("second").await.unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(refused.to_string().contains("second"));
        let blocking = pool.clone();
        let refused = tokio::task::spawn_blocking(move || blocking.admit_blocking("third"))
            .await
            .unwrap();
        assert!(refused.is_err());
        drop(held);
        assert!(pool.admit("fourth").await.is_ok());
        let blocking = pool.clone();
        let queued = tokio::task::spawn_blocking(move || blocking.queue_blocking());
        assert!(queued.await.is_ok());
    }
}
