//! The sse-live server: streams the demo's live data as server-sent events and serves the built client.
//!
//! Run with `cargo run -p sse-live-server -- --help` (or `cargo xtask demo` for the whole demo).
//!
//! The public surface is what the binary and the tests need, re-exported here: [`Config`] (with [`Secret`],
//! [`Origin`], [`ClientIpHeader`] and [`connections_for_fd_limit`]), [`run`] and [`shutdown_signal`]; for tests
//! that mint their own tokens, [`Claims`], [`TokenKeys`] (whose errors are [`ApiError`]s, one of which carries a
//! [`TooManyTopics`]), [`unix_now`], [`DEMO_AUDIENCE`] and [`LEEWAY`]; with the cargo feature `test-routes`,
//! `VECTORS` (the spec's raw test vectors, each a `Vector`).
//!
//! Modules (all private), from the outside in:
//! - `config`: command-line flags with `SSE_LIVE_*` environment twins.
//! - `serve`: the accept loop: connection caps in all and per address, header and idle timeouts, hyper's
//!   HTTP/1.1 per connection, graceful shutdown.
//! - `socket`: a connection's socket, shared by hyper and the direct fan-out (`hub::direct`).
//! - `listener`: TCP with a send timeout (clients that stop reading are cut off) and the client's address.
//! - `forwarded`: the client's address behind a trusted proxy (`X-Forwarded-For`, `Forwarded`).
//! - `routes`: one module per route: `routes::events` (`/events/...`), `routes::publish`, `routes::jobs`
//!   (`/jobs`), `routes::stream` (the demo's aliases), `routes::health` (`/healthz`, `/readyz`),
//!   `routes::metrics`, `routes::demo_token`, `routes::test_routes` (with the cargo feature `test-routes`),
//!   `routes::client` (the page, and the fallback for everything else).
//! - `sse`: the event-stream response: headers, `retry:` with jitter, keep-alives, the end on shutdown or token
//!   expiry, the guards a stream owns.
//! - `hub`: topics: names, ids, bounded history, broadcast, replay after `Last-Event-ID`, multi-topic positions,
//!   each connection's feed, and the direct fan-out that writes live events to waiting streams' sockets.
//! - `backplane`: where topics are shared: this process, or (`--redis-url`) several instances through Redis
//!   Streams; `/readyz` reads its state.
//! - `auth`: the publisher key and subscriber tokens (JWT) for private topics.
//! - `limits`: `--max-streams` and `--max-streams-per-ip`, held for the life of a stream.
//! - `metrics`: Prometheus metrics.
//! - `request_log`: a span per request, its answer logged; nothing per frame of a stream.
//! - `generators`: one task per topic publishing the demo's data (temperatures, random numbers).
//! - `state`: what handlers share (`AppState`).
//! - `error`: [`ApiError`], a status and `{"error": "..."}`.
//! - `cors`: the optional CORS layer.
//! - `shutdown`: the signal ([`shutdown_signal`]), and how streams end on it.
//!
//! `app` builds the router from a state; [`run`] serves it on a listener until a shutdown future resolves.
//!
//! # Operating it
//! See `docs/deploy.md`: nginx (`proxy_buffering off; proxy_read_timeout 24h; proxy_http_version 1.1;`; the server
//! also sends `X-Accel-Buffering: no`), HTTP/2 behind a TLS terminator, a systemd unit with a raised
//! file-descriptor limit (each open stream holds one). Never put a compression layer in front of
//! `text/event-stream`.

#![warn(unreachable_pub)]

mod auth;
mod backplane;
mod config;
mod cors;
mod error;
mod forwarded;
mod generators;
mod hub;
mod limits;
mod listener;
mod metrics;
mod request_log;
mod routes;
mod serve;
mod shutdown;
mod side_waker;
mod socket;
mod sse;
mod state;

use std::future::Future;
use std::io;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

pub use auth::{unix_now, Claims, TokenKeys, DEMO_AUDIENCE, LEEWAY};
pub use config::{connections_for_fd_limit, ClientIpHeader, Config, Origin, Secret};
pub use error::ApiError;
pub use hub::TooManyTopics;
#[cfg(feature = "test-routes")]
pub use routes::test_routes::{Vector, VECTORS};
pub use shutdown::signal as shutdown_signal;

use state::AppState;

/// The router: the stream and publish routes, `/jobs`, `/healthz`, `/readyz`, `/metrics`, `/demo-token`, the test
/// routes when enabled (and compiled in), the client as fallback, request logging, and CORS when origins are allowed.
/// Generators are not started here (see [`run`]).
fn app(state: AppState) -> Router {
    let max_body = state.config.max_body as usize;
    let router = Router::new()
        .route("/healthz", get(routes::health::health))
        .route("/readyz", get(routes::health::ready))
        .route("/metrics", get(routes::metrics::metrics))
        .route("/demo-token", get(routes::demo_token::demo_token))
        .route("/jobs", post(routes::jobs::start))
        .route("/events", get(routes::events::many))
        .route(
            "/events/{*topic}",
            get(routes::events::one).post(routes::publish::publish).layer(DefaultBodyLimit::max(max_body)),
        )
        .route("/e/{topic}", get(routes::stream::topic))
        .route("/stream-random-numbers", get(routes::stream::random_numbers));
    #[cfg(feature = "test-routes")]
    let router = if state.config.test_routes { router.merge(routes::test_routes::router()) } else { router };
    let cors = cors::layer(&state.config.allow_origins, state.config.test_routes);
    let router =
        router.fallback(routes::client::serve).with_state(state).layer(axum::middleware::from_fn(request_log::log));
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// Serves `app` on `listener` with the generators running, until `shutdown` resolves.
///
/// A `config` that fails [`Config::check`] (a short `--jwt-secret`, `--test-routes` in a build without them) is an
/// [`io::ErrorKind::InvalidInput`] error before anything starts.
///
/// On shutdown the server stops accepting, every open stream ends after an `event: shutdown` with a `retry:` hint
/// (so clients reconnect elsewhere or later) and the generators stop; connections that are still open after
/// `--drain-timeout` are abandoned. Returns once the server has stopped.
///
/// Connections are accepted and served by `serve::Server` (`--max-connections`, `--max-connections-per-ip`,
/// `--header-timeout`, `--idle-timeout`, `--send-timeout`), and handlers see the client's address as
/// `listener::ClientAddr` and `listener::ClientIp`.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    config.check().map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
    if !config.dist.join("index.html").is_file() {
        tracing::warn!(
            dist = %config.dist.display(),
            "no built client (index.html) in --dist: `/` answers 503 until `cargo xtask demo` builds it"
        );
    }
    if config.client_buffer > config.history {
        tracing::warn!(
            client_buffer = config.client_buffer,
            history = config.history,
            "--client-buffer is larger than --history: a client cut off for lagging may come back to an id the history \
             no longer holds (it then gets event: reset, reason expired)"
        );
    }
    let token = tokio_util::sync::CancellationToken::new();
    let drain = config.drain_timeout;
    let mut state = AppState::new(config, token.clone());
    state.connect_redis().await.map_err(|error| {
        io::Error::other(format!(
            "cannot connect to Redis (--redis-url): {error}; start Redis, fix the URL, or add --redis-optional to serve \
             this instance's topics only"
        ))
    })?;
    let reader = state.backplane.spawn_reader(token.clone());
    let server = serve::Server::new(listener, &state.config, state.metrics.clone());
    let generators = generators::start(&state).await;

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
    let server = async {
        tokio::join!(signal, server.run(app(state), token.clone()));
    };
    let deadline = async {
        token.cancelled().await;
        tokio::time::sleep(drain).await;
    };
    tokio::select! {
        () = server => {}
        () = deadline => tracing::warn!(?drain, "connections still open after the drain timeout; stopping anyway"),
    }
    token.cancel();
    if let Some(reader) = reader {
        if let Err(error) = reader.await {
            tracing::error!(%error, "the Redis reader failed");
        }
    }
    for generator in generators {
        if let Err(error) = generator.await {
            tracing::error!(%error, "a generator task failed");
        }
    }
    Ok(())
}
