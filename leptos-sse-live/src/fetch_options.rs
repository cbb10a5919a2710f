//! [`FetchOptions`] and [`Credentials`]: how the fetch transport (feature `fetch`) sends its request.

use std::fmt;
use std::sync::Arc;

/// A closure returning request headers (see [`FetchOptions::headers`]).
pub(super) type HeadersFn = Arc<dyn Fn() -> Vec<(String, String)> + Send + Sync>;

/// How the fetch transport sends its request. Builder-style; every setter has a documented default.
///
/// ```
/// use leptos_sse_live::{Credentials, FetchOptions};
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
    /// # use leptos_sse_live::FetchOptions;
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
    /// # use leptos_sse_live::FetchOptions;
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
    /// # use leptos_sse_live::FetchOptions;
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
    /// # use leptos_sse_live::{Credentials, FetchOptions};
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
    /// # use leptos_sse_live::FetchOptions;
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
/// use leptos_sse_live::Credentials;
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
