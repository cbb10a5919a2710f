//! What can go wrong with a stream, as values: the hook never panics on what the network sends.

use std::fmt;

/// An error reported by [`use_event_source`](super::use_event_source) in its `error` signal.
///
/// ```
/// use sse_live::use_event_source::EventSourceError;
/// let error = EventSourceError::Decode { raw: "oops".into(), message: "expected value at line 1 column 1".into() };
/// assert_eq!(error.to_string(), "could not decode \"oops\": expected value at line 1 column 1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSourceError {
    /// The browser refused to create the `EventSource` (for example an unparsable URL).
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// The browser's explanation.
        message: String,
    },
    /// The connection dropped and the browser is re-establishing it by itself (state is `Connecting`).
    Disconnected,
    /// The browser gave up on the connection (state is `Closed`): an HTTP status other than 200, a content type
    /// other than `text/event-stream`, or a network failure while connecting.
    ConnectionFailed,
    /// A message arrived whose data could not be decoded; the connection stays open.
    Decode {
        /// The message's data exactly as received.
        raw: String,
        /// The decoder's explanation (serde_json's message by default).
        message: String,
    },
}

impl fmt::Display for EventSourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { url, message } => write!(f, "cannot open {url:?}: {message}"),
            Self::Disconnected => f.write_str("the connection dropped; the browser is reconnecting"),
            Self::ConnectionFailed => f.write_str("the connection failed and the browser stopped retrying"),
            Self::Decode { raw, message } => write!(f, "could not decode {raw:?}: {message}"),
        }
    }
}

impl std::error::Error for EventSourceError {}
