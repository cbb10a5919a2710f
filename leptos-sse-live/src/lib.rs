//! leptos-sse-live: server-sent events for Leptos 0.8, as reactive signals.
//!
//! [`use_event_source`] opens a browser `EventSource` (or, with the `fetch` feature, a streamed `fetch()`), decodes
//! each message's data as JSON into your type with serde, and reports the connection state and errors as signals.
//! The connection closes when the calling component unmounts. The crate turns on no rendering mode of Leptos: your
//! app chooses `csr`, `hydrate` or `ssr`.
//!
//! ## Feature flags
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `json` | yes | [`use_event_source`], [`use_event_source_with_options`] and [`json`]: JSON decoding into a serde type (the crate's own decoder, not serde_json) |
//! | `fetch` | no | [`Transport::Fetch`], [`FetchOptions`], [`Credentials`]: headers, POST, typed HTTP errors; and the fallback when the browser has no `EventSource` (without it: [`EventSourceError::Unsupported`]) |
//! | `ssr` | no | the server side of an SSR app built for wasm32 (any native target behaves so already) |
//! | `cross-tab` | no | [`UseEventSourceOptions::share_across_tabs`]: one connection per browser, not per tab (Web Locks and `BroadcastChannel`) |
//!
//! ## Server-side rendering and hydration
//!
//! On the server (a native target, or the `ssr` feature) the hook opens nothing, touches no browser API and never
//! panics. Its signals stay in their initial state: `state` is [`ConnectionState::Connecting`] (`Closed` when the URL is
//! empty or with [`UseEventSourceOptions::immediate`]`(false)`: the browser starts from the same), `data`, `message`,
//! `error`, `reconnect_at` and `reset` are `None`, `history` is empty and `last_event_id` is `""`; `open()` does nothing and
//! `close()` sets `state` to `Closed`. In the browser the hook connects from an effect once the component is live,
//! never while it is created, so a hydrating client starts from the view the server rendered, then connects.
//!
//! ## Usage
//!
//! ```no_run
//! use leptos::prelude::*;
//! use serde::Deserialize;
//! use leptos_sse_live::{use_event_source, UseEventSourceReturn};
//!
//! #[derive(Clone, Deserialize)]
//! struct Reading {
//!     temperature: f64,
//! }
//!
//! #[component]
//! fn Thermometer() -> impl IntoView {
//!     let UseEventSourceReturn { state, data, error, .. } = use_event_source::<Reading>("/e/temperatures");
//!     view! {
//!         <p>{move || state.get().to_string()}</p>
//!         <p>{move || data.get().map(|r| format!("{:.1} °C", r.temperature))}</p>
//!         <p>{move || error.get().map(|e| e.to_string())}</p>
//!     }
//! }
//! ```
//!
//! ### States
//! `state` mirrors `EventSource.readyState`: `Connecting` at first, while the browser re-establishes a dropped
//! connection by itself, and while a reconnect of the hook's own is pending (with [`EventSourceError::Disconnected`]
//! in `error`), `Open` once the server answers, and `Closed` after [`close`](UseEventSourceReturn::close), on
//! unmount, or when the hook gives up ([`EventSourceError::ConnectionFailed`]; the fetch transport says why, see
//! below). When the connection opens again, `error` is cleared: an error never stands next to `Open` for what
//! happened before it.
//!
//! A `None` or empty URL is idle: no request, state `Closed` with no error, until the URL is set (a reactive URL
//! that becomes `None` or empty closes the connection and is idle again). With
//! [`UseEventSourceOptions::immediate`]`(false)` nothing opens, whatever the URL, until
//! [`open`](UseEventSourceReturn::open) is called (state `Closed` until then), as with leptos-use.
//!
//! ### Errors are values
//! A message whose data is not valid JSON for `T` sets `error` to [`EventSourceError::Decode`] with the raw text and
//! serde's message; `data` keeps the last good value and the connection stays open.
//!
//! ### Decoders
//! JSON with serde is the default ([`use_event_source`], [`use_event_source_with_options`]).
//! [`use_event_source_with_decoder`] takes any `Fn(&str) -> Result<T, String>` instead: [`text`] keeps the data as a
//! `String`, or write your own. [`use_event_source_with_event_decoder`] gives the decoder the whole [`Event`], its
//! type too: one stream with several named event types decodes each into its own value. A decode error is [`EventSourceError::Decode`] with the raw data and the decoder's
//! message; `data` keeps the last good value and the connection stays open, unless
//! [`UseEventSourceOptions::close_on_decode_error`] closes it (state `Closed`, the error kept).
//!
//! ```no_run
//! # use leptos::prelude::*;
//! use leptos_sse_live::{use_event_source_with_decoder, UseEventSourceOptions};
//! # #[component] fn Example() -> impl IntoView {
//! let options = UseEventSourceOptions::default().close_on_decode_error(true);
//! let counts = use_event_source_with_decoder("/e/counts", options, |data: &str| {
//!     data.parse::<u64>().map_err(|e| e.to_string())
//! });
//! # let _ = counts;
//! # }
//! ```
//!
//! ### Every message, and other event types
//! The `message` signal holds only the last message. [`UseEventSourceOptions::on_message`] is called for every one,
//! in order, before the signals are set. Only `message` events are delivered unless
//! [`UseEventSourceOptions::events`] names more types (`event: reading` in the stream is the type `reading`).
//!
//! ### A stream that ends: terminal events
//! A stream with an end (a job's progress, a finite export) ends badly with SSE: when the body ends the client
//! reconnects. With [`UseEventSourceOptions::terminal_event`], an event of that type closes the connection for good,
//! on both transports: the state becomes `Closed` with no error, and nothing reconnects. The terminal event itself
//! is neither decoded nor passed to `on_message`.
//!
//! ```no_run
//! # use leptos::prelude::*;
//! use leptos_sse_live::{use_event_source_with_options, UseEventSourceOptions};
//! # #[component] fn Example() -> impl IntoView {
//! // event: progress / data: {"percent": 40} ... then event: end / data: done
//! let options = UseEventSourceOptions::default().events(["progress"]).terminal_event("end");
//! let job = use_event_source_with_options::<serde_json::Value>("/jobs/7/events", options);
//! # let _ = job;
//! # }
//! ```
//!
//! ### History
//! The `data` signal holds only the last value. With [`UseEventSourceOptions::history`]`(n)` the `history` signal
//! keeps the last `n` decoded values, oldest first: every message whose data decodes goes in, in order, even when a
//! burst arrives at once. Off by default (`history` stays empty).
//!
//! ```no_run
//! # use leptos::prelude::*;
//! use leptos_sse_live::{use_event_source_with_options, UseEventSourceOptions, UseEventSourceReturn};
//! # #[component] fn Example() -> impl IntoView {
//! let UseEventSourceReturn { history, .. } = use_event_source_with_options::<f64>(
//!     "/e/temperatures",
//!     UseEventSourceOptions::default().history(60),
//! );
//! let average = move || history.with(|h| h.iter().sum::<f64>() / h.len().max(1) as f64);
//! # let _ = average;
//! # }
//! ```
//!
//! ### Server notices
//! The hook always listens to the three notices of the sse-live server (the types of
//! [`sse_live_protocol::wire`]), on both transports; they are not messages (not decoded, not in `message` or
//! `on_message`) unless [`UseEventSourceOptions::events`] names their type.
//!
//! - `event: reset` (the server cannot replay what this client missed, or its ids restarted, and sends its history
//!   again): the `reset` signal holds the notice ([`Reset`], with its [`ResetReason`]), and `history` is cleared,
//!   in order with the messages around it, so a chart never shows the same readings twice
//!   ([`UseEventSourceOptions::keep_history_on_reset`] keeps it).
//! - `event: shutdown` (the server is going away; its `retry:` says when to come back): the outage that follows
//!   spends none of the reconnect budget: the hook reconnects (first at the server's `retry:`, then with its
//!   backoff) until a connection opens again, even with `ReconnectLimit::Limited(0)`.
//! - `event: expired` (the subscriber token ran out; the server ends the stream): with
//!   [`UseEventSourceOptions::on_expired`], the hook closes the stream at once and reconnects, after the last event
//!   id, to the URL and with the headers the callback returns ([`Renewal`]). Without it the stream is reconnected
//!   as usual.
//!
//! ```no_run
//! # use leptos::prelude::*;
//! use leptos_sse_live::{use_event_source_with_options, Renewal, UseEventSourceOptions, UseEventSourceReturn};
//! # fn fresh_token() -> String { String::new() }
//! # #[component] fn Example() -> impl IntoView {
//! let options = UseEventSourceOptions::default()
//!     .history(60)
//!     .on_expired(|| Renewal::default().url(format!("/e/private/notes?token={}", fresh_token())));
//! let UseEventSourceReturn { history, reset, .. } =
//!     use_event_source_with_options::<f64>("/e/private/notes?token=first", options);
//! // `history` starts again after a reset; `reset` says why.
//! let note = move || reset.get().map(|reset| format!("the server reset the stream ({})", reset.reason.code()));
//! # let _ = (history, note);
//! # }
//! ```
//!
//! ### Reconnecting after the browser gives up
//! The browser re-establishes a stream whose body ended by itself, with `Last-Event-ID`. But when it FAILS the
//! connection (an HTTP status other than 200, a wrong content type, a network failure while connecting) it never
//! tries again. The hook then reconnects by itself (native transport): the state stays `Connecting` with
//! [`EventSourceError::Disconnected`] while a reconnect is pending, and the new `EventSource` carries the last event
//! id in its query (`?lastEventId=41`, or `&...`; a new `EventSource` cannot send headers; the name is
//! [`UseEventSourceOptions::last_event_id_param`]).
//!
//! - Backoff: retry `r` of an outage (from 0) waits a random time between the initial delay and
//!   `min(max, initial × factor^r)` (full jitter); the first waits exactly the initial delay. Defaults: 1 s, 2, 30 s.
//! - Budget, per outage: [`ReconnectLimit::Limited(n)`](ReconnectLimit) is exactly `n` retries (`n + 1` requests);
//!   a connection that opens restores the whole budget. Default `Limited(5)`; `Limited(0)` is the browser's own
//!   behaviour; [`ReconnectLimit::Unlimited`] never gives up.
//! - Giving up: state `Closed`, [`EventSourceError::ConnectionFailed`], and [`UseEventSourceOptions::on_failed`]
//!   called once.
//! - `close()` and unmount clear a pending reconnect: no connection is opened after them. Every handler checks that
//!   its `EventSource` is still the hook's current one.
//!
//! ```no_run
//! # use leptos::prelude::*;
//! use std::time::Duration;
//! use leptos_sse_live::{use_event_source_with_options, ReconnectLimit, UseEventSourceOptions};
//! # #[component] fn Example() -> impl IntoView {
//! let options = UseEventSourceOptions::default()
//!     .reconnect_limit(ReconnectLimit::Limited(3))
//!     .reconnect_initial_delay(Duration::from_millis(500))
//!     .reconnect_max_delay(Duration::from_secs(10))
//!     .on_failed(|| leptos::logging::warn!("the event stream is down"));
//! let stream = use_event_source_with_options::<serde_json::Value>("/e/temperatures", options);
//! # let _ = stream;
//! # }
//! ```
//!
//! The fetch transport uses the same options and budget for its failed attempts (see below).
//!
//! ### Reopening and the last event id
//! `last_event_id` holds the id of the last message (empty until one has an id). After `close()`, a terminal event,
//! a fatal error or a spent budget, [`open`](UseEventSourceReturn::open) connects again, carrying that id (as
//! `lastEventId` in the query, or `Last-Event-ID` with the fetch transport) so that the server can replay what was
//! missed; while the connection is open or connecting it does nothing. An id belongs to its URL: when the URL has
//! changed (while open, or while closed before `open()`), `last_event_id` is cleared and the new URL's first request
//! carries no id.
//!
//! ### Network and visibility
//! - When the browser fires `online` (the network is back), a connection that is waiting to reconnect, or that gave
//!   up after its budget, reconnects at once with a fresh budget and the last event id. An open stream, a hook
//!   closed by `close()` and a connection that failed for good (a 404, say) are left alone.
//! - With [`UseEventSourceOptions::close_when_hidden`]`(grace)`, a page hidden (another tab, a minimised window)
//!   for longer than `grace` closes its stream (state `Closed`, no error) and reopens it, with the last event id,
//!   when it is visible again. A shorter hide changes nothing.
//!
//! ### One connection per URL
//! Browsers allow about 6 HTTP/1.1 connections per origin, across all tabs. Hooks on the same page with the same URL
//! and the same connection options (transport, credentials, event types, reconnect, stall and visibility settings)
//! share one connection: the first opens it, the last to close or unmount closes it, and a hook that joins a
//! running one gets its state and its last message at once. A hook that rejoins with
//! [`open`](UseEventSourceReturn::open) (after its `close()`, while another hook kept the connection) gets what it
//! missed since it left instead (counted by the connection, so streams without ids too), each message once, from
//! the connection's last 256 events; when those no longer reach back that far, `error` says so
//! ([`EventSourceError::Missed`]) and the hook gets the last message: never a silent gap, never a duplicate in
//! `history` or `on_message`. What a hook does with the messages stays its own (type, decoder, `history`,
//! `on_message`, `terminal_event`, `close()`). [`UseEventSourceOptions::shared`]`(false)` opts out.
//!
//! ```no_run
//! # use leptos::prelude::*;
//! use leptos_sse_live::use_event_source;
//! # #[derive(Clone, serde::Deserialize)] struct Reading { temperature: f64 }
//! #[component]
//! fn Dashboard() -> impl IntoView {
//!     // One `EventSource` for both: same URL, same options.
//!     let big = use_event_source::<Reading>("/e/temperatures");
//!     let small = use_event_source::<Reading>("/e/temperatures");
//! #   let _ = (big, small);
//! }
//! ```
//!
//! ### Bursts and rendering
//! A replay after a reconnect or a fast sensor can deliver hundreds of messages at once. The signals (`data`,
//! `message`, `history`, `last_event_id`, a decode error) are written at most once per animation frame, so views
//! re-render once per frame with the latest value, while `on_message` runs for every message and `history` receives
//! every value. A state change writes what is pending first. While the page is hidden the browser runs no animation
//! frames, so the signals catch up when it is visible.
//! [`UseEventSourceOptions::coalesce_updates`]`(false)` writes them on every message instead.
//!
//! The browser's `EventSource` dispatches every message it read from the stream at once in one task: 10,000 of them
//! are one task of 100 ms or more, in which the page neither renders nor responds. On that transport the hook
//! handles (decodes, calls `on_message` for) the messages of one task for 8 ms at most, and the rest in tasks of
//! their own of about 25 ms each, as soon as the browser is free: in order, each once, and before any later message
//! or state change.
//!
//! ### Fetch transport
//! The browser's `EventSource` cannot send an `Authorization` header, use POST, or say why it failed.
//! [`Transport::Fetch`] reads the stream with `fetch()` instead and parses it with the protocol crate's
//! spec-conformant parser; states, signals and messages are the same as with the default transport.
//!
//! ```no_run
//! # #[cfg(feature = "fetch")] mod example {
//! # use leptos::prelude::*;
//! use leptos_sse_live::{
//!     use_event_source_with_options, FetchOptions, Transport, UseEventSourceOptions, UseEventSourceReturn,
//! };
//! # fn current_token() -> String { String::new() }
//! # #[component] fn Example() -> impl IntoView {
//! let fetch = FetchOptions::default()
//!     .method("POST")
//!     // Called on every attempt: a token refreshed meanwhile goes with the next reconnect.
//!     .headers(|| vec![("Authorization".into(), format!("Bearer {}", current_token()))])
//!     .body(r#"{"topics":["temperatures"]}"#);
//! let UseEventSourceReturn { state, error, .. } = use_event_source_with_options::<serde_json::Value>(
//!     "/api/events",
//!     UseEventSourceOptions::default().transport(Transport::Fetch(fetch)),
//! );
//! // error: Some(EventSourceError::Http { status: 401, message: "token expired" }), state: Closed
//! # let _ = (state, error);
//! # }
//! # }
//! ```
//!
//! The request carries `Accept: text/event-stream`, is never served from cache (`no-store`), and on a reconnect
//! carries `Last-Event-ID` when the last event id is not empty. The stream is `Open` on a 200 with `Content-Type:
//! text/event-stream`. When the body ends or the network fails, the state is `Connecting` with
//! [`EventSourceError::Disconnected`] and the hook reconnects after the reconnection time (the server's `retry:`,
//! 3 s until it sends one). What an answer other than that means:
//!
//! | answer | state | `error` | reconnects |
//! |---|---|---|---|
//! | 204 No Content | `Closed` | [`EventSourceError::ClosedByServer`] | never |
//! | 200, another content type | `Closed` | [`EventSourceError::ContentType`] | never |
//! | 5xx, 408, 429 | `Connecting` | [`EventSourceError::Http`]: status and body text (≤ 1 KiB) | with backoff |
//! | any other status (401, 404, ...) | `Closed` | [`EventSourceError::Http`] | never |
//! | network error, CORS refusal | `Connecting` | [`EventSourceError::Disconnected`] | with backoff |
//!
//! Waits: after a stream that was open, exactly the reconnection time, as `EventSource` does; after a failed
//! attempt (the rows that say "with backoff"), the hook's backoff and per-outage budget (the options of [Reconnecting
//! after the browser gives up](#reconnecting-after-the-browser-gives-up)), never sooner than the server's `retry:`.
//! When the budget is spent, the state is `Closed`, `error` keeps the last attempt's error (an `Http` status, or
//! `Disconnected`) and `on_failed` is called once. Cross-origin, the server's CORS must allow the method and every
//! header sent (`Last-Event-ID` included).
//!
//! ### A reactive URL
//! The URL is anything [`IntoUrlSignal`]: a `&str`, `String` or `Option<String>` is a constant one, and a signal of
//! yours (an `RwSignal<String>`, a `Signal<Option<String>>`, a `Signal::derive`, a memo) makes the hook follow it.
//! When its value changes, a Leptos effect closes the current connection (the `EventSource` closed, the fetch
//! aborted, a pending reconnect dropped; none of its handlers writes a signal afterwards) and opens one to the new
//! URL (state `Connecting`, `error` and `last_event_id` cleared, no id sent; `data`, `message` and `history` keep
//! their values until the new stream delivers). `None` or an empty URL closes the connection and is idle (state
//! `Closed`). Setting the same URL again keeps the connection. After [`close`](UseEventSourceReturn::close) or
//! unmount, a URL change opens nothing; after a terminal event or `close_on_decode_error`, a new URL does open a new
//! connection.
//!
//! ```no_run
//! # use leptos::prelude::*;
//! use leptos_sse_live::{use_event_source, UseEventSourceReturn};
//! # #[component] fn Example() -> impl IntoView {
//! let room = RwSignal::new("living-room".to_owned());
//! let url = Signal::derive(move || format!("/e/temperatures?room={}", room.get()));
//! let UseEventSourceReturn { data, .. } = use_event_source::<serde_json::Value>(url);
//! // Later: `room.set("kitchen".into())` closes the living room's stream and opens the kitchen's.
//!
//! // No room chosen yet: nothing opens (state `Closed`) until the signal holds a URL.
//! let chosen = RwSignal::new(None::<String>);
//! let UseEventSourceReturn { state, .. } = use_event_source::<serde_json::Value>(chosen);
//! // Later: `chosen.set(Some("/e/temperatures?room=attic".into()))` opens it, `chosen.set(None)` closes it.
//! # let _ = (data, state);
//! # }
//! ```
//!
//! ### Stall detection
//! A connection can die without the browser noticing (a proxy or a NAT drops it silently): no error, no events,
//! forever. With [`UseEventSourceOptions::stall_timeout`], a connection that shows no sign of life for that long is
//! closed and replaced by a new one carrying the last event id (state `Connecting` with
//! [`EventSourceError::Disconnected`] meanwhile). Off by default.
//!
//! - Fetch transport: every chunk of the body is a sign of life, keep-alive comments included, so a timeout a few
//!   times the server's keep-alive interval is right. A stall aborts the request; the hook reconnects after the
//!   reconnection time, with `Last-Event-ID`.
//! - `EventSource` transport: the browser hides comments, so only the opening and the messages count: the server
//!   must send *events* (or keep-alive events the page listens to) more often than the timeout. A stall goes
//!   through the hook's own reconnect path: it waits the initial reconnect delay and opens a new `EventSource` with
//!   the last event id in its query. It counts as a dropped connection, not as a failed attempt: it spends none of
//!   the reconnect budget.
//!
//! ```no_run
//! # #[cfg(feature = "fetch")] mod example {
//! # use leptos::prelude::*;
//! use std::time::Duration;
//! use leptos_sse_live::{use_event_source_with_options, FetchOptions, Transport, UseEventSourceOptions};
//! # #[component] fn Example() -> impl IntoView {
//! // The server sends a keep-alive comment every 15 s: three missed in a row is a dead connection.
//! let options = UseEventSourceOptions::default()
//!     .transport(Transport::Fetch(FetchOptions::default()))
//!     .stall_timeout(Duration::from_secs(45));
//! let stream = use_event_source_with_options::<serde_json::Value>("/e/temperatures", options);
//! # let _ = stream;
//! # }
//! # }
//! ```
//!
//! ### Cleanup
//! On unmount (Leptos `on_cleanup`) or `close()`, the connection stops at once: the `EventSource` is closed and its
//! listeners removed, or the fetch request is aborted (`AbortController`) and a pending reconnect timer dropped.
//! Nothing is leaked with `Closure::forget`, and no handler writes to a signal afterwards. The browser tests mount
//! and unmount the hook hundreds of times and check that the server's open-stream count comes back to where it was.

mod browser;
mod channel;
#[cfg(feature = "cross-tab")]
mod cross_tab;
mod error;
#[cfg(feature = "fetch")]
mod fetch;
#[cfg(feature = "fetch")]
mod fetch_options;
#[cfg(feature = "json")]
mod json;
mod native;
mod options;
mod reconnect;
mod return_type;
mod state;
mod updates;
mod url;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
#[cfg(feature = "json")]
use serde::de::DeserializeOwned;

#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub use json::json;

pub use error::EventSourceError;
use sse_live_protocol::wire::{EXPIRED_EVENT, RESET_EVENT, SHUTDOWN_EVENT};
/// A message as it arrived: its event type, data and last event id (from the protocol crate).
pub use sse_live_protocol::Event;

/// A decoder for [`use_event_source_with_decoder`] that keeps each message's data as it came, as a `String`; it never
/// fails.
///
/// ```
/// assert_eq!(leptos_sse_live::text("not json"), Ok("not json".to_owned()));
/// ```
pub fn text(data: &str) -> Result<String, String> {
    Ok(data.to_owned())
}
#[cfg(feature = "fetch")]
#[cfg_attr(docsrs, doc(cfg(feature = "fetch")))]
pub use fetch_options::{Credentials, FetchOptions};
pub use options::{ReconnectLimit, Renewal, Transport, UseEventSourceOptions};
/// The server's `event: reset` notice and why it was sent (from the protocol crate), as the `reset` signal holds it.
pub use sse_live_protocol::wire::{Reset, ResetReason};

/// Whether this build talks to a browser: wasm32 without the `ssr` feature. Elsewhere (the server of an SSR app, a
/// native test) the hook opens nothing and touches no browser API.
const IN_BROWSER: bool = cfg!(all(target_arch = "wasm32", not(feature = "ssr")));
pub use return_type::UseEventSourceReturn;
pub use state::ConnectionState;
pub use url::IntoUrlSignal;

/// What a connection reports one layer up: a transport to its channel (through the native transport's reconnects,
/// or the cross-tab leader), a channel to each hook subscribed to it. One trait object per layer, not a boxed
/// closure per callback: five closures per layer were five vtables and five drop glues each (BENCHMARKS.md).
trait Listener {
    /// The state changed, with no new error. From a transport: only `Open` (the server answered with an event
    /// stream); from a channel also `Connecting` when reopened and `Closed` while the page is hidden.
    fn state(&self, state: ConnectionState);
    /// A message (`message`, or one of the event types the options list), in stream order.
    fn message(&self, event: &Event);
    /// The connection dropped or failed: the state it is left in (`Connecting` while it is re-established, `Closed`
    /// when given up) and why.
    fn error(&self, state: ConnectionState, error: EventSourceError);
    /// The retry budget is spent (called right after `error` with `Closed`): nothing reconnects until the network
    /// comes back or the hook reopens.
    fn failed(&self);
    /// A reconnect of the hook's own is due at this time (`Date.now()` milliseconds); `None` when it starts.
    fn reconnect_at(&self, at: Option<f64>);
}

/// What a transport reports to: its listener, and where it records signs of life.
struct Handlers {
    listener: Rc<dyn Listener>,
    /// Signs of life, for stall detection.
    activity: Rc<Activity>,
}

/// Signs of life on a connection: the fetch transport records every chunk of the body (so keep-alive comments
/// count) and the opening; the `EventSource` transport, which hides comments, every open and message when stall
/// detection is on.
#[derive(Debug, Default)]
struct Activity {
    /// How many signs of life so far.
    count: Cell<u64>,
    /// When the last one happened (`Date.now()`, milliseconds since the epoch).
    last_at_ms: Cell<f64>,
}

impl Activity {
    /// Records a sign of life now. Browser only (it reads the clock with `Date.now()`).
    fn record(&self) {
        self.count.set(self.count.get().wrapping_add(1));
        self.last_at_ms.set(js_sys::Date::now());
    }
}

/// Opens a server-sent events stream at `url` and decodes each message's data as JSON into `T`.
///
/// `url` is a `&str`, a `String`, an `Option<String>`, or a signal of a `String` or an `Option<String>` (an
/// `RwSignal`, a derived signal, ...; see [`IntoUrlSignal`]): when the signal changes, the hook closes the connection
/// and opens one to the new URL (see [A reactive URL](self#a-reactive-url)); `None` is idle.
///
/// Same as [`use_event_source_with_options`] with the default options. See the [crate docs](crate) for an example.
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub fn use_event_source<T>(
    url: impl IntoUrlSignal,
) -> UseEventSourceReturn<T, impl Fn() + Clone + Send + Sync + 'static, impl Fn() + Clone + Send + Sync + 'static>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    use_event_source_with_options(url, UseEventSourceOptions::default())
}

/// Opens a server-sent events stream at `url` with `options`; see [`use_event_source`].
///
/// ```no_run
/// # use leptos::prelude::*;
/// use leptos_sse_live::{use_event_source_with_options, UseEventSourceOptions};
/// # #[component] fn Example() -> impl IntoView {
/// let stream = use_event_source_with_options::<serde_json::Value>(
///     "https://api.example.com/events",
///     UseEventSourceOptions::default().with_credentials(true),
/// );
/// # let _ = stream;
/// # }
/// ```
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub fn use_event_source_with_options<T>(
    url: impl IntoUrlSignal,
    options: UseEventSourceOptions,
) -> UseEventSourceReturn<T, impl Fn() + Clone + Send + Sync + 'static, impl Fn() + Clone + Send + Sync + 'static>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    use_event_source_with_event_decoder(url, options, |event: &Event| json::<T>(&event.data))
}

/// Opens a server-sent events stream at `url` with `options`, decoding each message's data with `decoder` instead
/// of JSON: [`text`] keeps the data as a `String`, or pass your own function. An `Err` is reported as
/// [`EventSourceError::Decode`] with the raw data and the function's message; the connection stays open unless
/// [`UseEventSourceOptions::close_on_decode_error`] says otherwise.
///
/// ```no_run
/// # use leptos::prelude::*;
/// use leptos_sse_live::{text, use_event_source_with_decoder, UseEventSourceOptions};
/// # #[component] fn Example() -> impl IntoView {
/// // The data as it came, no decoding:
/// let log = use_event_source_with_decoder("/e/log", UseEventSourceOptions::default(), text);
/// // A number per message, in a format of your own:
/// let celsius = use_event_source_with_decoder("/e/celsius", UseEventSourceOptions::default(), |data: &str| {
///     data.trim().parse::<f64>().map_err(|e| format!("not a temperature: {e}"))
/// });
/// # let _ = (log, celsius);
/// # }
/// ```
pub fn use_event_source_with_decoder<T>(
    url: impl IntoUrlSignal,
    options: UseEventSourceOptions,
    decoder: impl Fn(&str) -> Result<T, String> + 'static,
) -> UseEventSourceReturn<T, impl Fn() + Clone + Send + Sync + 'static, impl Fn() + Clone + Send + Sync + 'static>
where
    T: Clone + Send + Sync + 'static,
{
    use_event_source_with_event_decoder(url, options, move |event: &Event| decoder(&event.data))
}

/// Like [`use_event_source_with_decoder`], but the decoder sees the whole [`Event`]: its type (and last event id)
/// as well as its data. One stream with several named event types (the sse-live server's multi-topic streams name
/// each event after its topic) decodes each type into its own value, for example a variant of an enum of yours.
/// Only the types the options' [`events`](UseEventSourceOptions::events) names (and `message`) reach it.
///
/// ```no_run
/// # use leptos::prelude::*;
/// use leptos_sse_live::{use_event_source_with_event_decoder, Event, UseEventSourceOptions};
///
/// #[derive(Clone)]
/// enum Update {
///     Temperature(f64),
///     Random(f64),
/// }
///
/// fn number(data: &str, field: &str) -> Result<f64, String> {
///     let value: serde_json::Value = serde_json::from_str(data).map_err(|e| e.to_string())?;
///     value[field].as_f64().ok_or_else(|| format!("no number {field:?}"))
/// }
///
/// # #[component] fn Example() -> impl IntoView {
/// let options = UseEventSourceOptions::default().events(["temperatures", "random-numbers"]).history(100);
/// let url = "/events?topic=temperatures&topic=random-numbers";
/// let updates = use_event_source_with_event_decoder(url, options, |event: &Event| {
///     match event.event_type.as_str() {
///         "temperatures" => number(&event.data, "temperature").map(Update::Temperature),
///         "random-numbers" => number(&event.data, "value").map(Update::Random),
///         other => Err(format!("unexpected event type {other:?}")),
///     }
/// });
/// # let _ = updates;
/// # }
/// ```
pub fn use_event_source_with_event_decoder<T>(
    url: impl IntoUrlSignal,
    options: UseEventSourceOptions,
    decoder: impl Fn(&Event) -> Result<T, String> + 'static,
) -> UseEventSourceReturn<T, impl Fn() + Clone + Send + Sync + 'static, impl Fn() + Clone + Send + Sync + 'static>
where
    T: Clone + Send + Sync + 'static,
{
    // Only this is compiled for each `T`: the typed signals and the decoding edge. `connect` is compiled once.
    // `ArcRwSignal`s written directly and read through one `Signal` each: `signal()` puts a reader and a writer in
    // the arena, and each arena item is code of its own for each type (BENCHMARKS.md).
    let (data, history) = (ArcRwSignal::new(None::<T>), ArcRwSignal::new(Vec::<T>::new()));
    // Each read through a `Signal` of its reader (from the `ArcRwSignal` itself, a clone of it was made and dropped).
    let (data_signal, history_signal) = (Signal::from(data.read_only()), Signal::from(history.read_only()));
    let values = updates::Typed::new(decoder, data, history, options.history);
    let Untyped { state, message, error, last_event_id, reconnect_at, reset, open, close } =
        connect(url.into_url_signal(), options, Box::new(values));
    UseEventSourceReturn {
        state,
        data: data_signal,
        message,
        history: history_signal,
        error,
        last_event_id,
        reconnect_at,
        reset,
        open,
        close,
    }
}

/// The hook's signals and handles that do not depend on the message type.
struct Untyped<OpenFn, CloseFn> {
    state: Signal<ConnectionState>,
    message: Signal<Option<Event>>,
    error: Signal<Option<EventSourceError>>,
    last_event_id: Signal<String>,
    reconnect_at: Signal<Option<f64>>,
    reset: Signal<Option<Reset>>,
    open: OpenFn,
    close: CloseFn,
}

/// The hook without its message type: the connection, its state, and everything but decoding and the `data` and
/// `history` writes, which `values` does.
fn connect(
    url: Signal<Option<String>>,
    options: UseEventSourceOptions,
    values: Box<dyn updates::Values>,
) -> Untyped<impl Fn() + Clone + Send + Sync + 'static, impl Fn() + Clone + Send + Sync + 'static> {
    // Idle from the start (no request will be made until the URL is set or `open()` is called): `Closed`, on the
    // server as in the browser, so that hydration sees the same state.
    let idle = !options.immediate || url.with_untracked(|url| url.as_deref().is_none_or(str::is_empty));
    let setters = updates::Setters {
        state: ArcRwSignal::new(if idle { ConnectionState::Closed } else { ConnectionState::Connecting }),
        message: ArcRwSignal::new(None),
        error: ArcRwSignal::new(None),
        last_event_id: ArcRwSignal::new(String::new()),
        reconnect_at: ArcRwSignal::new(None),
        reset: ArcRwSignal::new(None),
    };
    let state = Signal::from(setters.state.read_only());
    let (message, error) = (Signal::from(setters.message.read_only()), Signal::from(setters.error.read_only()));
    let last_event_id = Signal::from(setters.last_event_id.read_only());
    let (reconnect_at, reset) =
        (Signal::from(setters.reconnect_at.read_only()), Signal::from(setters.reset.read_only()));

    let UseEventSourceOptions {
        with_credentials,
        transport,
        events,
        on_message,
        reconnect_limit,
        reconnect_initial_delay,
        reconnect_factor,
        reconnect_max_delay,
        on_failed,
        last_event_id_param,
        terminal_event,
        history: _,
        close_on_decode_error,
        stall_timeout,
        shared,
        close_when_hidden,
        coalesce_updates,
        immediate,
        keep_history_on_reset,
        on_expired,
        #[cfg(feature = "cross-tab")]
        share_across_tabs,
    } = options;
    let listed = events.clone();
    // The transports deliver the terminal event type and the server's notices too; the hook handles them. Sorted
    // without duplicates by inserting each name in place: a handful of names, and no sort code in the bundle (the
    // unstable sort was 2.5 KB of .wasm in the minimal app of BENCHMARKS.md).
    let events = {
        let mut sorted: Vec<String> = Vec::with_capacity(events.len() + 4);
        let notices = [RESET_EVENT, SHUTDOWN_EVENT, EXPIRED_EVENT].map(String::from);
        for event_type in events.into_iter().chain(terminal_event.clone()).chain(notices) {
            if event_type != "message" {
                if let Err(at) = sorted.binary_search(&event_type) {
                    sorted.insert(at, event_type);
                }
            }
        }
        sorted
    };
    let connection_options = channel::ConnectionOptions {
        with_credentials,
        transport,
        events,
        reconnect_limit,
        backoff: reconnect::Backoff {
            initial: reconnect_initial_delay,
            factor: reconnect_factor,
            max: reconnect_max_delay,
        },
        last_event_id_param,
        stall_timeout,
        hidden_grace: close_when_hidden,
        shared,
        on_expired,
        #[cfg(feature = "cross-tab")]
        across_tabs: share_across_tabs && shared,
    };

    let link = Rc::new(Link {
        updates: updates::Updates::new(setters, values, coalesce_updates),
        connection_options,
        listed,
        terminal_event,
        on_message,
        on_failed,
        keep_history_on_reset,
        close_on_decode_error,
        subscription: RefCell::new(None),
        closed_for_good: Cell::new(!immediate),
        opened_url: RefCell::new(None),
        latest_id: RefCell::new(String::new()),
        position: RefCell::new(None),
        stopped: Cell::new(false),
    });
    // One arena slot for all of it: `open` and `close` must be `Send + Sync`, and one `StoredValue` per piece was
    // code for each piece's type (BENCHMARKS.md).
    let link = StoredValue::new_local(link);
    let link = move || link.try_with_value(Rc::clone);
    // The connection opens once the component is live, from an effect (which also swaps it when the URL changes):
    // never while the component is created, so that hydration sees the initial state the server rendered. Effects
    // run on the async executor, which `mount_to` sets up; a hook used in a bare `Owner` needs it too (a no-op when
    // already set). On the server effects do not run, and `switch_to` opens nothing there anyway. Only the URL is
    // tracked (`Effect::watch` was larger in .wasm).
    #[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
    let _ = any_spawner::Executor::init_wasm_bindgen();
    Effect::new(move || {
        // `None` is idle, as the empty URL is.
        let url = url.get().unwrap_or_default();
        untrack(|| link().map(|link| link.follow(url)));
    });

    let open = move || {
        let Some(link) = link() else { return };
        link.closed_for_good.set(false);
        let running = link.subscription.borrow().is_some()
            && state.try_get_untracked().is_some_and(|state| state != ConnectionState::Closed);
        if running {
            return;
        }
        let resume_from = link.latest_id.borrow().clone();
        link.switch_to(url.get_untracked().unwrap_or_default(), &resume_from);
    };
    let close = move || {
        if let Some(link) = link() {
            link.closed_for_good.set(true);
            link.leave();
            link.updates.state(ConnectionState::Closed, None);
        }
    };
    on_cleanup(move || {
        if let Some(link) = link() {
            link.closed_for_good.set(true);
            let subscription = link.subscription.take();
            drop(subscription);
            link.updates.discard();
        }
    });

    Untyped { state, message, error, last_event_id, reconnect_at, reset, open, close }
}

/// What the hook's closures share (one per hook, not per message type): its connection's news handlers, its share of
/// the connection, and what it remembers between connections.
struct Link {
    updates: Rc<updates::Updates>,
    connection_options: channel::ConnectionOptions,
    /// The notices the app listens to as messages too (as before they were handled).
    listed: Vec<String>,
    terminal_event: Option<String>,
    on_message: Option<options::MessageCallback>,
    on_failed: Option<options::FailedCallback>,
    keep_history_on_reset: bool,
    close_on_decode_error: bool,
    /// This hook's share of its connection; `None` after close, a terminal event, or a URL the browser refused.
    subscription: RefCell<Option<channel::Subscription>>,
    /// Set by `close()`/unmount (and from the start with `immediate(false)`): a URL change opens nothing (until
    /// `open()`).
    closed_for_good: Cell<bool>,
    /// The URL of the connection opened last (or refused), to skip a URL "change" to the same value.
    opened_url: RefCell<Option<String>>,
    /// The id of the last message this hook received, as it arrived (the signal may wait for the next frame).
    latest_id: RefCell<String>,
    /// Where this hook left its connection last, to pick up from there if it rejoins it.
    position: RefCell<Option<channel::Position>>,
    /// Set by `stop`: a hook can be stopped while it joins a running connection (the last message it is handed is
    /// its terminal event, or fails to decode with `close_on_decode_error`), before its share is stored to be
    /// dropped.
    stopped: Cell<bool>,
}

impl Link {
    /// Drops this hook's share (none of its callbacks runs afterwards), remembering where it left.
    fn leave(&self) {
        let left = self.subscription.take();
        if let Some(left) = left {
            self.position.replace(Some(left.position()));
        }
    }

    /// Drops this hook's share (none of its callbacks runs afterwards) and reports `Closed`.
    fn stop(&self) {
        self.stopped.set(true);
        self.leave();
        self.updates.state(ConnectionState::Closed, None);
    }

    /// The URL signal changed: switches to it unless closed for good or it is the URL opened already.
    fn follow(self: &Rc<Self>, url: String) {
        let unchanged = self.opened_url.borrow().as_deref() == Some(url.as_str());
        if !self.closed_for_good.get() && !unchanged {
            self.switch_to(url, "");
        }
    }

    /// Leaves the current connection and subscribes to `url`'s, resuming after `resume_from` if it opens a new one
    /// and `url` is the URL that id came from (an id never carries over to another URL). An empty URL is idle: no
    /// request, state `Closed`.
    fn switch_to(self: &Rc<Self>, url: String, resume_from: &str) {
        if !IN_BROWSER {
            return;
        }
        self.leave();
        let left = self.position.take();
        let same_url = self.opened_url.borrow().as_deref() == Some(url.as_str());
        self.opened_url.replace(Some(url.clone()));
        self.updates.clear_error();
        let (resume_from, left) = if same_url {
            (resume_from, left)
        } else {
            self.latest_id.take();
            self.updates.clear_last_event_id();
            ("", None)
        };
        self.stopped.set(false);
        if url.is_empty() {
            self.updates.state(ConnectionState::Closed, None);
            return;
        }
        self.updates.state(ConnectionState::Connecting, None);
        match channel::subscribe(&url, self.connection_options.clone(), resume_from, left, self.subscriber()) {
            // Stopped while joining: the share goes at once, as `stop` would have dropped it.
            Ok(subscribed) if self.stopped.get() => drop(subscribed),
            Ok(subscribed) => drop(self.subscription.replace(Some(subscribed))),
            Err(error) => self.updates.state(ConnectionState::Closed, Some(error)),
        }
    }

    /// What this hook does with its connection's news (a new one for each subscription). It holds the link weakly:
    /// the link holds the subscription that holds it.
    fn subscriber(self: &Rc<Self>) -> channel::Subscriber {
        Box::new(Hook(Rc::downgrade(self)))
    }

    /// A message of this hook's connection.
    fn received(&self, event: &Event) {
        if self.terminal_event.as_ref().is_some_and(|terminal| *terminal == event.event_type) {
            // The end of the stream for this hook: nothing more is delivered to it, nothing reconnects it (a new URL
            // or `open()` subscribes again).
            self.stop();
            return;
        }
        if event.event_type == RESET_EVENT {
            self.updates.reset(reset_notice(&event.data), self.keep_history_on_reset);
        }
        // The server's notices are not messages, unless the app listens to their type.
        if channel::is_notice(&event.event_type) && !self.listed.contains(&event.event_type) {
            return;
        }
        if let Some(on_message) = &self.on_message {
            on_message(event);
        }
        self.latest_id.borrow_mut().clone_from(&event.last_event_id);
        let decoded = self.updates.message(event);
        if !decoded && self.close_on_decode_error {
            self.stop();
        }
    }
}

/// A hook's end of its subscription (see [`Link::subscriber`]).
struct Hook(std::rc::Weak<Link>);

impl Listener for Hook {
    fn state(&self, state: ConnectionState) {
        if let Some(link) = self.0.upgrade() {
            link.updates.state(state, None);
        }
    }

    fn message(&self, event: &Event) {
        if let Some(link) = self.0.upgrade() {
            link.received(event);
        }
    }

    fn error(&self, state: ConnectionState, error: EventSourceError) {
        if let Some(link) = self.0.upgrade() {
            link.updates.state(state, Some(error));
        }
    }

    fn failed(&self) {
        if let Some(link) = self.0.upgrade() {
            if let Some(on_failed) = &link.on_failed {
                on_failed();
            }
        }
    }

    fn reconnect_at(&self, at: Option<f64>) {
        if let Some(link) = self.0.upgrade() {
            link.updates.reconnect_at(at);
        }
    }
}

/// The data of an `event: reset` as a [`Reset`] (`ResetReason::Other` for a reason this version does not know).
///
/// Read by hand, not with serde_json: the server writes a flat JSON object of string fields, and an app that decodes
/// no JSON itself (the `text` decoder) would otherwise link serde_json for this alone (about 20 KB brotli in the
/// minimal app of BENCHMARKS.md).
fn reset_notice(data: &str) -> Reset {
    let reasons =
        [ResetReason::Expired, ResetReason::Unknown, ResetReason::Invalid, ResetReason::Restarted, ResetReason::Lagged];
    let reason = json_string_field(data, "reason")
        .and_then(|code| reasons.into_iter().find(|reason| reason.code() == code))
        .unwrap_or(ResetReason::Other);
    let mut reset = Reset::new(reason);
    reset.topic = json_string_field(data, "topic");
    reset.resume_from = json_string_field(data, "resumeFrom");
    reset
}

/// The string value of `"key": "..."` in a flat JSON object (escapes `\"`, `\\`, `\/`, `\n`, `\t` undone; others
/// kept as the escaped character); `None` when the key is missing or its value is not a string. Read byte by byte,
/// with no slicing that can panic (this reads data from the network) and no substring search (`str::find` with a
/// `&str` pattern links the two-way searcher: 1.4 KB of .wasm in the minimal app of BENCHMARKS.md).
fn json_string_field(data: &str, key: &str) -> Option<String> {
    let (bytes, key) = (data.as_bytes(), key.as_bytes());
    let skip_space = |mut at: usize| {
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        at
    };
    for start in 0..bytes.len() {
        let end = start + 1 + key.len();
        let quoted = bytes[start] == b'"' && bytes.get(start + 1..end) == Some(key) && bytes.get(end) == Some(&b'"');
        let colon = if quoted { skip_space(end + 1) } else { continue };
        if bytes.get(colon) != Some(&b':') {
            continue;
        }
        let open = skip_space(colon + 1);
        if bytes.get(open) != Some(&b'"') {
            return None;
        }
        // Only ASCII bytes are removed or replaced, so what is kept stays UTF-8.
        let mut value = Vec::new();
        let mut rest = bytes.get(open + 1..)?.iter();
        while let Some(&byte) = rest.next() {
            match byte {
                b'"' => return String::from_utf8(value).ok(),
                b'\\' => value.push(match *rest.next()? {
                    b'n' => b'\n',
                    b't' => b'\t',
                    escaped => escaped,
                }),
                byte => value.push(byte),
            }
        }
        return None;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_notice_is_read_as_the_server_writes_it() {
        let lagged = reset_notice(r#"{"reason":"lagged","resumeFrom":"41@k3f9x2"}"#);
        assert_eq!(lagged.reason, ResetReason::Lagged);
        assert_eq!(lagged.resume_from.as_deref(), Some("41@k3f9x2"));
        assert_eq!(lagged.topic, None);
        let topic = reset_notice(r#"{ "topic" : "reason", "reason" : "restarted" }"#);
        assert_eq!((topic.reason, topic.topic.as_deref()), (ResetReason::Restarted, Some("reason")));
        assert_eq!(reset_notice(r#"{"reason":"expired","topic":"a\"b\\c"}"#).topic.as_deref(), Some("a\"b\\c"));
        let accents = reset_notice("{\"topic\":\"caf\u{e9} \\\u{e9}t\u{e9}\\n\",\n\t\"reason\"\t:\n\"lagged\"}");
        assert_eq!(
            (accents.topic.as_deref(), accents.reason),
            (Some("caf\u{e9} \u{e9}t\u{e9}\n"), ResetReason::Lagged)
        );
        for (data, reason) in [
            (r#"{"reason":"expired"}"#, ResetReason::Expired),
            (r#"{"reason":"unknown"}"#, ResetReason::Unknown),
            (r#"{"reason":"invalid"}"#, ResetReason::Invalid),
            (r#"{"reason":"from the future"}"#, ResetReason::Other),
            (r#"{"reason":42}"#, ResetReason::Other),
            (r#"{"reason":"expi"#, ResetReason::Other),
            ("not json", ResetReason::Other),
            ("", ResetReason::Other),
            ("\"reason\"", ResetReason::Other),
        ] {
            assert_eq!(reset_notice(data).reason, reason, "{data}");
        }
    }
}
