//! [`UseEventSourceOptions`]: how the hook opens its connection. Every field has a default.

/// Options for [`use_event_source_with_options`](super::use_event_source_with_options).
///
/// ```
/// use sse_live::use_event_source::UseEventSourceOptions;
/// let options = UseEventSourceOptions::default().with_credentials(true);
/// assert!(options.is_with_credentials());
/// ```
#[derive(Debug, Clone, Default)]
pub struct UseEventSourceOptions {
    /// Send cookies with a cross-origin request (`EventSourceInit.withCredentials`). Default: `false`.
    with_credentials: bool,
}

impl UseEventSourceOptions {
    /// Sets `withCredentials`: cookies go with a cross-origin request (the server must then name the origin in
    /// `Access-Control-Allow-Origin` and send `Access-Control-Allow-Credentials: true`).
    pub fn with_credentials(mut self, with_credentials: bool) -> Self {
        self.with_credentials = with_credentials;
        self
    }

    /// Whether cookies go with a cross-origin request.
    pub fn is_with_credentials(&self) -> bool {
        self.with_credentials
    }
}
