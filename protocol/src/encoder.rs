//! How an event becomes bytes on the wire.
//!
//! [`EventBuilder`] validates as it builds, so a [`Frame`] is always a well-formed event: multi-line data becomes
//! several `data:` lines, and a CR, LF or NUL in an `event` name or `id` is an [`EncodeError`], never an injected field.

use std::fmt;
use std::time::Duration;

/// Why an event could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The `event:` name contains CR, LF or NUL.
    InvalidEventType(String),
    /// The `id:` contains CR, LF or NUL (a NUL would make browsers ignore it).
    InvalidId(String),
    /// A comment contains CR or LF (it would end the comment line and start a field).
    InvalidComment(String),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidEventType(v) => write!(f, "event type {v:?} contains CR, LF or NUL"),
            Self::InvalidId(v) => write!(f, "event id {v:?} contains CR, LF or NUL"),
            Self::InvalidComment(v) => write!(f, "comment {v:?} contains CR or LF"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// One encoded event (or comment), ready to be written to a `text/event-stream` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame(String);

impl Frame {
    /// A comment line (`: text`), which clients ignore; servers send it as a keep-alive.
    ///
    /// ```
    /// use sse_live_protocol::Frame;
    /// assert_eq!(Frame::comment("keep-alive").unwrap().as_str(), ": keep-alive\n\n");
    /// ```
    pub fn comment(text: &str) -> Result<Frame, EncodeError> {
        if text.contains(['\r', '\n']) {
            return Err(EncodeError::InvalidComment(text.to_owned()));
        }
        let mut out = String::with_capacity(text.len() + 4);
        out.push(':');
        if !text.is_empty() {
            out.push(' ');
            out.push_str(text);
        }
        // The blank line makes keep-alives flush through line-buffering proxies; clients dispatch nothing for it.
        out.push_str("\n\n");
        Ok(Frame(out))
    }

    /// The frame as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The frame as bytes for a response body.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0.into_bytes()
    }
}

impl From<Frame> for String {
    fn from(frame: Frame) -> String {
        frame.0
    }
}

/// Builds one event; [`EventBuilder::build`] checks every field.
///
/// ```
/// use sse_live_protocol::EventBuilder;
/// let frame = EventBuilder::new().event("reading").id("7").data("line one\nline two").build().unwrap();
/// assert_eq!(frame.as_str(), "event: reading\nid: 7\ndata: line one\ndata: line two\n\n");
///
/// assert!(EventBuilder::new().id("7\ndata: injected").data("x").build().is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct EventBuilder {
    event: Option<String>,
    id: Option<String>,
    data: Option<String>,
    retry: Option<Duration>,
}

impl EventBuilder {
    /// An empty event (add at least `data` for a client to dispatch it).
    pub fn new() -> Self {
        Self::default()
    }

    /// The `event:` field (the client's event type; `message` when absent).
    pub fn event(mut self, event_type: impl Into<String>) -> Self {
        self.event = Some(event_type.into());
        self
    }

    /// The `id:` field, which the client sends back as `Last-Event-ID` when it reconnects.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The data; each line (split at CRLF, LF or CR) becomes its own `data:` line.
    pub fn data(mut self, data: impl Into<String>) -> Self {
        self.data = Some(data.into());
        self
    }

    /// The `retry:` field: the client's reconnection time, in whole milliseconds.
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Checks the fields and encodes the event.
    pub fn build(self) -> Result<Frame, EncodeError> {
        let bad = |s: &str| s.contains(['\r', '\n', '\0']);
        let mut out = String::with_capacity(self.data.as_ref().map_or(0, String::len) + 32);
        if let Some(event) = &self.event {
            if bad(event) {
                return Err(EncodeError::InvalidEventType(event.clone()));
            }
            push_field(&mut out, "event", event);
        }
        if let Some(id) = &self.id {
            if bad(id) {
                return Err(EncodeError::InvalidId(id.clone()));
            }
            push_field(&mut out, "id", id);
        }
        if let Some(retry) = self.retry {
            push_field(&mut out, "retry", &retry.as_millis().to_string());
        }
        if let Some(data) = &self.data {
            for line in lines(data) {
                push_field(&mut out, "data", line);
            }
        }
        out.push('\n');
        Ok(Frame(out))
    }
}

fn push_field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push(':');
    if !value.is_empty() {
        out.push(' ');
        out.push_str(value);
    }
    out.push('\n');
}

/// Splits at CRLF, LF or lone CR, as a client will; an empty string is one empty line.
fn lines(data: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(s)
            }
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_lines_split_at_every_line_ending() {
        let frame = EventBuilder::new().data("a\r\nb\rc\nd").build().unwrap();
        assert_eq!(frame.as_str(), "data: a\ndata: b\ndata: c\ndata: d\n\n");
    }

    #[test]
    fn empty_and_trailing_lines_are_kept() {
        assert_eq!(EventBuilder::new().data("").build().unwrap().as_str(), "data:\n\n");
        assert_eq!(EventBuilder::new().data("a\n").build().unwrap().as_str(), "data: a\ndata:\n\n");
    }

    #[test]
    fn leading_space_survives_the_one_space_rule() {
        // The client strips exactly one space after the colon; we always write one, so " x" arrives as " x".
        assert_eq!(EventBuilder::new().data(" x").build().unwrap().as_str(), "data:  x\n\n");
    }

    #[test]
    fn control_characters_in_event_and_id_are_errors() {
        for bad in ["a\nb", "a\rb", "a\0b"] {
            assert_eq!(
                EventBuilder::new().event(bad).data("x").build(),
                Err(EncodeError::InvalidEventType(bad.into()))
            );
            assert_eq!(EventBuilder::new().id(bad).data("x").build(), Err(EncodeError::InvalidId(bad.into())));
        }
        assert!(Frame::comment("a\nb").is_err());
    }

    #[test]
    fn retry_is_whole_milliseconds() {
        let frame = EventBuilder::new().retry(Duration::from_millis(2500)).build().unwrap();
        assert_eq!(frame.as_str(), "retry: 2500\n\n");
    }
}
