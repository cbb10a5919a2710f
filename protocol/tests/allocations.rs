//! `Parser::feed_with` allocates nothing per event: once the parser's buffers have grown to fit a stream's lines and
//! events, parsing more of that stream allocates nothing at all, whatever the chunking.
//!
//! A counting global allocator, counting per thread (each test runs on its own thread), checks it.
#![cfg(not(target_arch = "wasm32"))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use sse_live_protocol::{EventBuilder, ParsedRef, Parser};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the thread-local may already be gone while a thread exits.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// Events as the demo's server sends them, a multi-line one, comments and a `retry:`, with CRLF and CR endings too.
fn body() -> Vec<u8> {
    let mut body = b": hello\r\nretry: 1500\r".to_vec();
    for i in 0..1000 {
        let data = format!(r#"{{"temperature":{}.{:02},"updatedAt":"2026-11-23T19:05:00Z"}}"#, 15 + i % 10, i % 100);
        let frame = EventBuilder::new().id(i.to_string()).event("reading").data(data).build().unwrap();
        body.extend_from_slice(frame.as_str().as_bytes());
        body.extend_from_slice(b"data: two\r\ndata: lines\r\n\r\n: keep-alive\n");
    }
    body
}

#[test]
fn feed_with_allocates_nothing_once_its_buffers_have_grown() {
    let body = body();
    for size in [body.len(), 4096, 64, 7, 1] {
        let mut parser = Parser::new();
        let mut seen = (0, 0, 0);
        let mut visit = |parsed: ParsedRef<'_>| match parsed {
            ParsedRef::Event(event) => seen.0 += event.data.len() + event.event_type.len() + event.last_event_id.len(),
            ParsedRef::Comment(text) => seen.1 += text.len(),
            ParsedRef::Retry(_) => seen.2 += 1,
        };
        // The first pass grows the buffers; the second, the same stream continued, must not allocate.
        for chunk in body.chunks(size) {
            parser.feed_with(chunk, &mut visit);
        }
        let before = allocations();
        for chunk in body.chunks(size) {
            parser.feed_with(chunk, &mut visit);
        }
        assert_eq!(allocations() - before, 0, "{size}-byte chunks");
        assert_eq!(seen.2, 2, "{size}-byte chunks");
        assert_eq!(seen.1, 2 * (5 + 1000 * 10), "{size}-byte chunks");
    }
}

#[test]
fn the_counter_counts_what_feed_allocates() {
    let body = body();
    let mut parser = Parser::new();
    let mut out = Vec::with_capacity(10_000);
    parser.feed(&body, &mut out);
    out.clear();
    let before = allocations();
    parser.feed(&body, &mut out);
    // Three `String`s an event of the owned API (type, data, id), two for a comment.
    assert!(allocations() - before >= 3 * 2000 + 1000, "{} allocations", allocations() - before);
}
