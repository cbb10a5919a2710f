//! [`UseEventSourceOptions`]: how the hook opens its connection, and [`Transport`]: which browser API carries it. Every field has a default.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sse_live_protocol::Event;

#[cfg(feature = "fetch")]
use crate::FetchOptions;

/// A callback that sees every message (see [`UseEventSourceOptions::on_message`]).
pub(super) type MessageCallback = Arc<dyn Fn(&Event) + Send + Sync>;

/// A callback called when the hook gives up reconnecting (see [`UseEventSourceOptions::on_failed`]).
pub(super) type FailedCallback = Arc<dyn Fn() + Send + Sync>;

/// A callback called when the server says the stream's credentials expired (see
/// [`UseEventSourceOptions::on_expired`]).
pub(super) type ExpiredCallback = Arc<dyn Fn() -> Renewal + Send + Sync>;

/// What the hook reconnects with after the server's `event: expired` (the subscriber token of a private stream ran
/// out), as returned by [`UseEventSourceOptions::on_expired`]. `Renewal::default()` reconnects at once to the same
/// URL with the same headers (with the fetch transport the headers closure is called again, so a token refreshed
/// meanwhile is sent).
///
/// ```
/// use leptos_sse_live::Renewal;
/// let renewal = Renewal::default().url("/e/private/notes?token=fresh").headers(vec![("X-Token".into(), "fresh".into())]);
/// assert_eq!(renewal.url.as_deref(), Some("/e/private/notes?token=fresh"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renewal {
    /// Reconnect to this URL from now on (a fresh token in its query, say); `None`: the same URL.
    pub url: Option<String>,
    /// Fetch transport: send these headers from now on instead of those of
    /// [`FetchOptions::headers`](crate::FetchOptions); `None`: keep them. Ignored by the `EventSource` transport.
    pub headers: Option<Vec<(String, String)>>,
}

impl Renewal {
    /// Reconnect to `url` from now on.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Fetch transport: send `headers` from now on.
    pub fn headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.headers = Some(headers);
        self
    }
}

/// Options for [`use_event_source_with_options`](super::use_event_source_with_options).
///
/// ```
/// use leptos_sse_live::UseEventSourceOptions;
/// let options = UseEventSourceOptions::default().with_credentials(true);
/// assert!(options.is_with_credentials());
///
/// // A bearer token, sent again (freshly read) on every reconnect, over the fetch transport (feature `fetch`):
/// # #[cfg(feature = "fetch")] {
/// use leptos_sse_live::{FetchOptions, Transport};
/// let options = UseEventSourceOptions::default()
///     .events(["reading"])
///     .transport(Transport::Fetch(FetchOptions::default().headers(|| {
///         vec![("Authorization".into(), "Bearer my-token".into())]
///     })));
/// # }
/// ```
#[derive(Clone)]
pub struct UseEventSourceOptions {
    /// Send cookies with a cross-origin request (`EventSourceInit.withCredentials`). Default: `false`.
    /// The fetch transport uses [`FetchOptions::credentials`] instead.
    pub(super) with_credentials: bool,
    /// Which browser API carries the stream. Default: [`Transport::EventSource`].
    pub(super) transport: Transport,
    /// Event types delivered besides `message`. Default: none.
    pub(super) events: Vec<String>,
    /// Called for every message, in order, before the signals are set. Default: none.
    pub(super) on_message: Option<MessageCallback>,
    /// How many times the hook reconnects per outage after the browser gave up. Default: `Limited(5)`.
    pub(super) reconnect_limit: ReconnectLimit,
    /// The wait before the first of those reconnects. Default: 1 s.
    pub(super) reconnect_initial_delay: Duration,
    /// How much the longest wait grows per reconnect. Default: 2.
    pub(super) reconnect_factor: f64,
    /// The cap of the longest wait. Default: 30 s.
    pub(super) reconnect_max_delay: Duration,
    /// Called once when the budget is spent. Default: none.
    pub(super) on_failed: Option<FailedCallback>,
    /// The query parameter carrying the last event id on the hook's own reconnects. Default: `lastEventId`.
    pub(super) last_event_id_param: String,
    /// The event type that ends the stream for good. Default: none.
    pub(super) terminal_event: Option<String>,
    /// How many decoded values the `history` signal keeps. Default: 0 (off).
    pub(super) history: usize,
    /// Whether a decode error closes the connection. Default: `false`.
    pub(super) close_on_decode_error: bool,
    /// How long a connection may go without a sign of life before the hook reconnects. Default: none (off).
    pub(super) stall_timeout: Option<Duration>,
    /// Whether hooks with the same URL and connection options share one connection. Default: `true`.
    pub(super) shared: bool,
    /// How long the page may be hidden before the connection closes until it is visible again. Default: none (off).
    pub(super) close_when_hidden: Option<Duration>,
    /// Whether signal updates are applied at most once per animation frame. Default: `true`.
    pub(super) coalesce_updates: bool,
    /// Whether the hook connects as soon as the component is live, or waits for `open()`. Default: `true`.
    pub(super) immediate: bool,
    /// Whether `history` survives the server's `event: reset`. Default: `false` (it is cleared).
    pub(super) keep_history_on_reset: bool,
    /// Called on the server's `event: expired`, for what to reconnect with. Default: none.
    pub(super) on_expired: Option<ExpiredCallback>,
    /// Whether the connection is shared with the browser's other tabs. Default: `false`.
    #[cfg(feature = "cross-tab")]
    pub(super) share_across_tabs: bool,
}

impl Default for UseEventSourceOptions {
    fn default() -> Self {
        Self {
            with_credentials: false,
            transport: Transport::default(),
            events: Vec::new(),
            on_message: None,
            reconnect_limit: ReconnectLimit::default(),
            reconnect_initial_delay: Duration::from_secs(1),
            reconnect_factor: 2.0,
            reconnect_max_delay: Duration::from_secs(30),
            on_failed: None,
            last_event_id_param: "lastEventId".to_owned(),
            terminal_event: None,
            history: 0,
            close_on_decode_error: false,
            stall_timeout: None,
            shared: true,
            close_when_hidden: None,
            coalesce_updates: true,
            immediate: true,
            keep_history_on_reset: false,
            on_expired: None,
            #[cfg(feature = "cross-tab")]
            share_across_tabs: false,
        }
    }
}

impl UseEventSourceOptions {
    /// Sets `withCredentials`: cookies go with a cross-origin request (the server must then name the origin in
    /// `Access-Control-Allow-Origin` and send `Access-Control-Allow-Credentials: true`). Only for
    /// [`Transport::EventSource`]; the fetch transport has [`FetchOptions::credentials`].
    pub fn with_credentials(mut self, with_credentials: bool) -> Self {
        self.with_credentials = with_credentials;
        self
    }

    /// Whether cookies go with a cross-origin request.
    pub fn is_with_credentials(&self) -> bool {
        self.with_credentials
    }

    /// Chooses the transport: [`Transport::EventSource`] (the default) or [`Transport::Fetch`] for headers, POST and
    /// HTTP errors with their status.
    ///
    /// ```
    /// # #[cfg(feature = "fetch")] {
    /// use leptos_sse_live::{FetchOptions, Transport, UseEventSourceOptions};
    /// let options = UseEventSourceOptions::default().transport(Transport::Fetch(FetchOptions::default()));
    /// assert!(matches!(options.get_transport(), Transport::Fetch(_)));
    /// # }
    /// ```
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The transport in use.
    ///
    /// ```
    /// # use leptos_sse_live::{Transport, UseEventSourceOptions};
    /// assert!(matches!(UseEventSourceOptions::default().get_transport(), Transport::EventSource));
    /// ```
    pub fn get_transport(&self) -> &Transport {
        &self.transport
    }

    /// Event types to deliver besides `message` (an `event: reading` field names the type `reading`). Default:
    /// none, only `message` events are delivered, as with `EventSource.onmessage`. Both transports deliver exactly
    /// the same events.
    ///
    /// ```
    /// use leptos_sse_live::UseEventSourceOptions;
    /// let options = UseEventSourceOptions::default().events(["reading", "reset"]);
    /// assert_eq!(options.get_events(), ["reading", "reset"]);
    /// ```
    pub fn events(mut self, events: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.events = events.into_iter().map(Into::into).collect();
        self
    }

    /// An event of this type ends the stream for good: the hook closes the connection, the state becomes `Closed`
    /// with no error (`error` keeps whatever it held), and nothing reconnects, neither the browser nor the hook.
    /// Both transports. The terminal event itself is not decoded, not passed to
    /// [`on_message`](Self::on_message) and not put in the `message` signal; the events before it are, as usual.
    /// The hook listens to this type without it being named in [`events`](Self::events). Default: none.
    ///
    /// ```
    /// use leptos_sse_live::UseEventSourceOptions;
    /// // The server sends `event: progress` events, then `event: end` when the job is done.
    /// let options = UseEventSourceOptions::default().events(["progress"]).terminal_event("end");
    /// assert_eq!(options.get_terminal_event(), Some("end"));
    /// ```
    pub fn terminal_event(mut self, event_type: impl Into<String>) -> Self {
        self.terminal_event = Some(event_type.into());
        self
    }

    /// The event type that ends the stream for good, if any.
    ///
    /// ```
    /// # use leptos_sse_live::UseEventSourceOptions;
    /// assert_eq!(UseEventSourceOptions::default().get_terminal_event(), None);
    /// ```
    pub fn get_terminal_event(&self) -> Option<&str> {
        self.terminal_event.as_deref()
    }

    /// Keeps the last `len` decoded values in the returned `history` signal, oldest first: every message whose data
    /// decodes goes in, in stream order, even when many arrive at once (undecodable ones do not). Default: 0, off
    /// (`history` stays empty).
    ///
    /// ```
    /// use leptos_sse_live::UseEventSourceOptions;
    /// let options = UseEventSourceOptions::default().history(50);
    /// assert_eq!(options.get_history(), 50);
    /// ```
    pub fn history(mut self, len: usize) -> Self {
        self.history = len;
        self
    }

    /// When `true`, a message whose data does not decode closes the connection for good, as `close()` does: `error`
    /// holds the [`Decode`](super::EventSourceError::Decode) error, `message` the offending message, the state is
    /// `Closed`, and nothing reconnects. Default: `false`, the error is reported and the stream goes on.
    ///
    /// ```
    /// use leptos_sse_live::UseEventSourceOptions;
    /// let options = UseEventSourceOptions::default().close_on_decode_error(true);
    /// assert!(options.is_close_on_decode_error());
    /// ```
    pub fn close_on_decode_error(mut self, close: bool) -> Self {
        self.close_on_decode_error = close;
        self
    }

    /// Whether a decode error closes the connection.
    pub fn is_close_on_decode_error(&self) -> bool {
        self.close_on_decode_error
    }

    /// Stall detection: when a connection shows no sign of life for `timeout`, the hook closes it and reconnects
    /// with the last event id (state `Connecting`, error [`Disconnected`](super::EventSourceError::Disconnected)).
    /// Default: off.
    ///
    /// Signs of life: with the fetch transport, every chunk of the body (keep-alive comments count); with the
    /// `EventSource` transport, the opening and every message (the browser hides comments, so the server must send
    /// events, or keep-alive *events*, more often than `timeout`). A stall counts as a dropped connection, not as a
    /// failed attempt of the reconnect budget.
    ///
    /// ```
    /// use std::time::Duration;
    /// use leptos_sse_live::UseEventSourceOptions;
    /// let options = UseEventSourceOptions::default().stall_timeout(Duration::from_secs(45));
    /// assert_eq!(options.get_stall_timeout(), Some(Duration::from_secs(45)));
    /// ```
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = Some(timeout);
        self
    }

    /// The stall timeout, if stall detection is on.
    pub fn get_stall_timeout(&self) -> Option<Duration> {
        self.stall_timeout
    }

    /// Whether this hook may share its connection: hooks on the same page with the same URL and the same connection
    /// options (transport, credentials, event types, reconnect and stall settings, `close_when_hidden`) share one
    /// connection, opened by the first and closed when the last one closes or unmounts. A hook that joins gets the
    /// connection's state, error and last message at once. Browsers allow about 6 HTTP/1.1 connections per origin
    /// across all tabs, so this is on by default; `false` gives this hook a connection of its own.
    ///
    /// What each hook does with the messages stays its own: its type and decoder, `history`, `on_message`,
    /// `terminal_event` (it closes that hook's share only), `close_on_decode_error`, `close()`. With the fetch
    /// transport the headers are a closure that cannot be compared: hooks share only when given the same
    /// [`FetchOptions`] value (cloned).
    ///
    /// ```
    /// use leptos_sse_live::UseEventSourceOptions;
    /// assert!(UseEventSourceOptions::default().is_shared());
    /// assert!(!UseEventSourceOptions::default().shared(false).is_shared());
    /// ```
    pub fn shared(mut self, shared: bool) -> Self {
        self.shared = shared;
        self
    }

    /// Whether this hook may share its connection (see [`shared`](Self::shared)).
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// Feature `cross-tab`: one connection per browser, not per tab. The tabs of this origin whose hooks ask for
    /// the same URL with the same connection options elect a leader (Web Locks API) that holds the connection and
    /// passes its events, state and errors to the others over a `BroadcastChannel`; each tab decodes them for its
    /// own hooks. When the leader tab closes (or its hooks all close or unmount) the next tab takes over at once and
    /// resumes after the last event id, so every tab gets each event once. The connection ends when no tab wants it.
    /// A browser without `BroadcastChannel` or `navigator.locks` gets one connection per tab, as with `false`.
    /// Default: `false`. Needs [`shared`](Self::shared) (the default); see the crate's README for the details.
    ///
    /// ```
    /// use leptos_sse_live::UseEventSourceOptions;
    /// let options = UseEventSourceOptions::default().share_across_tabs(true);
    /// assert!(options.is_shared_across_tabs());
    /// assert!(!UseEventSourceOptions::default().is_shared_across_tabs());
    /// ```
    #[cfg(feature = "cross-tab")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cross-tab")))]
    pub fn share_across_tabs(mut self, share: bool) -> Self {
        self.share_across_tabs = share;
        self
    }

    /// Whether the connection is shared with the browser's other tabs (see
    /// [`share_across_tabs`](Self::share_across_tabs)).
    #[cfg(feature = "cross-tab")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cross-tab")))]
    pub fn is_shared_across_tabs(&self) -> bool {
        self.share_across_tabs
    }

    /// Closes the connection while the page is hidden (another tab, a minimised window) for longer than `grace`,
    /// and reopens it, carrying the last event id so the server can replay what was missed, when the page is
    /// visible again. Meanwhile the state is `Closed` with no error. Default: off (the stream stays open).
    ///
    /// A hidden tab's connection still counts against the browser's per-origin limit and the server's capacity;
    /// a short grace period keeps a quick tab switch from reconnecting.
    ///
    /// ```
    /// use std::time::Duration;
    /// use leptos_sse_live::UseEventSourceOptions;
    /// let options = UseEventSourceOptions::default().close_when_hidden(Duration::from_secs(30));
    /// assert_eq!(options.get_close_when_hidden(), Some(Duration::from_secs(30)));
    /// ```
    pub fn close_when_hidden(mut self, grace: Duration) -> Self {
        self.close_when_hidden = Some(grace);
        self
    }

    /// The grace period of [`close_when_hidden`](Self::close_when_hidden), if set.
    pub fn get_close_when_hidden(&self) -> Option<Duration> {
        self.close_when_hidden
    }

    /// Whether the signals (`data`, `message`, `history`, `last_event_id`, a decode error) are updated at most once
    /// per animation frame. On by default: a burst of a thousand messages in one frame re-renders once, with the
    /// last message in `data` and all of them in `history`; [`on_message`](Self::on_message) is still called for
    /// every message. A state change applies what is pending first. While the page is hidden the
    /// browser runs no animation frames: the signals catch up when it is visible. `false` updates the signals on
    /// every message.
    ///
    /// ```
    /// use leptos_sse_live::UseEventSourceOptions;
    /// assert!(UseEventSourceOptions::default().is_coalesce_updates());
    /// assert!(!UseEventSourceOptions::default().coalesce_updates(false).is_coalesce_updates());
    /// ```
    pub fn coalesce_updates(mut self, coalesce: bool) -> Self {
        self.coalesce_updates = coalesce;
        self
    }

    /// Whether signal updates are coalesced per animation frame (see [`coalesce_updates`](Self::coalesce_updates)).
    pub fn is_coalesce_updates(&self) -> bool {
        self.coalesce_updates
    }

    /// `false`: the hook opens nothing until [`open`](super::UseEventSourceReturn::open) is called, as leptos-use's
    /// `immediate(false)`. Until then the state is `Closed` (no error) and a change of a reactive URL opens nothing
    /// either; after `open()` the hook behaves as usual (a URL change reconnects). Default: `true`, the hook connects
    /// as soon as the component is live.
    ///
    /// ```
    /// use leptos_sse_live::UseEventSourceOptions;
    /// assert!(UseEventSourceOptions::default().is_immediate());
    /// assert!(!UseEventSourceOptions::default().immediate(false).is_immediate());
    /// ```
    pub fn immediate(mut self, immediate: bool) -> Self {
        self.immediate = immediate;
        self
    }

    /// Whether the hook connects as soon as the component is live (see [`immediate`](Self::immediate)).
    pub fn is_immediate(&self) -> bool {
        self.immediate
    }

    /// `true`: the server's `event: reset` leaves `history` as it is. Default: `false`, a reset (the server can no
    /// longer replay what this client missed, or its ids restarted, and sends its history again) clears `history`
    /// so that a chart never shows the same readings twice; the returned `reset` signal holds the notice either
    /// way.
    ///
    /// ```
    /// use leptos_sse_live::UseEventSourceOptions;
    /// assert!(!UseEventSourceOptions::default().is_keep_history_on_reset());
    /// assert!(UseEventSourceOptions::default().keep_history_on_reset(true).is_keep_history_on_reset());
    /// ```
    pub fn keep_history_on_reset(mut self, keep: bool) -> Self {
        self.keep_history_on_reset = keep;
        self
    }

    /// Whether `history` survives a reset (see [`keep_history_on_reset`](Self::keep_history_on_reset)).
    pub fn is_keep_history_on_reset(&self) -> bool {
        self.keep_history_on_reset
    }

    /// Called when the server sends `event: expired` (the subscriber token of a private stream ran out; the server
    /// ends the stream right after). The hook then closes the connection at once and reconnects, resuming after the
    /// last event id, with what the callback returns: a new URL and/or, with the fetch transport, new headers (see
    /// [`Renewal`]). Without it (the default) nothing special happens: the stream ends and is reconnected as usual,
    /// with the same credentials. A connection option: hooks share a connection only with the same callback (the
    /// same `Arc`, as for [`FetchOptions`]).
    ///
    /// ```
    /// use leptos_sse_live::{Renewal, UseEventSourceOptions};
    /// # fn fresh_token() -> String { "t".into() }
    /// let options = UseEventSourceOptions::default()
    ///     .on_expired(|| Renewal::default().url(format!("/e/private/notes?token={}", fresh_token())));
    /// # let _ = options;
    /// ```
    pub fn on_expired(mut self, on_expired: impl Fn() -> Renewal + Send + Sync + 'static) -> Self {
        self.on_expired = Some(Arc::new(on_expired));
        self
    }

    /// How many decoded values the `history` signal keeps (0: off).
    ///
    /// ```
    /// # use leptos_sse_live::UseEventSourceOptions;
    /// assert_eq!(UseEventSourceOptions::default().get_history(), 0);
    /// ```
    pub fn get_history(&self) -> usize {
        self.history
    }

    /// The event types delivered besides `message`.
    ///
    /// ```
    /// # use leptos_sse_live::UseEventSourceOptions;
    /// assert!(UseEventSourceOptions::default().get_events().is_empty());
    /// ```
    pub fn get_events(&self) -> &[String] {
        &self.events
    }

    /// Calls `on_message` with every message, in stream order, before the signals are set: unlike the `message`
    /// signal, which holds only the last one, it misses none. It runs for every delivered event type (see
    /// [`events`](Self::events)), whether or not the data decodes. Default: none. It is never called after `close()`
    /// or unmount.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use leptos_sse_live::UseEventSourceOptions;
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let options = UseEventSourceOptions::default().on_message(move |event| {
    ///     log.lock().unwrap().push(event.data.clone());
    /// });
    /// # let _ = options;
    /// ```
    pub fn on_message(mut self, on_message: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.on_message = Some(Arc::new(on_message));
        self
    }
}

/// The hook's own reconnects: after the browser gave up ([`Transport::EventSource`]), or after any failed attempt
/// ([`Transport::Fetch`]). See the [module docs](super#reconnecting-after-the-browser-gives-up).
impl UseEventSourceOptions {
    /// How many times the hook reconnects per outage after the browser gave up (an HTTP error, a wrong content
    /// type, a network failure while connecting): `Limited(n)` is exactly `n` retries, so `n + 1` requests in all,
    /// before the state stays `Closed` with [`ConnectionFailed`](super::EventSourceError::ConnectionFailed) and
    /// [`on_failed`](Self::on_failed) is called; a connection that opens gives the next outage the whole budget
    /// again. `Limited(0)` is the browser's behaviour: no retry. Default: `Limited(5)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use leptos_sse_live::{ReconnectLimit, UseEventSourceOptions};
    /// let options = UseEventSourceOptions::default()
    ///     .reconnect_limit(ReconnectLimit::Limited(3))
    ///     .reconnect_initial_delay(Duration::from_millis(500))
    ///     .reconnect_factor(1.5)
    ///     .reconnect_max_delay(Duration::from_secs(10))
    ///     .on_failed(|| eprintln!("the stream is down for good"));
    /// assert_eq!(options.get_reconnect_limit(), ReconnectLimit::Limited(3));
    /// assert_eq!(UseEventSourceOptions::default().get_reconnect_limit(), ReconnectLimit::Limited(5));
    /// ```
    pub fn reconnect_limit(mut self, limit: ReconnectLimit) -> Self {
        self.reconnect_limit = limit;
        self
    }

    /// The reconnect budget per outage (see [`reconnect_limit`](Self::reconnect_limit)).
    pub fn get_reconnect_limit(&self) -> ReconnectLimit {
        self.reconnect_limit
    }

    /// The wait before the first reconnect of an outage, and the shortest wait of any. Default: 1 s.
    ///
    /// The wait before retry `r` (from 0) is random, uniform between `initial` and `min(max, initial × factor^r)`
    /// (full jitter), so that many clients do not come back at once.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use leptos_sse_live::UseEventSourceOptions;
    /// let options = UseEventSourceOptions::default().reconnect_initial_delay(Duration::from_millis(250));
    /// # let _ = options;
    /// ```
    pub fn reconnect_initial_delay(mut self, initial: Duration) -> Self {
        self.reconnect_initial_delay = initial;
        self
    }

    /// How much the longest wait grows with each retry of an outage. Default: 2. A factor below 1 (or not finite)
    /// counts as 1: a constant wait.
    ///
    /// ```
    /// # use leptos_sse_live::UseEventSourceOptions;
    /// let options = UseEventSourceOptions::default().reconnect_factor(1.5);
    /// # let _ = options;
    /// ```
    pub fn reconnect_factor(mut self, factor: f64) -> Self {
        self.reconnect_factor = factor;
        self
    }

    /// The cap of the longest wait. Default: 30 s. An initial delay above it wins.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use leptos_sse_live::UseEventSourceOptions;
    /// let options = UseEventSourceOptions::default().reconnect_max_delay(Duration::from_secs(5));
    /// # let _ = options;
    /// ```
    pub fn reconnect_max_delay(mut self, max: Duration) -> Self {
        self.reconnect_max_delay = max;
        self
    }

    /// Called once when the hook gives up: the browser failed the connection and the
    /// [budget](Self::reconnect_limit) of the outage is spent. The state is then `Closed` and `error` is
    /// [`ConnectionFailed`](super::EventSourceError::ConnectionFailed). Never called after `close()` or unmount.
    /// Default: none.
    ///
    /// ```
    /// # use leptos_sse_live::UseEventSourceOptions;
    /// let options = UseEventSourceOptions::default().on_failed(|| eprintln!("giving up"));
    /// # let _ = options;
    /// ```
    pub fn on_failed(mut self, on_failed: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_failed = Some(Arc::new(on_failed));
        self
    }

    /// The query parameter that carries the last event id when the hook reconnects by itself (a new `EventSource`
    /// cannot send the `Last-Event-ID` header): `/e/x?lastEventId=41`, appended with `?` or `&`, percent-encoded.
    /// Left out while no event had an id. Default: `lastEventId`.
    ///
    /// ```
    /// # use leptos_sse_live::UseEventSourceOptions;
    /// let options = UseEventSourceOptions::default().last_event_id_param("since");
    /// assert_eq!(options.get_last_event_id_param(), "since");
    /// ```
    pub fn last_event_id_param(mut self, name: impl Into<String>) -> Self {
        self.last_event_id_param = name.into();
        self
    }

    /// The query parameter that carries the last event id on the hook's own reconnects.
    pub fn get_last_event_id_param(&self) -> &str {
        &self.last_event_id_param
    }
}

/// How many times the hook reconnects per outage (see [`UseEventSourceOptions::reconnect_limit`]).
///
/// ```
/// use leptos_sse_live::ReconnectLimit;
/// assert_eq!(ReconnectLimit::default(), ReconnectLimit::Limited(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReconnectLimit {
    /// At most this many retries per outage (`n + 1` requests in all); `Limited(0)` never retries.
    Limited(u32),
    /// Retry for as long as the component lives.
    Unlimited,
}

impl Default for ReconnectLimit {
    fn default() -> Self {
        Self::Limited(5)
    }
}

impl ReconnectLimit {
    /// The limit as a number, `None` for unlimited.
    pub(super) fn as_option(self) -> Option<u32> {
        match self {
            Self::Limited(n) => Some(n),
            Self::Unlimited => None,
        }
    }
}

impl fmt::Debug for UseEventSourceOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("UseEventSourceOptions");
        f.field("with_credentials", &self.with_credentials)
            .field("transport", &self.transport)
            .field("events", &self.events)
            .field("on_message", &self.on_message.as_ref().map(|_| "Fn(&Event)"))
            .field("reconnect_limit", &self.reconnect_limit)
            .field("reconnect_initial_delay", &self.reconnect_initial_delay)
            .field("reconnect_factor", &self.reconnect_factor)
            .field("reconnect_max_delay", &self.reconnect_max_delay)
            .field("on_failed", &self.on_failed.as_ref().map(|_| "Fn()"))
            .field("last_event_id_param", &self.last_event_id_param)
            .field("terminal_event", &self.terminal_event)
            .field("history", &self.history)
            .field("close_on_decode_error", &self.close_on_decode_error)
            .field("stall_timeout", &self.stall_timeout)
            .field("shared", &self.shared)
            .field("close_when_hidden", &self.close_when_hidden)
            .field("coalesce_updates", &self.coalesce_updates)
            .field("immediate", &self.immediate)
            .field("keep_history_on_reset", &self.keep_history_on_reset)
            .field("on_expired", &self.on_expired.as_ref().map(|_| "Fn() -> Renewal"));
        #[cfg(feature = "cross-tab")]
        f.field("share_across_tabs", &self.share_across_tabs);
        f.finish()
    }
}

/// Which browser API carries the stream. `Fetch` needs the `fetch` feature.
///
/// ```
/// # #[cfg(feature = "fetch")] {
/// use leptos_sse_live::{Credentials, FetchOptions, Transport};
/// let transport = Transport::Fetch(
///     FetchOptions::default().method("POST").body(r#"{"topics":["temperatures"]}"#).credentials(Credentials::Include),
/// );
/// # let _ = transport;
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum Transport {
    /// The browser's `EventSource`: GET only, no custom headers, and an error says nothing about why. The browser
    /// reconnects by itself after a dropped stream; after a failed connection the hook does, within its budget (see
    /// [`UseEventSourceOptions::reconnect_limit`]).
    #[default]
    EventSource,
    /// `fetch()` with a streamed body, parsed by the protocol crate's parser: any method, headers evaluated on every
    /// attempt, a body, and typed HTTP errors. The hook reconnects itself, with `Last-Event-ID` and backoff.
    #[cfg(feature = "fetch")]
    #[cfg_attr(docsrs, doc(cfg(feature = "fetch")))]
    Fetch(FetchOptions),
}
