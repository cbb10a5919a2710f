//! The parser against `sse-spec.md`: one or more tests per numbered rule that applies to a parser (14 to 34, each
//! named after its rule), then vectors ported from web-platform-tests `eventsource/format-*`.
//!
//! Every expectation is checked three ways (see [`check`]): the body in one chunk, in 1-byte chunks, and split in
//! two at every position, so each rule is also a chunking test.

use std::time::Duration;

use sse_live_protocol::{parse_events, Event, Parsed, Parser};

/// Parses `chunks` as one body (then `finish`) and returns everything the parser produced, with the parser.
fn run(chunks: &[&[u8]]) -> (Vec<Parsed>, Parser) {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, &mut out);
    }
    parser.finish();
    (out, parser)
}

/// Parses `body` in one chunk, in 1-byte chunks and split in two at every position: all must give `expected`.
/// Returns the parser of the one-chunk run for further checks of its state.
fn check(body: &[u8], expected: &[Parsed]) -> Parser {
    let (out, parser) = run(&[body]);
    assert_eq!(out, expected, "one chunk: {:?}", String::from_utf8_lossy(body));
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    let (out, by_byte) = run(&bytes);
    assert_eq!(out, expected, "1-byte chunks: {:?}", String::from_utf8_lossy(body));
    assert_eq!(by_byte.last_event_id(), parser.last_event_id());
    assert_eq!(by_byte.reconnection_time(), parser.reconnection_time());
    for i in 0..=body.len() {
        let (out, _) = run(&[&body[..i], &body[i..]]);
        assert_eq!(out, expected, "split at {i}: {:?}", String::from_utf8_lossy(body));
    }
    parser
}

fn ev(event_type: &str, data: &str, last_event_id: &str) -> Parsed {
    Parsed::Event(Event { event_type: event_type.into(), data: data.into(), last_event_id: last_event_id.into() })
}

fn msg(data: &str) -> Parsed {
    ev("message", data, "")
}

fn comment(text: &str) -> Parsed {
    Parsed::Comment(text.into())
}

fn retry(millis: u64) -> Parsed {
    Parsed::Retry(Duration::from_millis(millis))
}

// ---------------------------------------------------------------------------------------------------------------
// Rule 14: UTF-8, U+FFFD for invalid bytes, one leading BOM stripped, characters split across chunks.

#[test]
fn rule_14_invalid_utf8_bytes_become_replacement_characters() {
    // A stray continuation byte, an overlong encoding, a surrogate and a truncated 4-byte sequence: one U+FFFD per
    // maximal invalid subpart, as the WHATWG UTF-8 decoder does.
    check(
        b"data: a\xFFb\xC0\xAFc\xED\xA0\x80d\xF0\x9F\x98e\n\n",
        &[msg("a\u{FFFD}b\u{FFFD}\u{FFFD}c\u{FFFD}\u{FFFD}\u{FFFD}d\u{FFFD}e")],
    );
    check(b"event: \xFE\nid: \x80\ndata: x\n\n", &[ev("\u{FFFD}", "x", "\u{FFFD}")]);
    check(b":\xFF\n", &[comment("\u{FFFD}")]);
}

#[test]
fn rule_14_a_truncated_character_before_a_line_end_is_one_replacement_character() {
    check(b"data: \xE2\x82\ndata: \xE2\x82\xAC\n\n", &[msg("\u{FFFD}\n\u{20AC}")]);
}

#[test]
fn rule_14_a_multibyte_character_split_across_chunks_is_decoded_whole() {
    // `check` splits at every byte, so inside each of the 2-, 3- and 4-byte characters.
    check("event: é\ndata: é€😀\n\n".as_bytes(), &[ev("é", "é€😀", "")]);
}

#[test]
fn rule_14_exactly_one_leading_bom_is_stripped() {
    check(b"\xEF\xBB\xBFdata: a\n\n", &[msg("a")]);
    // A second BOM is part of the first field name, so `\u{FEFF}data` is an unknown field.
    check(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n", &[msg("b")]);
}

#[test]
fn rule_14_a_bom_later_in_the_stream_is_not_stripped() {
    check(b"data: a\n\n\xEF\xBB\xBFdata: b\n\ndata: c\n\n", &[msg("a"), msg("c")]);
    check(b"data: \xEF\xBB\xBFa\n\n", &[msg("\u{FEFF}a")]);
}

#[test]
fn rule_14_a_partial_bom_is_decoded_as_invalid_bytes() {
    // EF BB then `d`: an incomplete sequence, one U+FFFD that becomes part of the first field name.
    check(b"\xEF\xBBdata: a\n\ndata: b\n\n", &[msg("b")]);
    check(b"\xEF\xBB\n:x\n", &[comment("x")]);
}

#[test]
fn rule_14_each_connection_strips_its_own_leading_bom() {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    parser.feed(b"\xEF\xBB\xBFdata: a\n\n", &mut out);
    parser.finish();
    parser.feed(b"\xEF\xBB", &mut out);
    parser.feed(b"\xBFdata: b\n\n", &mut out);
    assert_eq!(out, [msg("a"), msg("b")]);
}

// ---------------------------------------------------------------------------------------------------------------
// Rule 15: CRLF, LF or lone CR; CR + LF across chunks is one line ending.

#[test]
fn rule_15_crlf_lf_and_lone_cr_each_end_a_line() {
    check(b"data: a\r\ndata: b\ndata: c\rdata: d\r\n\r\n", &[msg("a\nb\nc\nd")]);
    check(b"data: a\r\rdata: b\n\ndata: c\r\n\r\n", &[msg("a"), msg("b"), msg("c")]);
}

#[test]
fn rule_15_cr_then_lf_across_chunks_is_one_line_end() {
    // Were the LF a second line ending, it would be an empty line and dispatch "a" alone.
    let (out, _) = run(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
    assert_eq!(out, [msg("a\nb")]);
}

#[test]
fn rule_15_cr_cr_and_lf_cr_are_two_line_ends() {
    check(b"data: a\r\r", &[msg("a")]);
    check(b"data: a\n\r", &[msg("a")]);
    check(b"data: a\r\n\r\r\n", &[msg("a")]);
}

#[test]
fn rule_15_a_line_ending_cr_completes_the_line_at_once() {
    // The parser cannot know yet whether an LF follows, but it need not wait to act on the line.
    let mut parser = Parser::new();
    let mut out = Vec::new();
    parser.feed(b":ping\r", &mut out);
    assert_eq!(out, [comment("ping")]);
    parser.feed(b"data: a\r\r", &mut out);
    assert_eq!(out, [comment("ping"), msg("a")]);
}

// ---------------------------------------------------------------------------------------------------------------
// Rules 16 to 20: lines.

#[test]
fn rule_16_an_empty_line_dispatches_the_event() {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    parser.feed(b"data: a\n", &mut out);
    assert_eq!(out, []);
    parser.feed(b"\n", &mut out);
    assert_eq!(out, [msg("a")]);
    // Further empty lines have nothing to dispatch.
    parser.feed(b"\n\r\n\r", &mut out);
    assert_eq!(out, [msg("a")]);
}

#[test]
fn rule_17_a_comment_line_is_ignored_and_reported() {
    check(b"data: a\n: keep-alive\ndata: b\n\n", &[comment("keep-alive"), msg("a\nb")]);
    check(b": only comments\n\n:\n\n", &[comment("only comments"), comment("")]);
}

#[test]
fn rule_17_a_comment_loses_one_leading_space_and_keeps_the_rest() {
    check(
        b":  two\n::colon\n:no-space\n: data: x\n\n",
        &[comment(" two"), comment(":colon"), comment("no-space"), comment("data: x")],
    );
}

#[test]
fn rule_18_a_line_splits_at_the_first_colon() {
    check(b"event:a:b\ndata:x: y:z\n\n", &[ev("a:b", "x: y:z", "")]);
}

#[test]
fn rule_18_exactly_one_leading_space_is_removed() {
    check(b"data:  two\ndata: one\ndata:none\ndata:\ttab\ndata: \n\n", &[msg(" two\none\nnone\n\ttab\n")]);
    check(b"event:  spaced\ndata: x\n\n", &[ev(" spaced", "x", "")]);
}

#[test]
fn rule_19_a_line_without_colon_is_a_field_with_an_empty_value() {
    check(b"data\n\n", &[msg("")]);
    check(b"data\ndata\n\n", &[msg("\n")]);
    check(b"event: a\nevent\ndata: x\n\n", &[msg("x")]);
    check(b"id: 1\ndata: a\n\nid\ndata: b\n\n", &[ev("message", "a", "1"), msg("b")]);
}

#[test]
fn rule_20_field_names_are_case_sensitive() {
    let parser = check(b"Data: a\nDATA: b\nEvent: e\nID: 1\nRetry: 5\ndata : c\n\ndata: x\n\n", &[msg("x")]);
    assert_eq!(parser.last_event_id(), "");
    assert_eq!(parser.reconnection_time(), None);
}

// ---------------------------------------------------------------------------------------------------------------
// Rules 21 to 25: fields.

#[test]
fn rule_21_event_sets_the_event_type() {
    check(b"event: reading\ndata: x\n\nevent: a\nevent: b\ndata: y\n\n", &[ev("reading", "x", ""), ev("b", "y", "")]);
}

#[test]
fn rule_22_data_appends_the_value_and_a_line_feed() {
    check(b"data: a\ndata:\ndata: b\ndata:\n\n", &[msg("a\n\nb\n")]);
}

#[test]
fn rule_23_id_sets_the_last_event_id() {
    let parser = check(b"id: 7\ndata: x\n\n", &[ev("message", "x", "7")]);
    assert_eq!(parser.last_event_id(), "7");
    check(b"id: a b \ndata: x\n\n", &[ev("message", "x", "a b ")]);
}

#[test]
fn rule_23_an_id_containing_nul_is_ignored() {
    let parser = check(
        b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\nid:\x00\ndata: c\n\n",
        &[ev("message", "a", "1"), ev("message", "b", "1"), ev("message", "c", "1")],
    );
    assert_eq!(parser.last_event_id(), "1");
}

#[test]
fn rule_23_an_empty_id_resets_the_last_event_id() {
    let parser = check(b"id: 1\ndata: a\n\nid:\ndata: b\n\n", &[ev("message", "a", "1"), msg("b")]);
    assert_eq!(parser.last_event_id(), "");
    let parser = check(b"id: 1\ndata: a\n\nid\n\n", &[ev("message", "a", "1")]);
    assert_eq!(parser.last_event_id(), "");
}

#[test]
fn rule_24_retry_with_only_ascii_digits_sets_the_reconnection_time() {
    let parser = check(b"retry: 2500\n\n", &[retry(2500)]);
    assert_eq!(parser.reconnection_time(), Some(Duration::from_millis(2500)));
    // Decimal with leading zeros (not octal), and 0 is valid.
    let parser = check(b"retry:02000\nretry: 0\n", &[retry(2000), retry(0)]);
    assert_eq!(parser.reconnection_time(), Some(Duration::ZERO));
}

#[test]
fn rule_24_retry_with_anything_but_ascii_digits_is_ignored() {
    for bogus in ["1000x", " 1000", "1000 ", "-1", "+5", "1.5", "1e3", "", "\u{FF11}\u{FF12}", "\u{0661}"] {
        // After the one space the parser removes, the value is exactly `bogus` (so " 1000" has a leading space).
        let body = format!("retry: 3000\nretry: {bogus}\ndata: x\n\n");
        let parser = check(body.as_bytes(), &[retry(3000), msg("x")]);
        assert_eq!(parser.reconnection_time(), Some(Duration::from_millis(3000)), "retry: {bogus:?}");
    }
    check(b"retry\ndata: x\n\n", &[msg("x")]);
}

#[test]
fn rule_24_a_huge_retry_saturates_instead_of_panicking() {
    let max = Duration::from_millis(u64::MAX);
    check(b"retry: 18446744073709551615\n", &[Parsed::Retry(max)]);
    check(b"retry: 18446744073709551616\n", &[Parsed::Retry(max)]);
    let huge = format!("retry: {}\n", "9".repeat(10_000));
    let (out, parser) = run(&[huge.as_bytes()]);
    assert_eq!(out, [Parsed::Retry(max)]);
    assert_eq!(parser.reconnection_time(), Some(max));
}

#[test]
fn rule_25_any_other_field_name_is_ignored() {
    let parser = check(b"foo: bar\nbar\nevent_: x\nid2: 4\n: c\ndata: x\n\nfoo: bar\n\n", &[comment("c"), msg("x")]);
    assert_eq!(parser.last_event_id(), "");
}

// ---------------------------------------------------------------------------------------------------------------
// Rules 26 to 30: dispatch.

#[test]
fn rule_26_the_last_event_id_is_updated_even_when_no_event_fires() {
    let parser = check(b"id: 5\n\n", &[]);
    assert_eq!(parser.last_event_id(), "5");
    check(b"id: 5\n\ndata: x\n\n", &[ev("message", "x", "5")]);
}

#[test]
fn rule_26_the_last_event_id_takes_effect_at_dispatch() {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    parser.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n", &mut out);
    assert_eq!(parser.last_event_id(), "1");
    parser.feed(b"\n", &mut out);
    assert_eq!(parser.last_event_id(), "2");
}

#[test]
fn rule_26_the_last_event_id_persists_across_events() {
    check(
        b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\ndata: d\n\n",
        &[ev("message", "a", "1"), ev("message", "b", "1"), ev("message", "c", "2"), ev("message", "d", "2")],
    );
}

#[test]
fn rule_27_an_empty_data_buffer_fires_nothing_and_clears_the_type() {
    check(b"event: a\n\ndata: x\n\n", &[msg("x")]);
    check(b"event: a\nid: 1\nfoo: bar\n\n", &[]);
}

#[test]
fn rule_28_one_trailing_line_feed_is_removed() {
    check(b"data: a\n\n", &[msg("a")]);
    check(b"data: a\ndata\n\n", &[msg("a\n")]);
    check(b"data\ndata\ndata\n\n", &[msg("\n\n")]);
}

#[test]
fn rule_29_the_type_defaults_to_message_and_the_event_carries_the_last_event_id() {
    check(b"id: 3\ndata: x\n\nevent: tick\ndata: y\n\n", &[ev("message", "x", "3"), ev("tick", "y", "3")]);
}

#[test]
fn rule_30_data_and_type_buffers_are_cleared_after_dispatch() {
    check(b"event: a\ndata: x\n\ndata: y\n\n", &[ev("a", "x", ""), msg("y")]);
}

// ---------------------------------------------------------------------------------------------------------------
// Rules 31 to 34: end of stream and the standard's examples.

#[test]
fn rule_31_an_event_without_its_final_empty_line_is_discarded() {
    check(b"data: a\n\ndata: b\n", &[msg("a")]);
    check(b"data: a\n\ndata: b", &[msg("a")]);
    check(b"data: a\n\ndata: b\r", &[msg("a")]);
    // An unterminated last line is not a line at all: not even a comment or a retry.
    check(b":ping", &[]);
    check(b"retry: 10", &[]);
}

#[test]
fn rule_31_nothing_of_a_discarded_event_leaks_into_the_next_connection() {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    parser.feed(b"id: 1\nretry: 10\ndata: a\n\nevent: x\nid: 2\ndata: b\ndat", &mut out);
    parser.finish();
    assert_eq!(parser.last_event_id(), "1");
    assert_eq!(parser.reconnection_time(), Some(Duration::from_millis(10)));
    parser.feed(b"a: c\n\n", &mut out);
    // `a: c` is an unknown field (the `dat` was dropped), so nothing fires; the id in force is still 1.
    parser.feed(b"data: d\r", &mut out);
    parser.finish();
    parser.feed(b"\ndata: e\n\n", &mut out);
    // The pending CR was forgotten too: the LF starting the third connection is an empty line, then `e` fires.
    assert_eq!(out, [retry(10), ev("message", "a", "1"), ev("message", "e", "1")]);
}

#[test]
fn rule_32_the_standards_example_fires_an_empty_string_then_a_line_feed() {
    let body = b"data\n\ndata\ndata\n\ndata:";
    check(body, &[msg(""), msg("\n")]);
    let events = parse_events(body);
    assert_eq!(events.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(), ["", "\n"]);
}

#[test]
fn rule_33_data_colon_test_and_data_colon_space_test_are_the_same() {
    check(b"data:test\n\ndata: test\n\ndata:  test\n\n", &[msg("test"), msg("test"), msg(" test")]);
}

#[test]
fn rule_34_there_is_no_reconnection_time_until_a_retry_field() {
    assert_eq!(Parser::new().reconnection_time(), None);
    assert_eq!(Parser::default().reconnection_time(), None);
    let parser = check(b"id: 1\ndata: a\n\n", &[ev("message", "a", "1")]);
    assert_eq!(parser.reconnection_time(), None);
}

// ---------------------------------------------------------------------------------------------------------------
// Vectors from web-platform-tests `eventsource/`. Their server (`resources/message.py`) appends "\n\n" to the
// message unless `newline=none`, then one more "\n"; the bodies below are what it sends.

#[test]
fn wpt_format_bom() {
    check(b"\xEF\xBB\xBFdata:1\n\n\xEF\xBB\xBFdata:2\n\ndata:3\n\n\n", &[msg("1"), msg("3")]);
}

#[test]
fn wpt_format_bom_2() {
    check(b"\xEF\xBB\xBF\xEF\xBB\xBFdata:1\n\ndata:2\n\ndata:3\n\n\n", &[msg("2"), msg("3")]);
}

#[test]
fn wpt_format_comments() {
    let long = "x".repeat(2 * 1024);
    let body = format!("data:1\r:\0\n:\r\ndata:2\n:{long}\rdata:3\n:data:fail\r:{long}\ndata:4\n\n");
    let (out, _) = run(&[body.as_bytes()]);
    assert_eq!(
        out,
        [comment("\0"), comment(""), comment(&long), comment("data:fail"), comment(&long), msg("1\n2\n3\n4")]
    );
    let bytes: Vec<&[u8]> = body.as_bytes().chunks(1).collect();
    assert_eq!(run(&bytes).0, out);
}

#[test]
fn wpt_format_data_before_final_empty_line() {
    // The body ends without the final empty line; the browser reconnects and gets the same body again.
    let body = b"retry:1000\ndata:test1\n\nid:test\ndata:test2\n";
    let mut parser = Parser::new();
    let mut out = Vec::new();
    for _ in 0..2 {
        parser.feed(body, &mut out);
        parser.finish();
    }
    assert_eq!(out, [retry(1000), msg("test1"), retry(1000), msg("test1")]);
    assert_eq!(parser.last_event_id(), "");
}

#[test]
fn wpt_format_field_data() {
    check(b"data:\n\ndata\ndata\n\ndata:test\n\n\n", &[msg(""), msg("\n"), msg("test")]);
}

#[test]
fn wpt_format_field_event() {
    check(b"event:test\ndata:x\n\ndata:x\n\n\n", &[ev("test", "x", ""), msg("x")]);
}

#[test]
fn wpt_format_field_event_empty() {
    check(b"event: \ndata:data\n\n\n", &[msg("data")]);
}

#[test]
fn wpt_format_field_id() {
    // resources/last-event-id: the first connection's body.
    let parser = check("id: …\nretry: 200\ndata: hello\n\n".as_bytes(), &[retry(200), ev("message", "hello", "…")]);
    assert_eq!(parser.last_event_id(), "…");
}

#[test]
fn wpt_format_field_id_3_persists() {
    check(b"id: 1\ndata: 1\n\ndata:2\n\n", &[ev("message", "1", "1"), ev("message", "2", "1")]);
}

#[test]
fn wpt_format_field_id_3_changes_and_persists() {
    check(
        b"id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n",
        &[ev("message", "1", "1"), ev("message", "2", "2"), ev("message", "3", "2")],
    );
}

#[test]
fn wpt_format_field_id_3_resets() {
    check(b"id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n", &[ev("message", "1", "1"), msg("2"), msg("3")]);
}

#[test]
fn wpt_format_field_id_null() {
    // resources/last-event-id with idvalue=%00%00: under the current standard (rule 23) the id is ignored.
    let parser = check(b"id: \0\0\ndata: hello\n\n", &[msg("hello")]);
    assert_eq!(parser.last_event_id(), "");
}

#[test]
fn wpt_format_field_parsing() {
    check(
        b"data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n",
        &[msg("\0\n 2\n1\n3\n\n4")],
    );
}

#[test]
fn wpt_format_field_retry() {
    let parser = check(b"retry:02000\ndata:x\n\n\n", &[retry(2000), msg("x")]);
    assert_eq!(parser.reconnection_time(), Some(Duration::from_millis(2000)));
}

#[test]
fn wpt_format_field_retry_bogus() {
    let parser = check(b"retry:2000\nretry:1000x\ndata:x\n\n\n", &[retry(2000), msg("x")]);
    assert_eq!(parser.reconnection_time(), Some(Duration::from_millis(2000)));
}

#[test]
fn wpt_format_field_retry_empty() {
    let parser = check(b"retry\ndata:test\n\n\n", &[msg("test")]);
    assert_eq!(parser.reconnection_time(), None);
}

#[test]
fn wpt_format_field_unknown() {
    check(
        b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n\n",
        &[comment("thisisacommentyay"), msg("test\n\ntest")],
    );
}

#[test]
fn wpt_format_leading_space() {
    check(b"data:\ttest\rdata: \ndata:test\n\n\n", &[msg("\ttest\n\ntest")]);
}

#[test]
fn wpt_format_newlines() {
    check(b"data:test\r\ndata\ndata:test\r\n\r\n", &[msg("test\n\ntest")]);
}

#[test]
fn wpt_format_null_character() {
    check(b"data:\0\n\n\n\n", &[msg("\0")]);
}

#[test]
fn wpt_format_utf_8() {
    // Served as `text/event-stream;charset=windows-1252`: the stream is UTF-8 whatever the label says.
    check("data:ok…\n\n\n".as_bytes(), &[msg("ok…")]);
}
