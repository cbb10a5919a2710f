//! sse-live: server-sent events for Leptos.
//!
//! - [`use_event_source`]: the hook, a stream as reactive signals.
//! - [`components`]: the demo's components (temperature display, random numbers, connection badge).
//! - [`use_now`]: the wall clock as a signal (for "3 s ago").
//! - [`app`]: the demo page that composes them.

pub mod app;
pub mod components;
pub mod use_event_source;
pub mod use_now;

pub use app::App;
