//! The sse-live server: streams the demo's live data as server-sent events and serves the built client.
//!
//! Run with `cargo run -p sse-live-server -- --help` (or `cargo xtask demo` for the whole demo).
//!
//! Modules, from the outside in:
//! - [`config`]: command-line flags with `SSE_LIVE_*` environment twins.
//! - [`routes`]: one module per route: [`routes::stream`], [`routes::health`], [`routes::test_routes`],
//!   [`routes::client`] (the page, and the fallback for everything else).
//! - [`sse`]: the event-stream response: headers, `retry:`, keep-alives, the end on shutdown, the open-stream guard.
//! - [`hub`]: topics: ids, bounded history, broadcast to subscribers, replay after `Last-Event-ID`.
//! - [`generators`]: one task per topic publishing the demo's data (temperatures, random numbers).
//! - [`state`]: what handlers share ([`AppState`]).
//! - [`error`]: [`ApiError`](error::ApiError), a status and `{"error": "..."}`.
//! - [`cors`]: the optional CORS layer.
//! - [`shutdown`]: the signal, and how streams end on it.
//!
//! [`app`] builds the router from a state (tests and [`run`] use the same one); [`run`] serves it on a listener
//! until a shutdown future resolves.
//!
//! # Operating it
//! - Behind nginx: `proxy_buffering off; proxy_read_timeout 24h; proxy_http_version 1.1;` (the server also sends
//!   `X-Accel-Buffering: no`). Never put a compression layer in front of `text/event-stream`.
//! - Each open stream holds a file descriptor: raise the soft limit (`ulimit -n`, often 1024) for load tests.
//! - Idle proxies time out after 60 s or more; the default keep-alive (15 s) stays below that.

pub mod config;
pub mod cors;
pub mod error;
pub mod generators;
pub mod hub;
pub mod routes;
pub mod shutdown;
pub mod sse;
pub mod state;

use std::future::{Future, IntoFuture};
use std::io;

use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

pub use config::Config;
pub use state::AppState;

/// The router: the stream routes, `/healthz`, the test routes when enabled, the client as fallback, tracing, and
/// CORS when origins are allowed. Generators are not started here (see [`run`]).
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(routes::health::health))
        .route("/e/{topic}", get(routes::stream::topic))
        .route("/stream-random-numbers", get(routes::stream::random_numbers));
    if state.config.test_routes {
        router = router.merge(routes::test_routes::router());
    }
    let cors = cors::layer(&state.config.allow_origins);
    // 5xx answers are logged as warnings: the only expected one is "client not built", which is not an outage.
    let trace = TraceLayer::new_for_http().on_failure(DefaultOnFailure::new().level(tracing::Level::WARN));
    let router = router.fallback(routes::client::serve).with_state(state).layer(trace);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// Serves [`app`] on `listener` with the generators running, until `shutdown` resolves.
///
/// On shutdown every open stream ends (so clients reconnect elsewhere) and the generators stop; connections that
/// are still open after `--shutdown-timeout` are abandoned. Returns once the server has stopped.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    if !config.dist.join("index.html").is_file() {
        tracing::warn!(
            dist = %config.dist.display(),
            "no built client (index.html) in --dist: `/` answers 503 until `cargo xtask demo` builds it"
        );
    }
    let token = tokio_util::sync::CancellationToken::new();
    let drain = config.shutdown_timeout;
    let state = AppState::new(config, token.clone());
    let generators = generators::start(&state);

    let signal = {
        let token = token.clone();
        async move {
            tokio::select! {
                () = shutdown => tracing::info!("shutting down: ending open streams"),
                () = token.cancelled() => {}
            }
            token.cancel();
        }
    };
    let server = axum::serve(listener, app(state)).with_graceful_shutdown(signal);
    let deadline = async {
        token.cancelled().await;
        tokio::time::sleep(drain).await;
    };
    let result = tokio::select! {
        result = server.into_future() => result,
        () = deadline => {
            tracing::warn!(?drain, "connections still open after the shutdown timeout; stopping anyway");
            Ok(())
        }
    };
    token.cancel();
    for generator in generators {
        if let Err(error) = generator.await {
            tracing::error!(%error, "a generator task failed");
        }
    }
    result
}
