//! Server benchmarks for sse-live, run by `cargo xtask bench`.
//!
//! - [`report`]: what a load-generator run measured, as JSON and as text (needs only serde; xtask reads it).
//! - [`fd_limit`]: raising the open-file limit to the hard limit, for the load generator and the servers it starts.
//! - `loadgen` (feature `tools`): the load generator behind the `sse-loadgen` binary: N SSE connections spread over
//!   127.0.0.x, an optional publisher, the server's RSS from `/proc`.
//! - `bare` (feature `tools`): the peer server behind `bare-sse-server`, axum's `Sse` over a tokio broadcast channel
//!   as a user would write it from axum's example.
//! - `floor` (feature `tools`): the floor behind `floor-sse-server`: threads and one `write(2)` per stream per
//!   event, no runtime, no HTTP library; the lower bound the other two are measured against.

pub mod fd_limit;
pub mod report;

#[cfg(feature = "tools")]
pub mod bare;
#[cfg(feature = "tools")]
pub mod floor;
#[cfg(feature = "tools")]
pub mod loadgen;
