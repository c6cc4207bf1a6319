//! Work that blocks (file system calls, memory-map reads, byte shuffling) runs off the async
//! worker threads, through [`blocking`].

use crate::server::error::ApiError;

/// Run `work` on tokio's blocking pool. A task that panics answers one 500 everywhere
/// ([`ApiError::Internal`]); the panic itself is in the log.
///
/// # Errors
/// `work`'s own error, or [`ApiError::Internal`] when the task panicked or was cancelled.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|err| Err(ApiError::task_failed(err)))
}
