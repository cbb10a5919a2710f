//! The HTTP routes, a module each:
//!
//! - [`stream`]: `GET /e/{topic}` and `GET /stream-random-numbers`: a topic's events, replayed and live.
//! - [`health`]: `GET /healthz`: liveness and the open-stream count.
//! - [`test_routes`]: `/test/*`, only with `--test-routes`: streams that misbehave on purpose, for client tests.
//! - [`client`]: everything else: the built client from `--dist`, `index.html` for unknown page paths, or a 503
//!   saying how to build it.

pub mod client;
pub mod health;
pub mod stream;
pub mod test_routes;
