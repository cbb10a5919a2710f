//! Property tests: the parser's output does not depend on how the body is split into chunks, it agrees with a
//! plain transcription of the standard, and what `EventBuilder` encodes parses back to the same event.
#![cfg(not(target_arch = "wasm32"))]

use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::Index;
use sse_live_protocol::{EncodeError, Event, EventBuilder, Frame, Parsed, ParsedRef, Parser};

/// What a parser produced and the state it kept.
#[derive(Debug, PartialEq)]
struct Outcome {
    parsed: Vec<Parsed>,
    last_event_id: String,
    reconnection_time: Option<Duration>,
}

/// Feeds `chunks` as one body, then finishes it.
fn run<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut parser = Parser::new();
    let mut parsed = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, &mut parsed);
    }
    parser.finish();
    Outcome { parsed, last_event_id: parser.last_event_id().to_owned(), reconnection_time: parser.reconnection_time() }
}

/// The same through the borrowed API, `feed_with`, each value copied out as it is lent; with `mixed`, chunks
/// alternate between `feed_with` and `feed` on the one parser.
fn run_with<'a>(chunks: impl IntoIterator<Item = &'a [u8]>, mixed: bool) -> Outcome {
    let mut parser = Parser::new();
    let mut parsed = Vec::new();
    for (i, chunk) in chunks.into_iter().enumerate() {
        if mixed && i % 2 == 1 {
            parser.feed(chunk, &mut parsed);
        } else {
            parser.feed_with(chunk, |value: ParsedRef<'_>| parsed.push(Parsed::from(value)));
        }
    }
    parser.finish();
    Outcome { parsed, last_event_id: parser.last_event_id().to_owned(), reconnection_time: parser.reconnection_time() }
}

/// Splits `body` at the given cut points (any order, duplicates allowed: they make empty chunks).
fn split<'a>(body: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(body.len() + 1)).collect();
    at.sort_unstable();
    let mut chunks = Vec::with_capacity(at.len() + 1);
    let mut start = 0;
    for end in at {
        chunks.push(&body[start..end]);
        start = end;
    }
    chunks.push(&body[start..]);
    chunks
}

/// The standard's algorithm transcribed as plainly as possible: decode the whole body, strip one BOM, cut it into
/// lines, interpret each line. Written independently of `Parser`, for differential testing.
fn reference(body: &[u8]) -> Outcome {
    let decoded = String::from_utf8_lossy(body);
    let mut rest = decoded.strip_prefix('\u{FEFF}').unwrap_or(&decoded);
    let (mut data, mut event_type, mut id_buffer) = (String::new(), String::new(), String::new());
    let mut out = Outcome { parsed: Vec::new(), last_event_id: String::new(), reconnection_time: None };
    // Only lines with a line ending; what follows the last one is an incomplete line, discarded at the end.
    while let Some(i) = rest.find(['\r', '\n']) {
        let line = &rest[..i];
        rest = &rest[i + if rest[i..].starts_with("\r\n") { 2 } else { 1 }..];
        if line.is_empty() {
            out.last_event_id = id_buffer.clone();
            if !data.is_empty() {
                data.pop();
                let event_type = if event_type.is_empty() { "message".to_owned() } else { event_type.clone() };
                let last_event_id = out.last_event_id.clone();
                out.parsed.push(Parsed::Event(Event { event_type, data: data.clone(), last_event_id }));
            }
            data.clear();
            event_type.clear();
            continue;
        }
        if let Some(text) = line.strip_prefix(':') {
            out.parsed.push(Parsed::Comment(text.strip_prefix(' ').unwrap_or(text).to_owned()));
            continue;
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match name {
            "event" => event_type = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => id_buffer = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                let time = Duration::from_millis(value.parse().unwrap_or(u64::MAX));
                out.reconnection_time = Some(time);
                out.parsed.push(Parsed::Retry(time));
            }
            _ => {}
        }
    }
    out
}

/// Pieces of values: ASCII, spaces and colons, multi-byte characters, NUL, a BOM, and invalid UTF-8.
fn value() -> impl Strategy<Value = Vec<u8>> {
    let atom = prop::sample::select(vec![
        &b"a"[..],
        b"7",
        b" ",
        b":",
        "é".as_bytes(),
        "€".as_bytes(),
        "😀".as_bytes(),
        b"\0",
        b"\xEF\xBB\xBF",
        b"\xFF",
        b"\xC3",
        b"\xE2\x82",
        b"\xF0\x9F\x98",
    ]);
    prop::collection::vec(atom, 0..6).prop_map(|atoms| atoms.concat())
}

fn line_end() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![&b"\n"[..], b"\r", b"\r\n"])
}

/// One line of an event stream, with its line ending.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let name = prop::sample::select(vec![
        &b"data"[..],
        b"data",
        b"event",
        b"id",
        b"retry",
        b"Data",
        b"foo",
        b"",
        b"\xEF\xBB\xBFdata",
    ]);
    let separator = prop::sample::select(vec![&b":"[..], b": ", b":  ", b""]);
    let digits = prop::sample::select(vec![&b"0"[..], b"2500", b"007", b"99999999999999999999999", b"12a", b" 3"]);
    prop_oneof![
        4 => (name, separator, value(), line_end()).prop_map(|(n, s, v, e)| [n, s, &v, e].concat()),
        1 => (digits, line_end()).prop_map(|(d, e)| [&b"retry:"[..], d, e].concat()),
        2 => line_end().prop_map(<[u8]>::to_vec),
        1 => (value(), line_end()).prop_map(|(v, e)| [&b":"[..], &v, e].concat()),
    ]
}

/// An SSE-ish body: maybe a BOM (or two, or part of one), lines, maybe an unterminated last line.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let start =
        prop::sample::select(vec![&b""[..], b"", b"\xEF\xBB\xBF", b"\xEF\xBB\xBF\xEF\xBB\xBF", b"\xEF", b"\xEF\xBB"]);
    let tail = prop_oneof![Just(Vec::new()), value().prop_map(|v| [&b"data:"[..], &v].concat())];
    (start, prop::collection::vec(line(), 0..24), tail)
        .prop_map(|(start, lines, tail)| [start.to_vec(), lines.concat(), tail].concat())
}

/// Bytes from the alphabet that matters to the parser, in any order.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop::sample::select(b"\r\n\r\n: dataeventidretry0123\0\xEF\xBB\xBF\xFF\xC3".to_vec());
    prop::collection::vec(byte, 0..200)
}

fn cuts() -> impl Strategy<Value = Vec<Index>> {
    prop::collection::vec(any::<Index>(), 0..10)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_split_of_an_sse_body_gives_the_same_output_as_one_chunk(body in body(), cuts in cuts()) {
        let whole = run([&body[..]]);
        prop_assert_eq!(&run(split(&body, &cuts)), &whole);
        prop_assert_eq!(&run(body.chunks(1)), &whole);
    }

    #[test]
    fn any_split_of_arbitrary_bytes_gives_the_same_output_as_one_chunk(
        body in prop_oneof![noise(), prop::collection::vec(any::<u8>(), 0..200)],
        cuts in cuts(),
    ) {
        let whole = run([&body[..]]);
        prop_assert_eq!(&run(split(&body, &cuts)), &whole);
        prop_assert_eq!(&run(body.chunks(1)), &whole);
    }

    #[test]
    fn the_borrowed_api_gives_what_the_owned_api_gives_for_any_input_and_chunking(
        body in prop_oneof![body(), noise(), prop::collection::vec(any::<u8>(), 0..200)],
        cuts in cuts(),
    ) {
        let chunks = split(&body, &cuts);
        let owned = run(chunks.iter().copied());
        prop_assert_eq!(&run_with(chunks.iter().copied(), false), &owned);
        prop_assert_eq!(&run_with(chunks.iter().copied(), true), &owned);
        prop_assert_eq!(&run_with([&body[..]], false), &run([&body[..]]));
        prop_assert_eq!(&run_with(body.chunks(1), false), &run(body.chunks(1)));
        prop_assert_eq!(&run_with(body.chunks(1), true), &run(body.chunks(1)));
    }

    #[test]
    fn the_parser_agrees_with_a_plain_transcription_of_the_standard(body in prop_oneof![body(), noise()]) {
        prop_assert_eq!(run([&body[..]]), reference(&body));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Encode, then parse.

/// Text that may hold what the encoder must reject (CR, LF, NUL) and what it must carry through (spaces, colons,
/// a BOM, multi-byte characters).
fn text() -> impl Strategy<Value = String> {
    let atom = prop::sample::select(vec!["a", "b", " ", ":", "é", "😀", "\u{FEFF}", "\r", "\n", "\r\n", "\0"]);
    prop::collection::vec(atom, 0..8).prop_map(|atoms| atoms.concat())
}

/// Text the encoder accepts in an `event` or `id` field.
fn clean_text() -> impl Strategy<Value = String> {
    text().prop_map(|t| t.replace(['\r', '\n', '\0'], ""))
}

#[derive(Debug, Clone)]
struct Spec {
    event_type: Option<String>,
    id: Option<String>,
    data: String,
    retry: Option<u64>,
}

fn spec<S: Strategy<Value = String>>(text: impl Fn() -> S) -> impl Strategy<Value = Spec> {
    (prop::option::of(text()), prop::option::of(text()), self::text(), prop::option::of(0..10_000_000u64))
        .prop_map(|(event_type, id, data, retry)| Spec { event_type, id, data, retry })
}

fn build(spec: &Spec) -> Result<Frame, EncodeError> {
    let mut builder = EventBuilder::new().data(spec.data.clone());
    if let Some(event_type) = &spec.event_type {
        builder = builder.event(event_type.clone());
    }
    if let Some(id) = &spec.id {
        builder = builder.id(id.clone());
    }
    if let Some(millis) = spec.retry {
        builder = builder.retry(Duration::from_millis(millis));
    }
    builder.build()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn what_the_encoder_builds_parses_back_to_the_same_events(
        specs in prop::collection::vec(spec(clean_text), 1..6),
        cuts in cuts(),
    ) {
        let mut body = Vec::new();
        let mut expected = Vec::new();
        let mut last_event_id = String::new();
        for spec in &specs {
            body.extend_from_slice(build(spec).expect("clean fields encode").as_str().as_bytes());
            if let Some(millis) = spec.retry {
                expected.push(Parsed::Retry(Duration::from_millis(millis)));
            }
            if let Some(id) = &spec.id {
                last_event_id.clone_from(id);
            }
            let event_type = match spec.event_type.as_deref() {
                None | Some("") => "message".to_owned(),
                Some(t) => t.to_owned(),
            };
            let data = spec.data.replace("\r\n", "\n").replace('\r', "\n");
            expected.push(Parsed::Event(Event { event_type, data, last_event_id: last_event_id.clone() }));
        }
        let outcome = run(split(&body, &cuts));
        prop_assert_eq!(&outcome.parsed, &expected);
        prop_assert_eq!(outcome.last_event_id, last_event_id);
    }

    #[test]
    fn the_encoder_rejects_cr_lf_and_nul_in_event_type_and_id(spec in spec(text)) {
        let bad = |s: &Option<String>| s.as_deref().is_some_and(|s| s.contains(['\r', '\n', '\0']));
        let built = build(&spec);
        if bad(&spec.event_type) {
            prop_assert_eq!(built, Err(EncodeError::InvalidEventType(spec.event_type.clone().unwrap())));
        } else if bad(&spec.id) {
            prop_assert_eq!(built, Err(EncodeError::InvalidId(spec.id.clone().unwrap())));
        } else {
            let events = sse_live_protocol::parse_events(built.expect("clean fields encode").as_str().as_bytes());
            prop_assert_eq!(events.len(), 1);
        }
    }

    #[test]
    fn a_comment_frame_parses_back_to_its_text(text in text()) {
        match Frame::comment(&text) {
            Ok(frame) => prop_assert_eq!(run([frame.as_str().as_bytes()]).parsed, vec![Parsed::Comment(text)]),
            Err(e) => {
                prop_assert!(text.contains(['\r', '\n']));
                prop_assert_eq!(e, EncodeError::InvalidComment(text));
            }
        }
    }
}
