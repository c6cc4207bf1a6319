//! Accepting and serving connections within limits (README.md, "Limits"):
//!
//! - at most [`Limits::max_connections`] at once: past it the loop stops accepting, so new
//!   connections wait in the kernel's listen queue, and the ones in progress keep working;
//! - hyper's header read timeout (with a timer), which starts when a connection opens and
//!   again each time it goes idle after a response: a half-sent header, and an idle
//!   keep-alive connection, are closed after [`Limits::header_timeout`];
//! - each request carries its connection's [`ConnectionClose`], so a handler can end its
//!   connection (`/api/events` drops a subscriber too slow to drain its events).
//!
//! The body timeout of uploads is a layer on the write routes (see `api::routes`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tower::ServiceExt;

use crate::server::limits::Limits;

/// Ends the connection a request came on (a request extension); see the module docs.
#[derive(Debug, Clone, Default)]
pub struct ConnectionClose(Arc<Notify>);

impl ConnectionClose {
    /// Close the connection now, whatever it is doing.
    pub fn close(&self) {
        self.0.notify_one();
    }

    async fn closed(&self) {
        self.0.notified().await;
    }
}

/// How long in-flight requests may finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Pause after a failed accept (out of file descriptors, say) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// Files the process keeps beyond its connections (data files, maps, logs).
const SPARE_FILES: u64 = 1024;

/// Raise the soft limit on open files to what `limits` needs (up to the hard limit), and
/// return the connection cap that fits in it.
pub fn fit_open_files(limits: &Limits) -> usize {
    let wanted = limits.max_connections as u64 + SPARE_FILES;
    match rlimit::increase_nofile_limit(wanted) {
        Ok(got) if got < wanted => {
            let cap = got.saturating_sub(SPARE_FILES).max(16) as usize;
            tracing::warn!(
                open_files = got,
                "the open-files limit allows only {cap} connections (--max-connections {})",
                limits.max_connections
            );
            cap
        }
        Ok(_) => limits.max_connections,
        Err(err) => {
            tracing::warn!("cannot read or raise the open-files limit: {err}");
            limits.max_connections
        }
    }
}

/// Serve `app` on `listener` within `limits` until `shutdown` completes, then let the
/// connections in flight finish (for up to 10 s).
///
/// # Errors
/// When the listener fails for good.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let cap = fit_open_files(limits);
    let slots = Arc::new(Semaphore::new(cap));
    let graceful = GracefulShutdown::new();
    let header_timeout = limits.header_timeout();
    tokio::pin!(shutdown);
    loop {
        // A free slot first: past the cap, new connections wait in the listen queue.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!("accept failed: {err}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Responses go out in one writev; Nagle's delay would only add latency.
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {err}");
        }
        let close = ConnectionClose::default();
        let service = service_for(app.clone(), remote, close.clone());
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout);
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            tokio::select! {
                served = connection => {
                    if let Err(err) = served {
                        tracing::debug!(%remote, "connection ended: {err}");
                    }
                }
                () = close.closed() => tracing::debug!(%remote, "connection closed by the server"),
            }
            drop(slot);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("connections still open {SHUTDOWN_GRACE:?} after shutdown; closing them");
        }
    }
    Ok(())
}

/// The app as a hyper service for one connection: each request gets the client's address
/// (as `ConnectInfo`, which the write path's loopback rule reads) and the connection's
/// [`ConnectionClose`].
fn service_for(
    app: Router,
    remote: SocketAddr,
    close: ConnectionClose,
) -> TowerToHyperService<
    impl tower::Service<
            Request<Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future = impl Send,
        > + Clone,
> {
    TowerToHyperService::new(app.map_request(move |request: Request<Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(remote));
        request.extensions_mut().insert(close.clone());
        request
    }))
}
