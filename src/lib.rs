//! sse-live: server-sent events for Leptos.
//!
//! - [`use_event_source`]: the hook, a stream as reactive signals.
//! - [`components`]: the demo's components (temperature display, random numbers, connection badge).
//! - [`app`]: the demo page that composes them.

pub mod app;
pub mod components;
pub mod use_event_source;

pub use app::App;
