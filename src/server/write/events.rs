//! The change events of `/api/events`, bounded for every subscriber.
//!
//! Events go out on one broadcast ring of [`EVENT_BUFFER`] events, shared by every
//! subscriber: memory does not grow with slow subscribers. A subscriber that falls more
//! than that many events behind is dropped:
//!
//! - if its stream is still read, the lag shows on its next read: it gets a `dropped` event
//!   (`{"missed": N}`) and its stream ends;
//! - if its connection does not drain at all (the client stopped reading, so the stream is
//!   never read again), a sweep once a second closes that connection.
//!
//! Either way the client reconnects, and the page catches up on what it missed by comparing
//! lengths (`LiveEvent::Connected`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{broadcast, Notify};

use crate::catalog::LiveEvent;
use crate::server::serve::ConnectionClose;

/// Events a subscriber may fall behind before it is dropped (the broadcast ring's size).
pub const EVENT_BUFFER: usize = 1024;
/// How often the sweep looks for subscribers whose connections stopped draining.
const SWEEP: Duration = Duration::from_secs(1);

/// The event bus.
#[derive(Debug, Clone)]
pub struct Events {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sender: broadcast::Sender<LiveEvent>,
    /// Events sent so far.
    published: AtomicU64,
    subscribers: Mutex<Vec<Weak<Subscriber>>>,
    sweeping: AtomicBool,
    /// Set when the server shuts down: every stream ends.
    closed: AtomicBool,
    on_close: Notify,
}

/// One subscriber's standing: how far it has read, and how to end its connection.
#[derive(Debug)]
pub struct Subscriber {
    /// The count of published events it has read up to.
    read: AtomicU64,
    close: Option<ConnectionClose>,
}

/// A subscription: the receiver of events from now on, and its standing.
#[derive(Debug)]
pub struct Subscription {
    /// Every change from the moment of subscribing.
    pub receiver: broadcast::Receiver<LiveEvent>,
    standing: Arc<Subscriber>,
}

impl Subscription {
    /// Count `n` events as read (or missed).
    pub fn read(&self, n: u64) {
        self.standing.read.fetch_add(n, Ordering::Relaxed);
    }
}

impl Default for Events {
    fn default() -> Events {
        let (sender, _) = broadcast::channel(EVENT_BUFFER);
        Events {
            inner: Arc::new(Inner {
                sender,
                published: AtomicU64::new(0),
                subscribers: Mutex::default(),
                sweeping: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                on_close: Notify::new(),
            }),
        }
    }
}

impl Events {
    /// Send `event` to every subscriber (none is fine).
    pub fn emit(&self, event: LiveEvent) {
        self.inner.published.fetch_add(1, Ordering::Relaxed);
        let _ = self.inner.sender.send(event);
    }

    /// Subscribe from now on; `close` ends the subscriber's connection if it stops
    /// draining. Starts the sweep on first use (within a Tokio runtime).
    pub fn subscribe(&self, close: Option<ConnectionClose>) -> Subscription {
        let receiver = self.inner.sender.subscribe();
        let standing = Arc::new(Subscriber {
            read: AtomicU64::new(self.inner.published.load(Ordering::Relaxed)),
            close,
        });
        self.inner
            .subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::downgrade(&standing));
        if !self.inner.sweeping.swap(true, Ordering::SeqCst) {
            let inner = Arc::downgrade(&self.inner);
            tokio::spawn(async move {
                while let Some(inner) = inner.upgrade() {
                    inner.sweep();
                    drop(inner);
                    tokio::time::sleep(SWEEP).await;
                }
            });
        }
        Subscription { receiver, standing }
    }

    /// End every stream (the server is shutting down: endless streams would hold it up).
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.on_close.notify_waiters();
    }

    /// Completes once [`Events::close`] was called.
    pub async fn closed(&self) {
        let notified = self.inner.on_close.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !self.inner.closed.load(Ordering::SeqCst) {
            notified.await;
        }
    }

    /// Subscribers now.
    pub fn subscribers(&self) -> usize {
        self.inner.sweep();
        self.inner
            .subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

impl Inner {
    /// Forget ended subscriptions, and close the connections of those too far behind.
    fn sweep(&self) {
        let published = self.published.load(Ordering::Relaxed);
        let mut subscribers = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subscribers.retain(|weak| {
            let Some(subscriber) = weak.upgrade() else {
                return false;
            };
            let behind = published.saturating_sub(subscriber.read.load(Ordering::Relaxed));
            if behind <= EVENT_BUFFER as u64 {
                return true;
            }
            match &subscriber.close {
                Some(close) => {
                    tracing::info!(
                        behind,
                        "closing an /api/events subscriber that stopped reading"
                    );
                    close.close();
                    false
                }
                // Without a connection to close (a test's oneshot), its next read ends it.
                None => true,
            }
        });
    }
}
