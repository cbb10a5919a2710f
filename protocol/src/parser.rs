//! Bytes in, events out: an incremental `text/event-stream` parser with no I/O.
//!
//! [`Parser`] follows the WHATWG HTML standard's "Server-sent events" parsing and dispatch rules (the project's
//! checklist is `sse-spec.md`, rules 14 to 33). The caller owns the I/O: it hands each chunk of the body to
//! [`Parser::feed`] as it arrives, in whatever sizes the network produced, and calls [`Parser::finish`] when the body
//! ends. The output does not depend on how the body was split into chunks.
//!
//! Two ways out, one parsing implementation behind both: [`Parser::feed`] pushes owned [`Parsed`] values onto a
//! vector; [`Parser::feed_with`] lends [`ParsedRef`] values to a callback, in the style of `httparse`: they borrow
//! the chunk being fed or the parser's buffers, which are reused, so nothing is allocated per event.
//!
//! The parser scans each byte once: only the bytes of a new chunk are searched for line endings (with `memchr`), and
//! a line that spans chunks is accumulated, not rescanned, so the work is linear in the input whatever the chunking.
//! The lines that end within a chunk are taken in place: the type and the single `data:` line of an event that is
//! whole in one chunk are never copied (an event's later `data:` lines, and what a chunk leaves unfinished, are).
//!
//! Decoding is exactly equivalent to decoding the whole stream, done on the lines that end within a chunk at once
//! (one `from_utf8` pass; line by line only if that finds invalid bytes) and on a line that spans chunks once it
//! ends: CR, LF and `:` are ASCII and can never be part of a multi-byte UTF-8 sequence, so a character split across
//! chunks is always whole within its line, and an invalid sequence never straddles a line ending.

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

/// One thing the parser recognised, borrowed: what [`Parser::feed_with`] lends its callback.
///
/// The strings borrow the chunk being fed or the parser's buffers and are valid only during the callback;
/// [`Parsed::from`] makes an owned copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedRef<'a> {
    /// A dispatched event (rules 26-30 of the spec).
    Event(EventRef<'a>),
    /// A comment line's text after the colon (leading single space removed).
    Comment(&'a str),
    /// A valid `retry:` field set the reconnection time.
    Retry(Duration),
}

/// A dispatched event, borrowed: the fields of [`Event`] as `&str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// The `event:` field, or `"message"` when the server sent none.
    pub event_type: &'a str,
    /// The `data:` lines joined with LF, without the final LF.
    pub data: &'a str,
    /// The last event id in force when this event was dispatched (empty when none).
    pub last_event_id: &'a str,
}

impl From<EventRef<'_>> for Event {
    fn from(event: EventRef<'_>) -> Self {
        Event {
            event_type: event.event_type.to_owned(),
            data: event.data.to_owned(),
            last_event_id: event.last_event_id.to_owned(),
        }
    }
}

impl From<ParsedRef<'_>> for Parsed {
    fn from(parsed: ParsedRef<'_>) -> Self {
        match parsed {
            ParsedRef::Event(event) => Parsed::Event(event.into()),
            ParsedRef::Comment(text) => Parsed::Comment(text.to_owned()),
            ParsedRef::Retry(time) => Parsed::Retry(time),
        }
    }
}

/// Where the parser hands what it completes. The one parsing implementation ([`Parser::feed_into`]) is generic over
/// it: [`Parser::feed`] collects owned values in a `Vec`, [`Parser::feed_with`] lends borrowed ones to a callback.
trait Sink {
    /// A dispatched event; an empty `event_type` means `message`. The sink may take a buffer it is handed: the
    /// parser clears both afterwards.
    fn event(&mut self, event_type: Field<'_>, data: Field<'_>, last_event_id: &str);
    fn comment(&mut self, text: &str);
    fn retry(&mut self, time: Duration);
}

/// Where a dispatched event's type or data is.
enum Field<'a> {
    /// In place in the chunk being fed: it was not copied.
    InChunk(&'a str),
    /// In the parser's buffer (for the data, without its final LF).
    Buffer(&'a mut String),
}

impl Field<'_> {
    fn as_str(&self) -> &str {
        match self {
            Field::InChunk(text) => text,
            Field::Buffer(buffer) => buffer,
        }
    }

    /// The value as an owned `String`: the buffer itself is taken rather than copied.
    fn into_owned(self) -> String {
        match self {
            Field::InChunk(text) => text.to_owned(),
            Field::Buffer(buffer) => mem::take(buffer),
        }
    }
}

/// Values of the block being read that are still in place in the chunk, not yet copied into the parser's buffers:
/// for the common event of one `data:` line, in one chunk, neither its data nor its type is ever copied.
#[derive(Default)]
struct InPlace<'t> {
    /// The value of the block's first `data:` line while it is the only one: it stands for itself and an LF in the
    /// data buffer, which is then empty.
    data: Option<&'t str>,
    /// The value of the block's last `event:` line: it stands for the event type buffer.
    event_type: Option<&'t str>,
}

/// The owned API: the event takes the parser's data and type buffers rather than copying them, which matters for a
/// huge event (its data buffer may be the very buffer its line was accumulated in).
impl Sink for Vec<Parsed> {
    fn event(&mut self, event_type: Field<'_>, data: Field<'_>, last_event_id: &str) {
        let event_type = if event_type.as_str().is_empty() { "message".to_owned() } else { event_type.into_owned() };
        let data = data.into_owned();
        self.push(Parsed::Event(Event { event_type, data, last_event_id: last_event_id.to_owned() }));
    }

    fn comment(&mut self, text: &str) {
        self.push(Parsed::Comment(text.to_owned()));
    }

    fn retry(&mut self, time: Duration) {
        self.push(Parsed::Retry(time));
    }
}

/// The borrowed API: a callback that sees each value in place.
struct Visit<F>(F);

impl<F: FnMut(ParsedRef<'_>)> Sink for Visit<F> {
    fn event(&mut self, event_type: Field<'_>, data: Field<'_>, last_event_id: &str) {
        let event_type = if event_type.as_str().is_empty() { "message" } else { event_type.as_str() };
        let data = data.as_str();
        (self.0)(ParsedRef::Event(EventRef { event_type, data, last_event_id }));
    }

    fn comment(&mut self, text: &str) {
        (self.0)(ParsedRef::Comment(text));
    }

    fn retry(&mut self, time: Duration) {
        (self.0)(ParsedRef::Retry(time));
    }
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
    /// The spec's last event ID buffer, when `id_set`: the value of the block's last valid `id:`. Otherwise the spec's
    /// buffer equals `last_event_id` and this holds nothing of use (its capacity is kept for the next `id:`).
    id_buffer: String,
    /// The block being read has a valid `id:`: dispatching it moves `id_buffer` into `last_event_id`.
    id_set: bool,
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
            id_set: false,
            last_event_id: String::new(),
            reconnection_time: None,
        }
    }

    /// Feeds the next chunk of the body; pushes everything it completes onto `out`, in stream order.
    ///
    /// Nothing is ever removed from `out`; an empty chunk changes nothing.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Parsed>) {
        self.feed_into(chunk, out);
    }

    /// Feeds the next chunk of the body; calls `visit` with everything it completes, in stream order, borrowed.
    ///
    /// The same parser as [`Parser::feed`] (one implementation; the two can be mixed on one stream), without the
    /// owned values: the strings of a [`ParsedRef`] borrow `chunk` or the parser's buffers, which are reused from one
    /// event to the next, so once they have grown to fit the stream's events nothing is allocated per event. Copy
    /// out what must outlive the callback ([`Parsed::from`] or [`Event::from`] make owned values). Bytes that are not
    /// valid UTF-8 are still replaced with U+FFFD, which allocates for the line that holds them.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_live_protocol::{Event, EventRef, Parsed, ParsedRef, Parser};
    ///
    /// let mut parser = Parser::new();
    /// let mut total = 0.0;
    /// let mut kept = Vec::new();
    /// for chunk in [&b"id: 7\nevent: reading\ndata: 21.5\n\n: ping\nda"[..], b"ta: 19\n\nretry: 2500\n"] {
    ///     parser.feed_with(chunk, |parsed| match parsed {
    ///         // Used in place: `data` borrows the parser's buffer, which the next event reuses.
    ///         ParsedRef::Event(EventRef { event_type: "reading", data, .. }) => total += data.parse::<f64>().unwrap(),
    ///         // What must outlive the callback is copied out.
    ///         other => kept.push(Parsed::from(other)),
    ///     });
    /// }
    /// parser.finish();
    ///
    /// assert_eq!(total, 21.5);
    /// assert_eq!(
    ///     kept,
    ///     [
    ///         Parsed::Comment("ping".into()),
    ///         Parsed::Event(Event { event_type: "message".into(), data: "19".into(), last_event_id: "7".into() }),
    ///         Parsed::Retry(Duration::from_millis(2500)),
    ///     ]
    /// );
    /// ```
    pub fn feed_with(&mut self, chunk: &[u8], visit: impl FnMut(ParsedRef<'_>)) {
        self.feed_into(chunk, &mut Visit(visit));
    }

    /// The parser: splits the chunk into lines and interprets them, handing what it completes to `sink`.
    fn feed_into(&mut self, chunk: &[u8], sink: &mut impl Sink) {
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
        if !self.line.is_empty() {
            // A line begun in an earlier chunk: its bytes are decoded together once it ends.
            let Some(end) = find_line_end(chunk) else {
                self.line.extend_from_slice(chunk);
                return;
            };
            let mut line = mem::take(&mut self.line);
            line.extend_from_slice(&chunk[..end]);
            if line.capacity() > KEEP_LINE_CAPACITY {
                // A huge line: its buffer is not kept for reuse, and may become the event's data.
                self.process_huge_line(line, sink);
            } else {
                self.process_whole_line(&decode(&line), sink);
                line.clear();
                self.line = line;
            }
            pos = skip_line_end(chunk, end);
        }
        // The lines that end in this chunk, taken in place. Decoding them all at once costs one pass of `from_utf8`,
        // which is fast on long runs of ASCII; only a chunk holding invalid UTF-8 is decoded line by line.
        if let Some(last) = memchr::memrchr2(b'\n', b'\r', &chunk[pos..]) {
            let lines = &chunk[pos..=pos + last];
            match std::str::from_utf8(lines) {
                Ok(text) => {
                    // An event's type and first `data:` line are left in place until the block or the chunk ends.
                    let mut in_place = InPlace::default();
                    for (start, end) in line_spans(lines) {
                        // Always `Some`: a span ends before a CR or LF, which are ASCII. `get` instead of indexing
                        // keeps `str`'s slicing panic (and the `char` formatting it links) out of a wasm client.
                        let line = text.get(start..end).unwrap_or_default();
                        self.process_line(line, &mut in_place, sink);
                    }
                    self.keep(in_place);
                }
                Err(_) => {
                    for (start, end) in line_spans(lines) {
                        self.process_whole_line(&decode(&lines[start..end]), sink);
                    }
                }
            }
            pos += last + 1;
        }
        // Rule 15: CRLF is one line ending, also when the LF comes in the next chunk. A CR anywhere else before the
        // end was followed by a byte that is not an LF (or by the LF, skipped above).
        self.pending_cr = pos > 0 && pos == chunk.len() && chunk[pos - 1] == b'\r';
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
        self.id_set = false;
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

    /// Interprets one line, decoded, without its line ending (rules 16 to 25).
    ///
    /// Decoding a line before splitting it is the same as decoding its name and value apart: `:` and the space are
    /// ASCII, and U+FFFD never replaces an ASCII byte. A name holding invalid UTF-8 holds U+FFFD, never a known name.
    ///
    /// `in_place` holds what of the block is still in place in `line`'s chunk: a second `data:` line copies the first
    /// into the data buffer.
    fn process_line<'t>(&mut self, line: &'t str, in_place: &mut InPlace<'t>, sink: &mut impl Sink) {
        if line.is_empty() {
            self.dispatch(mem::take(in_place), sink);
            return;
        }
        // Only a comment and the four known fields matter (rule 25 ignores any other name), so the first byte picks
        // the one name the line can start with, and the line is that field only if the name is followed by the colon
        // or the end of the line. Any other line is ignored without being read further.
        if let Some(comment) = line.strip_prefix(':') {
            sink.comment(strip_one_space(comment));
            return;
        }
        match line.as_bytes()[0] {
            b'd' => {
                let Some(value) = field_value(line, "data") else { return };
                if self.data.is_empty() && in_place.data.is_none() {
                    in_place.data = Some(value);
                } else {
                    self.keep_data(in_place.data.take());
                    self.data.push_str(value);
                    self.data.push('\n');
                }
            }
            b'e' => {
                let Some(value) = field_value(line, "event") else { return };
                in_place.event_type = Some(value);
            }
            b'i' => {
                // U+0000 can only come from a 0x00 byte.
                let Some(value) = field_value(line, "id").filter(|value| !value.as_bytes().contains(&0)) else {
                    return;
                };
                self.id_buffer.clear();
                self.id_buffer.push_str(value);
                self.id_set = true;
            }
            b'r' => {
                let Some(value) = field_value(line, "retry") else { return };
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return;
                }
                // A value past u64::MAX milliseconds (584 million years) saturates.
                let millis =
                    value.bytes().fold(0u64, |acc, d| acc.saturating_mul(10).saturating_add(u64::from(d - b'0')));
                let time = Duration::from_millis(millis);
                self.reconnection_time = Some(time);
                sink.retry(time);
            }
            _ => {}
        }
    }

    /// Interprets a huge line that spanned chunks. When it is the first `data` line of an event, its buffer becomes
    /// the data buffer, which saves copying (and, for a big event, faulting in) as many bytes again.
    fn process_huge_line(&mut self, mut line: Vec<u8>, sink: &mut impl Sink) {
        if self.data.is_empty() && line.starts_with(b"data:") {
            let value_start = if line.get(5) == Some(&b' ') { 6 } else { 5 };
            line.drain(..value_start);
            self.data = match String::from_utf8(line) {
                Ok(text) => text,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            };
            self.data.push('\n');
        } else {
            self.process_whole_line(&decode(&line), sink);
        }
    }

    /// Interprets a line that is not in place in the chunk: a data value in it is copied at once.
    fn process_whole_line(&mut self, line: &str, sink: &mut impl Sink) {
        let mut in_place = InPlace::default();
        self.process_line(line, &mut in_place, sink);
        self.keep(in_place);
    }

    /// Copies what was left in place into the buffers, before its chunk goes.
    fn keep(&mut self, in_place: InPlace<'_>) {
        self.keep_data(in_place.data);
        if let Some(event_type) = in_place.event_type {
            self.event_type.clear();
            self.event_type.push_str(event_type);
        }
    }

    /// Copies a data value left in place into the data buffer.
    fn keep_data(&mut self, data: Option<&str>) {
        if let Some(value) = data {
            // One allocation for a one-line event: room for the value and its LF at once.
            self.data.reserve(value.len() + 1);
            self.data.push_str(value);
            self.data.push('\n');
        }
    }

    /// Dispatches the event on an empty line (rules 26 to 30).
    fn dispatch(&mut self, in_place: InPlace<'_>, sink: &mut impl Sink) {
        if self.id_set {
            // The buffers trade places rather than copy: `id_buffer` is unused until the next `id:` overwrites it.
            mem::swap(&mut self.last_event_id, &mut self.id_buffer);
            self.id_set = false;
        }
        let event_type = match in_place.event_type {
            Some(event_type) => Field::InChunk(event_type),
            None => Field::Buffer(&mut self.event_type),
        };
        if let Some(data) = in_place.data {
            sink.event(event_type, Field::InChunk(data), &self.last_event_id);
        } else if !self.data.is_empty() {
            // Every `data` line appended a LF, so there is always one to remove.
            self.data.pop();
            sink.event(event_type, Field::Buffer(&mut self.data), &self.last_event_id);
        }
        self.event_type.clear();
        if self.data.capacity() > KEEP_LINE_CAPACITY {
            // One huge event's buffer is not kept for reuse (as for the line buffer).
            self.data = String::new();
        } else {
            self.data.clear();
        }
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

/// The value of `line` if it is the field `name`: the name, then the end of the line (an empty value, rule 19) or a
/// colon and the value, less one leading space (rule 18). Names are compared as bytes, case-sensitively (rule 20).
#[inline]
fn field_value<'t>(line: &'t str, name: &str) -> Option<&'t str> {
    let rest = line.strip_prefix(name)?;
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix(':').map(strip_one_space)
    }
}

/// Removes exactly one leading space, if there is one (rule 18).
#[inline]
fn strip_one_space(value: &str) -> &str {
    value.strip_prefix(' ').unwrap_or(value)
}

/// The position of the first CR or LF.
#[inline]
fn find_line_end(haystack: &[u8]) -> Option<usize> {
    LineEndFinder::new().find(haystack)
}

/// Finds the next CR or LF. `memchr2` picks the implementation for the CPU and builds its searcher anew at each call,
/// which on the short lines of an event stream costs more than the search itself; on x86_64, `memchr`'s SSE2
/// searcher (SSE2 is always there) is built once per chunk and inlined instead.
#[derive(Clone, Copy)]
struct LineEndFinder {
    #[cfg(target_arch = "x86_64")]
    sse2: Option<memchr::arch::x86_64::sse2::memchr::Two>,
}

impl LineEndFinder {
    #[inline]
    fn new() -> Self {
        Self {
            #[cfg(target_arch = "x86_64")]
            sse2: memchr::arch::x86_64::sse2::memchr::Two::new(b'\n', b'\r'),
        }
    }

    /// A short haystack (a tiny chunk, the rest of one) is searched with a plain loop, which beats setting up a
    /// vector search for a few bytes. (Searching the first 16 bytes of every line a word at a time was tried too:
    /// more instructions, and no faster.)
    #[inline]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        if haystack.len() < 16 {
            return haystack.iter().position(|&b| b == b'\n' || b == b'\r');
        }
        #[cfg(target_arch = "x86_64")]
        if let Some(sse2) = &self.sse2 {
            return sse2.find(haystack);
        }
        memchr::memchr2(b'\n', b'\r', haystack)
    }
}

/// Where the next line starts after the line ending at `end` (a CR or an LF): a CRLF is one line ending (rule 15).
#[inline]
fn skip_line_end(bytes: &[u8], end: usize) -> usize {
    if bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n') {
        end + 2
    } else {
        end + 1
    }
}

/// The start and end (without its line ending) of each line of `lines`, which ends with a line ending.
#[inline]
fn line_spans(lines: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let finder = LineEndFinder::new();
    let mut pos = 0;
    std::iter::from_fn(move || {
        let end = pos + finder.find(&lines[pos..])?;
        let start = mem::replace(&mut pos, skip_line_end(lines, end));
        Some((start, end))
    })
}

/// UTF-8 with invalid sequences replaced by U+FFFD (rule 14), borrowing when the bytes are valid.
#[inline]
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
