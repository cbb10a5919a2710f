//! Arbitrary bytes, split at a fuzzer-chosen point: the parser must not panic, and the two-chunk result (and the
//! 1-byte-chunk result) must equal the one-chunk result, including the state kept for the next connection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sse_live_protocol::{Parsed, Parser};

type Outcome = (Vec<Parsed>, String, Option<std::time::Duration>);

fn run<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, &mut out);
    }
    parser.finish();
    (out, parser.last_event_id().to_owned(), parser.reconnection_time())
}

fuzz_target!(|input: &[u8]| {
    // The first two bytes choose the split point; the rest is the body.
    let Some((head, body)) = input.split_first_chunk::<2>() else { return };
    let at = usize::from(u16::from_le_bytes(*head)) % (body.len() + 1);
    let whole = run([body]);
    let (left, right) = body.split_at(at);
    assert_eq!(run([left, right]), whole, "split at {at}");
    assert_eq!(run(body.chunks(1)), whole, "1-byte chunks");
});
