//! Bytes in, events out: an incremental `text/event-stream` parser with no I/O.
//!
//! [`Parser`] follows the WHATWG HTML standard's "Server-sent events" parsing and dispatch rules (the project's
//! checklist is `sse-spec.md`, rules 14 to 33). The caller owns the I/O: it hands each chunk of the body to
//! [`Parser::feed`] as it arrives, in whatever sizes the network produced, and calls [`Parser::finish`] when the body
//! ends. The output does not depend on how the body was split into chunks.
//!
//! The parser scans each byte once: only the bytes of a new chunk are searched for line endings (with `memchr`), and
//! a line that spans chunks is accumulated, not rescanned, so the work is linear in the input whatever the chunking.
//!
//! Decoding is done per line, which is exactly equivalent to decoding the whole stream: CR, LF and `:` are ASCII and
//! can never be part of a multi-byte UTF-8 sequence, so a character split across chunks is always whole within its
//! line, and an invalid sequence never straddles a line ending.

use std::borrow::Cow;
use std::mem;
use std::time::Duration;

use crate::Event;

/// The UTF-8 encoding of U+FEFF, stripped once at the start of a stream.
const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// A line buffer that grew past this while holding one huge line is released after the line, not kept for reuse.
const KEEP_LINE_CAPACITY: usize = 64 * 1024;

/// One thing the parser recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A dispatched event (rules 26-30 of the spec).
    Event(Event),
    /// A comment line's text after the colon (leading single space removed): keep-alives, observable for stall
    /// detection.
    Comment(String),
    /// A valid `retry:` field set the reconnection time.
    Retry(Duration),
}

/// An incremental, spec-conformant parser of a `text/event-stream` body.
///
/// Feed it the body's chunks as they arrive; it pushes every event, comment and valid `retry:` it completes onto the
/// caller's vector, in stream order. A chunk may end anywhere: in the middle of a line, of a multi-byte character, of
/// the BOM, or between the CR and the LF of a CRLF.
///
/// ```
/// use std::time::Duration;
/// use sse_live_protocol::{Event, Parsed, Parser};
///
/// let mut parser = Parser::new();
/// let mut out = Vec::new();
/// parser.feed(b": keep-alive\nretry: 2500\r", &mut out);
/// parser.feed(b"\nid: 7\nevent: reading\ndata: line one\nda", &mut out);
/// parser.feed(b"ta: line two\n\ndata: never finished", &mut out);
/// parser.finish(); // the body ended: the last, incomplete event is discarded
///
/// assert_eq!(
///     out,
///     vec![
///         Parsed::Comment("keep-alive".into()),
///         Parsed::Retry(Duration::from_millis(2500)),
///         Parsed::Event(Event {
///             event_type: "reading".into(),
///             data: "line one\nline two".into(),
///             last_event_id: "7".into(),
///         }),
///     ]
/// );
/// // Kept for the next connection (its `Last-Event-ID` header and the wait before it):
/// assert_eq!(parser.last_event_id(), "7");
/// assert_eq!(parser.reconnection_time(), Some(Duration::from_millis(2500)));
/// ```
#[derive(Debug, Clone)]
pub struct Parser {
    /// The bytes of a line begun in an earlier chunk and not yet ended.
    line: Vec<u8>,
    /// The previous chunk ended with a CR: an LF at the start of the next one belongs to the same line ending.
    pending_cr: bool,
    /// The stream's first bytes are still being compared with the BOM.
    at_stream_start: bool,
    /// How many bytes of the BOM have been seen at the start of the stream (while `at_stream_start`).
    bom_seen: usize,
    /// The spec's data buffer.
    data: String,
    /// The spec's event type buffer.
    event_type: String,
    /// The spec's last event ID buffer (set by `id:`, persists across events).
    id_buffer: String,
    /// The event source's last event ID string (takes the buffer's value at each dispatch).
    last_event_id: String,
    /// The reconnection time last set by a valid `retry:`.
    reconnection_time: Option<Duration>,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    /// A parser at the start of a stream, with no last event id and no reconnection time.
    pub fn new() -> Self {
        Self {
            line: Vec::new(),
            pending_cr: false,
            at_stream_start: true,
            bom_seen: 0,
            data: String::new(),
            event_type: String::new(),
            id_buffer: String::new(),
            last_event_id: String::new(),
            reconnection_time: None,
        }
    }

    /// Feeds the next chunk of the body; pushes everything it completes onto `out`, in stream order.
    ///
    /// Nothing is ever removed from `out`; an empty chunk changes nothing.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Parsed>) {
        let mut chunk = chunk;
        if chunk.is_empty() {
            return;
        }
        if self.pending_cr {
            self.pending_cr = false;
            if chunk[0] == b'\n' {
                chunk = &chunk[1..];
            }
        }
        if self.at_stream_start {
            // Rule 14: exactly one leading BOM is stripped, even when it arrives split across chunks.
            let n = (BOM.len() - self.bom_seen).min(chunk.len());
            if chunk[..n] == BOM[self.bom_seen..self.bom_seen + n] {
                self.bom_seen += n;
                chunk = &chunk[n..];
                if self.bom_seen < BOM.len() {
                    return; // The whole chunk was a prefix of the BOM: wait for more.
                }
            } else {
                // Not a BOM: the bytes held back so far are the start of the first line.
                self.line.extend_from_slice(&BOM[..self.bom_seen]);
            }
            self.at_stream_start = false;
            self.bom_seen = 0;
        }

        let mut pos = 0;
        while let Some(i) = find_line_end(&chunk[pos..]) {
            let end = pos + i;
            if self.line.is_empty() {
                self.process_line(&chunk[pos..end], out);
            } else {
                let mut line = mem::take(&mut self.line);
                line.extend_from_slice(&chunk[pos..end]);
                if line.capacity() > KEEP_LINE_CAPACITY {
                    // A huge line: its buffer is not kept for reuse, and may become the event's data.
                    self.process_huge_line(line, out);
                } else {
                    self.process_line(&line, out);
                    line.clear();
                    self.line = line;
                }
            }
            pos = end + 1;
            // Rule 15: CRLF is one line ending, also when the LF comes in the next chunk.
            if chunk[end] == b'\r' {
                match chunk.get(pos) {
                    Some(b'\n') => pos += 1,
                    Some(_) => {}
                    None => self.pending_cr = true,
                }
            }
        }
        self.line.extend_from_slice(&chunk[pos..]);
    }

    /// The body ended: an event without its final blank line is discarded (rule 31); resets line/BOM state so the
    /// parser can be reused for the next connection while keeping last_event_id and reconnection_time.
    ///
    /// The next stream's last event ID buffer starts as [`Parser::last_event_id`] (as in Chromium), so an `id:` in the
    /// discarded, incomplete block is forgotten too.
    pub fn finish(&mut self) {
        self.line = Vec::new();
        self.pending_cr = false;
        self.at_stream_start = true;
        self.bom_seen = 0;
        self.data = String::new();
        self.event_type.clear();
        self.id_buffer.clone_from(&self.last_event_id);
    }

    /// The last event id in force (persists across events; empty when none or reset by an empty `id`).
    ///
    /// It is the value dispatched with the latest complete block, whether or not that block fired an event: the
    /// value for the next connection's `Last-Event-ID` header (send none when it is empty).
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The reconnection time last set by `retry:`, if any.
    pub fn reconnection_time(&self) -> Option<Duration> {
        self.reconnection_time
    }

    /// Interprets one line, without its line ending (rules 16 to 25).
    fn process_line(&mut self, line: &[u8], out: &mut Vec<Parsed>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        // The known field names are at most 5 bytes long, so only a colon among the first 6 bytes can end one: a line
        // without one there is an unknown field, whatever its length, and is not searched further.
        let (name, value) = match line.iter().take(6).position(|&b| b == b':') {
            Some(0) => {
                out.push(Parsed::Comment(decode(strip_one_space(&line[1..])).into_owned()));
                return;
            }
            Some(i) => (&line[..i], strip_one_space(&line[i + 1..])),
            None if line.len() <= 5 => (line, &[][..]),
            None => return,
        };
        // Names are compared as bytes: a name with invalid UTF-8 decodes to one holding U+FFFD, never a known name.
        match name {
            b"data" => {
                let value = decode(value);
                // One allocation for a one-line event: room for the value and its LF at once.
                self.data.reserve(value.len() + 1);
                self.data.push_str(&value);
                self.data.push('\n');
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&decode(value));
            }
            // U+0000 can only come from a 0x00 byte.
            b"id" if !value.contains(&0) => {
                self.id_buffer.clear();
                self.id_buffer.push_str(&decode(value));
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // A value past u64::MAX milliseconds (584 million years) saturates.
                let millis =
                    value.iter().fold(0u64, |acc, d| acc.saturating_mul(10).saturating_add(u64::from(d - b'0')));
                let time = Duration::from_millis(millis);
                self.reconnection_time = Some(time);
                out.push(Parsed::Retry(time));
            }
            _ => {}
        }
    }

    /// Interprets a huge line that spanned chunks. When it is the first `data` line of an event, its buffer becomes
    /// the data buffer, which saves copying (and, for a big event, faulting in) as many bytes again.
    fn process_huge_line(&mut self, mut line: Vec<u8>, out: &mut Vec<Parsed>) {
        if self.data.is_empty() && line.starts_with(b"data:") {
            let value_start = if line.get(5) == Some(&b' ') { 6 } else { 5 };
            line.drain(..value_start);
            self.data = match String::from_utf8(line) {
                Ok(text) => text,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            };
            self.data.push('\n');
        } else {
            self.process_line(&line, out);
        }
    }

    /// Dispatches the event on an empty line (rules 26 to 30).
    fn dispatch(&mut self, out: &mut Vec<Parsed>) {
        if self.last_event_id != self.id_buffer {
            self.last_event_id.clone_from(&self.id_buffer);
        }
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        let mut data = mem::take(&mut self.data);
        // Every `data` line appended a LF, so there is always one to remove.
        data.pop();
        let event_type =
            if self.event_type.is_empty() { "message".to_owned() } else { mem::take(&mut self.event_type) };
        out.push(Parsed::Event(Event { event_type, data, last_event_id: self.last_event_id.clone() }));
    }
}

/// Convenience for tests and small inputs: parses a whole body (then finish) and returns the dispatched events only.
///
/// ```
/// use sse_live_protocol::parse_events;
/// let events = parse_events(b"data: a\n\nevent: tick\ndata: b\n\ndata: incomplete");
/// assert_eq!(events.len(), 2);
/// assert_eq!((events[0].event_type.as_str(), events[0].data.as_str()), ("message", "a"));
/// assert_eq!((events[1].event_type.as_str(), events[1].data.as_str()), ("tick", "b"));
/// ```
pub fn parse_events(body: &[u8]) -> Vec<Event> {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    parser.feed(body, &mut out);
    parser.finish();
    out.into_iter()
        .filter_map(|parsed| match parsed {
            Parsed::Event(event) => Some(event),
            _ => None,
        })
        .collect()
}

/// Removes exactly one leading space, if there is one (rule 18).
fn strip_one_space(value: &[u8]) -> &[u8] {
    value.strip_prefix(b" ").unwrap_or(value)
}

/// The position of the first CR or LF. A short haystack (a tiny chunk, the rest of one) is searched with a plain loop,
/// which beats setting up `memchr2` for a few bytes.
fn find_line_end(haystack: &[u8]) -> Option<usize> {
    if haystack.len() < 16 {
        haystack.iter().position(|&b| b == b'\n' || b == b'\r')
    } else {
        memchr::memchr2(b'\n', b'\r', haystack)
    }
}

/// UTF-8 with invalid sequences replaced by U+FFFD (rule 14), borrowing when the bytes are valid.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    // `from_utf8` validates valid text faster than `from_utf8_lossy`, which only pays off for invalid bytes.
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(chunks: &[&[u8]]) -> Vec<Parsed> {
        let mut parser = Parser::new();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, &mut out);
        }
        parser.finish();
        out
    }

    fn event(event_type: &str, data: &str, id: &str) -> Parsed {
        Parsed::Event(Event { event_type: event_type.into(), data: data.into(), last_event_id: id.into() })
    }

    #[test]
    fn a_bom_split_in_three_chunks_is_stripped() {
        assert_eq!(feed_all(&[b"\xEF", b"\xBB", b"\xBFdata: x\n\n"]), vec![event("message", "x", "")]);
    }

    #[test]
    fn a_bom_prefix_that_is_not_a_bom_is_kept_as_data() {
        // EF BB then 'd': the two bytes are an invalid sequence, one U+FFFD, at the start of the first field name.
        assert_eq!(feed_all(&[b"\xEF\xBB", b"data: x\n\n"]), vec![]);
        // Nor is the line a comment: it starts with U+FFFD, not with the colon.
        assert_eq!(feed_all(&[b"\xEF\xBB", b":x\n\n"]), vec![]);
        assert_eq!(feed_all(&[b"\xEF", b"\n", b"data: x\n\n"]), vec![event("message", "x", "")]);
    }

    #[test]
    fn an_empty_chunk_keeps_a_pending_cr() {
        assert_eq!(feed_all(&[b"data: a\r", b"", b"\n", b"\n"]), vec![event("message", "a", "")]);
        assert_eq!(feed_all(&[b"data: a\r", b"", b"\r"]), vec![event("message", "a", "")]);
    }

    #[test]
    fn a_huge_line_buffer_is_released() {
        let mut parser = Parser::new();
        let mut out = Vec::new();
        parser.feed(b"data: ", &mut out);
        parser.feed(&vec![b'x'; KEEP_LINE_CAPACITY * 2], &mut out);
        parser.feed(b"\n\n", &mut out);
        assert_eq!(parser.line.capacity(), 0);
        assert!(matches!(&out[..], [Parsed::Event(e)] if e.data.len() == KEEP_LINE_CAPACITY * 2));
    }

    #[test]
    fn huge_lines_spanning_chunks_parse_as_in_one_chunk() {
        let n = KEEP_LINE_CAPACITY * 2;
        let big = "x".repeat(n);
        // Invalid and multi-byte UTF-8 that 64-byte chunks and the splits below cut through.
        let mixed: Vec<u8> = b"\xFF\xE2\x82\xAC\xF0\x9F\x98".iter().copied().cycle().take(n).collect();
        let bodies: Vec<Vec<u8>> = vec![
            format!("data:{big}\n\n").into(),
            format!("data: {big}\n\n").into(),
            format!("data:  {big}\r\n\r\n").into(),
            [&b"data: "[..], &mixed, b"\n\n"].concat(),
            format!("data: a\ndata: {big}\ndata: b\n\n").into(),
            format!("data: {big}\ndata: {big}\n\n").into(),
            format!("event: {big}\ndata: a\n\n").into(),
            format!(": {big}\rid: {big}\rdata\r\r").into(),
            format!("data_x: {big}\ndata{big}\ndata: a\n\n").into(),
            format!("data: {big}").into(),
        ];
        for body in &bodies {
            let whole = feed_all(&[body]);
            assert!(!whole.is_empty() || body.ends_with(b"x"));
            for at in [1, 4, 5, 6, 7, 100, body.len() / 2, body.len() - 3, body.len() - 1] {
                assert_eq!(feed_all(&[&body[..at], &body[at..]]), whole, "split at {at}");
            }
            let chunks: Vec<&[u8]> = body.chunks(64).collect();
            assert_eq!(feed_all(&chunks), whole);
        }
        assert_eq!(feed_all(&[&bodies[2][..10], &bodies[2][10..]]), vec![event("message", &format!(" {big}"), "")]);
        let expected = String::from_utf8_lossy(&mixed).into_owned();
        assert_eq!(feed_all(&[&bodies[3][..10], &bodies[3][10..]]), vec![event("message", &expected, "")]);
    }
}
