//! The HTTP routes, a module each:
//!
//! - [`events`]: `GET /events/{topic}` and `GET /events?topic=a&topic=b`: topics' events, replayed and live.
//! - [`publish`]: `POST /events/{topic}`: publish an event (publisher key).
//! - [`stream`]: `GET /e/{topic}` and `GET /stream-random-numbers`: aliases of `/events/{topic}` for the demo.
//! - [`health`]: `GET /healthz`: liveness and the open-stream count.
//! - [`metrics`]: `GET /metrics`: Prometheus metrics.
//! - [`demo_token`]: `GET /demo-token?sub=NAME`: subscriber tokens for the demo, only with `--demo-auth`.
//! - [`jobs`]: `POST /jobs`: the demo's finite job, only with `--demo-jobs`.
//! - `test_routes`: `/test/*`, only in a build with the cargo feature `test-routes` and with `--test-routes`:
//!   streams that misbehave on purpose, for client tests.
//! - [`client`]: everything else: the built client from `--dist`, `index.html` for unknown page paths, or a 503
//!   saying how to build it.

pub(crate) mod client;
pub(crate) mod demo_token;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod jobs;
pub(crate) mod metrics;
pub(crate) mod publish;
pub(crate) mod stream;
#[cfg(feature = "test-routes")]
pub(crate) mod test_routes;
