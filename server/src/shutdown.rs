//! Shutdown: the signal that starts it (ctrl-c, SIGTERM) and the token every stream and generator ends on.
//!
//! axum's graceful shutdown waits for responses to finish, and an event stream never does on its own; so
//! [`crate::run`] cancels a [`CancellationToken`](tokio_util::sync::CancellationToken) when the signal arrives, every
//! stream body ends on it (after an `event: shutdown` with a `retry:` hint, see [`crate::sse`]), and a drain
//! deadline (`--drain-timeout`) bounds the rest.

/// Resolves on ctrl-c (SIGINT) or, on Unix, SIGTERM. A handler that cannot be installed is logged and never fires.
pub async fn signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("ctrl-c received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}
