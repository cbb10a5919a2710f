//! The sse-live demo: a live dashboard on [`leptos_sse_live`]'s `use_event_source_with_decoder`.
//!
//! - [`components`]: the demo's components (temperature display, random numbers, connection badge).
//! - [`request`]: the demo's plain requests (start a job, get a token, publish a note).
//! - [`use_now`]: the wall clock as a signal (for "3 s ago").
//! - [`wire`]: the demo's JSON payloads, decoded by the browser.
//! - [`app`]: the demo page that composes them.

pub mod app;
pub mod components;
pub mod request;
pub mod use_now;
pub mod wire;

pub use app::App;
