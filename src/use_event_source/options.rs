//! [`UseEventSourceOptions`]: how the hook opens its connection, and [`Transport`]/[`FetchOptions`]: which browser
//! API carries it. Every field has a default.

use std::fmt;
use std::sync::Arc;

use sse_live_protocol::Event;

/// A callback that sees every message (see [`UseEventSourceOptions::on_message`]).
pub(super) type MessageCallback = Arc<dyn Fn(&Event) + Send + Sync>;

/// A closure returning request headers (see [`FetchOptions::headers`]).
pub(super) type HeadersFn = Arc<dyn Fn() -> Vec<(String, String)> + Send + Sync>;

/// Options for [`use_event_source_with_options`](super::use_event_source_with_options).
///
/// ```
/// use sse_live::use_event_source::{FetchOptions, Transport, UseEventSourceOptions};
/// let options = UseEventSourceOptions::default().with_credentials(true);
/// assert!(options.is_with_credentials());
///
/// // A bearer token, sent again (freshly read) on every reconnect, over the fetch transport:
/// let options = UseEventSourceOptions::default()
///     .events(["reading"])
///     .transport(Transport::Fetch(FetchOptions::default().headers(|| {
///         vec![("Authorization".into(), "Bearer my-token".into())]
///     })));
/// ```
#[derive(Clone, Default)]
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
    /// use sse_live::use_event_source::{FetchOptions, Transport, UseEventSourceOptions};
    /// let options = UseEventSourceOptions::default().transport(Transport::Fetch(FetchOptions::default()));
    /// assert!(matches!(options.get_transport(), Transport::Fetch(_)));
    /// ```
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The transport in use.
    ///
    /// ```
    /// # use sse_live::use_event_source::{Transport, UseEventSourceOptions};
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
    /// use sse_live::use_event_source::UseEventSourceOptions;
    /// let options = UseEventSourceOptions::default().events(["reading", "reset"]);
    /// assert_eq!(options.get_events(), ["reading", "reset"]);
    /// ```
    pub fn events(mut self, events: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.events = events.into_iter().map(Into::into).collect();
        self
    }

    /// The event types delivered besides `message`.
    ///
    /// ```
    /// # use sse_live::use_event_source::UseEventSourceOptions;
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
    /// use sse_live::use_event_source::UseEventSourceOptions;
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

impl fmt::Debug for UseEventSourceOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UseEventSourceOptions")
            .field("with_credentials", &self.with_credentials)
            .field("transport", &self.transport)
            .field("events", &self.events)
            .field("on_message", &self.on_message.as_ref().map(|_| "Fn(&Event)"))
            .finish()
    }
}

/// Which browser API carries the stream.
///
/// ```
/// use sse_live::use_event_source::{Credentials, FetchOptions, Transport};
/// let transport = Transport::Fetch(
///     FetchOptions::default().method("POST").body(r#"{"topics":["temperatures"]}"#).credentials(Credentials::Include),
/// );
/// # let _ = transport;
/// ```
#[derive(Debug, Clone, Default)]
pub enum Transport {
    /// The browser's `EventSource`: GET only, no custom headers, and an error says nothing about why. The browser
    /// reconnects by itself.
    #[default]
    EventSource,
    /// `fetch()` with a streamed body, parsed by the protocol crate's parser: any method, headers evaluated on every
    /// attempt, a body, and typed HTTP errors. The hook reconnects itself, with `Last-Event-ID` and backoff.
    Fetch(FetchOptions),
}

/// How the fetch transport sends its request. Builder-style; every setter has a documented default.
///
/// ```
/// use sse_live::use_event_source::{Credentials, FetchOptions};
/// let token = std::sync::Arc::new(std::sync::Mutex::new(String::from("first")));
/// let current = token.clone();
/// let options = FetchOptions::default()
///     .method("POST")
///     .headers(move || vec![("Authorization".into(), format!("Bearer {}", current.lock().unwrap()))])
///     .body("{}")
///     .credentials(Credentials::Omit);
/// assert_eq!(options.header_values(), [("Authorization".to_owned(), "Bearer first".to_owned())]);
/// *token.lock().unwrap() = "refreshed".into(); // the next attempt sends the new token
/// assert_eq!(options.header_values()[0].1, "Bearer refreshed");
/// ```
#[derive(Clone)]
pub struct FetchOptions {
    /// The HTTP method. Default: `GET`.
    pub(super) method: String,
    /// Evaluated on every attempt. Default: no headers.
    pub(super) headers: HeadersFn,
    /// The request body. Default: none.
    pub(super) body: Option<String>,
    /// Whether cookies go with the request. Default: [`Credentials::SameOrigin`].
    pub(super) credentials: Credentials,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self { method: "GET".to_owned(), headers: Arc::new(Vec::new), body: None, credentials: Credentials::SameOrigin }
    }
}

impl FetchOptions {
    /// The HTTP method, e.g. `"POST"`. Default: `GET`.
    ///
    /// ```
    /// # use sse_live::use_event_source::FetchOptions;
    /// let options = FetchOptions::default().method("POST");
    /// # let _ = options;
    /// ```
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = method.into();
        self
    }

    /// A closure returning the request's extra headers as (name, value) pairs. It is called on EVERY attempt, the
    /// first and each reconnect, so a token refreshed meanwhile is sent on the next reconnect. Default: none.
    ///
    /// The transport itself sends `Accept: text/event-stream` (a header named here replaces it) and, on a reconnect
    /// after an event with an id, `Last-Event-ID` (which replaces one named here). A header the browser refuses (an
    /// invalid name or value) fails the connection with
    /// [`EventSourceError::InvalidRequest`](super::EventSourceError::InvalidRequest). Cross-origin, every header
    /// named here must be allowed by the server's CORS `Access-Control-Allow-Headers`.
    ///
    /// ```
    /// # use sse_live::use_event_source::FetchOptions;
    /// let options = FetchOptions::default().headers(|| vec![("X-Client".into(), "dashboard".into())]);
    /// assert_eq!(options.header_values(), [("X-Client".to_owned(), "dashboard".to_owned())]);
    /// ```
    pub fn headers(mut self, headers: impl Fn() -> Vec<(String, String)> + Send + Sync + 'static) -> Self {
        self.headers = Arc::new(headers);
        self
    }

    /// The request body, sent as text on every attempt (not with GET, which the browser refuses). Default: none.
    ///
    /// ```
    /// # use sse_live::use_event_source::FetchOptions;
    /// let options = FetchOptions::default().method("POST").body(r#"{"topics":["temperatures"]}"#);
    /// # let _ = options;
    /// ```
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Whether cookies go with the request (`RequestInit.credentials`). Default: [`Credentials::SameOrigin`].
    ///
    /// ```
    /// # use sse_live::use_event_source::{Credentials, FetchOptions};
    /// let options = FetchOptions::default().credentials(Credentials::Include);
    /// # let _ = options;
    /// ```
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Calls the headers closure: the headers the next attempt will send (besides `Accept` and `Last-Event-ID`).
    ///
    /// ```
    /// # use sse_live::use_event_source::FetchOptions;
    /// assert!(FetchOptions::default().header_values().is_empty());
    /// ```
    pub fn header_values(&self) -> Vec<(String, String)> {
        (self.headers)()
    }
}

impl fmt::Debug for FetchOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values are left out: they often hold secrets.
        f.debug_struct("FetchOptions")
            .field("method", &self.method)
            .field("headers", &"Fn() -> Vec<(String, String)>")
            .field("body", &self.body.as_ref().map(String::len))
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// Whether the fetch transport sends cookies (`RequestInit.credentials`).
///
/// ```
/// use sse_live::use_event_source::Credentials;
/// assert_eq!(Credentials::default(), Credentials::SameOrigin);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Credentials {
    /// Never send cookies (`"omit"`).
    Omit,
    /// Send cookies to the page's own origin only (`"same-origin"`, the default).
    #[default]
    SameOrigin,
    /// Send cookies cross-origin too (`"include"`): the server must name the page's origin in
    /// `Access-Control-Allow-Origin` and send `Access-Control-Allow-Credentials: true`.
    Include,
}
