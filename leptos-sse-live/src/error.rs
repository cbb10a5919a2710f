//! What can go wrong with a stream, as values: the hook never panics on what the network sends.

use std::fmt::{self, Write as _};

/// An error reported by [`use_event_source`](super::use_event_source) in its `error` signal.
///
/// ```
/// use leptos_sse_live::EventSourceError;
/// let error = EventSourceError::Decode { raw: "oops".into(), message: "expected value at line 1 column 1".into() };
/// assert_eq!(error.to_string(), "could not decode \"oops\": expected value at line 1 column 1");
///
/// // The fetch transport can say what the server answered:
/// let error = EventSourceError::Http { status: 401, message: "token expired".into() };
/// assert_eq!(error.to_string(), "the server answered HTTP 401: token expired");
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
    /// The browser has no `EventSource` and the crate's `fetch` feature, which would stand in for it, is off (state
    /// `Closed`).
    Unsupported,
    /// The connection dropped (the body ended, or a network error) or failed, and it is being re-established: by the
    /// browser itself, by the hook after its backoff when the browser gave up (native transport), or by the fetch
    /// transport after its backoff (state is `Connecting`).
    Disconnected,
    /// Native transport: the browser failed the connection (an HTTP status other than 200, a content type other than
    /// `text/event-stream`, or a network failure while connecting) and the hook's reconnect budget for this outage
    /// is spent (see [`UseEventSourceOptions::reconnect_limit`](super::UseEventSourceOptions::reconnect_limit)).
    /// State `Closed`, for good.
    ConnectionFailed,
    /// Fetch transport only: the server answered an HTTP status other than 200 (and other than 204, see
    /// [`ClosedByServer`](Self::ClosedByServer)). For 5xx, 408 and 429 the state is `Connecting` and the hook
    /// retries with backoff; for any other status it is `Closed` for good.
    Http {
        /// The HTTP status, e.g. 404.
        status: u16,
        /// The server's message: the response body as text, trimmed and cut to at most 1 KiB (with `…` when cut).
        message: String,
    },
    /// Fetch transport only: a 200 answer whose `Content-Type` is not `text/event-stream` (state `Closed`).
    ContentType {
        /// The `Content-Type` the server sent (empty when it sent none).
        content_type: String,
    },
    /// Fetch transport only: the server answered 204 No Content, its way to say "stop" (state `Closed`, no
    /// reconnect).
    ClosedByServer,
    /// Fetch transport only: the request could not be built (an invalid header name or value, an invalid method, a
    /// body with GET); the browser's explanation. State `Closed`.
    InvalidRequest {
        /// The browser's explanation.
        message: String,
    },
    /// `open()` rejoined a connection another hook kept open, and the messages since this hook left are no longer
    /// all held (the connection keeps its last 256 events): some were missed. The last message follows; the
    /// connection stays open. (When they are held, the hook gets them, each once, and no error.)
    Missed {
        /// This hook's last event id before it closed.
        since: String,
    },
    /// A message arrived whose data could not be decoded; the connection stays open.
    Decode {
        /// The message's data exactly as received.
        raw: String,
        /// The decoder's explanation (by default the JSON decoder's: what and where, as serde_json words it).
        message: String,
    },
}

impl fmt::Display for EventSourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { url, message } => write!(f, "cannot open {}: {message}", Quoted(url)),
            Self::Unsupported => {
                f.write_str("this browser has no EventSource (the fetch feature of leptos-sse-live would stand in)")
            }
            Self::Disconnected => f.write_str("the connection dropped; reconnecting"),
            Self::ConnectionFailed => f.write_str("the connection failed and retrying stopped"),
            Self::Http { status, message } if message.is_empty() => write!(f, "the server answered HTTP {status}"),
            Self::Http { status, message } => write!(f, "the server answered HTTP {status}: {message}"),
            Self::ContentType { content_type } => {
                write!(f, "the server answered {} instead of \"text/event-stream\"", Quoted(content_type))
            }
            Self::ClosedByServer => f.write_str("the server closed the stream for good (HTTP 204)"),
            Self::InvalidRequest { message } => write!(f, "cannot send the request: {message}"),
            Self::Missed { since } => write!(f, "events after id {} were missed", Quoted(since)),
            Self::Decode { raw, message } => write!(f, "could not decode {}: {message}", Quoted(raw)),
        }
    }
}

impl std::error::Error for EventSourceError {}

/// A string in double quotes with `"`, `\\` and control characters escaped as Rust writes them, for the messages
/// above. `{:?}` would do the same but links `str`'s `Debug` (its Unicode tables for escaping what is not printable,
/// and the slicing panic), about 4 KB of a wasm client.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings_read_as_rusts_debug_writes_them() {
        for text in ["", "plain", "say \"hi\"", "back\\slash", "two\nlines\r\n", "tab\there", "bell\u{7}", "é ✓ 😀"]
        {
            assert_eq!(Quoted(text).to_string(), format!("{text:?}"), "{text:?}");
        }
        let error = EventSourceError::Decode { raw: "{\"t\":\n".to_owned(), message: "EOF".to_owned() };
        assert_eq!(error.to_string(), "could not decode \"{\\\"t\\\":\\n\": EOF");
    }
}
