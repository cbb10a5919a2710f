//! Browser tests of `use_event_source`, in headless Chromium against the real server.
//!
//! Run them with `cargo xtask test`, which starts `sse-live-server --test-routes` on a free port, passes its URL in
//! `SSE_LIVE_TEST_SERVER` at compile time and the test page's origin in `--allow-origin`, then runs
//! `wasm-bindgen-test-runner`. Tests run one at a time in one page.

#![cfg(target_arch = "wasm32")]

mod common;

use std::time::Duration;

use common::{
    eventually, logged, open_streams, recording, server, settled_open_streams, unique_key, until_open_streams_below,
    TemperatureReading,
};
use leptos::prelude::*;
use leptos_sse_live::{
    text, use_event_source, use_event_source_with_decoder, ConnectionState, EventSourceError, UseEventSourceOptions,
    UseEventSourceReturn,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn hook_reaches_open_and_decodes_each_message_into_the_callers_type() {
    let owner = Owner::new();
    let UseEventSourceReturn { state, data, message, error, .. } =
        owner.with(|| use_event_source::<TemperatureReading>(format!("{}/e/temperatures", server())));
    assert_eq!(state.get_untracked(), ConnectionState::Connecting);

    eventually(Duration::from_secs(5), "state Open and a decoded reading", || {
        state.get_untracked() == ConnectionState::Open && data.get_untracked().is_some()
    })
    .await;
    let reading = data.get_untracked().unwrap();
    assert!((10.0..35.0).contains(&reading.temperature), "plausible: {}", reading.temperature);
    let raw = message.get_untracked().expect("the raw message is kept too");
    assert_eq!(raw.event_type, "message");
    assert_eq!(serde_json::from_str::<TemperatureReading>(&raw.data).unwrap(), reading);
    // The server's ids are `<sequence>@<epoch>`.
    let (sequence, epoch) = raw.last_event_id.split_once('@').unwrap_or_default();
    assert!(sequence.parse::<u64>().is_ok() && !epoch.is_empty(), "events carry ids: {:?}", raw.last_event_id);
    assert_eq!(error.get_untracked(), None);
    owner.cleanup();
}

#[wasm_bindgen_test]
fn json_numbers_beyond_the_decoders_arithmetic_are_read_by_the_browser() {
    // More digits than a u64 holds, or a power of ten over 22: the decoder asks JavaScript's `parseFloat`
    // (correctly rounded); an infinite result is an error, as in serde_json.
    for (text, expected) in [
        ("2.2250738585072011e-308", 2.225_073_858_507_201e-308),
        ("1.00000000000000011102230246251565404236316680908203125", 1.0),
        ("-1.0507936330080961e+77", -1.050_793_633_008_096_1e77),
        ("123456789012345678901234567890", 1.234_567_890_123_456_8e29),
    ] {
        assert_eq!(leptos_sse_live::json::<f64>(text), Ok(expected), "{text}");
    }
    assert!(leptos_sse_live::json::<f64>("1e400").unwrap_err().starts_with("number out of range"));
}

#[wasm_bindgen_test]
async fn invalid_json_is_an_error_value_and_the_stream_goes_on() {
    let owner = Owner::new();
    let UseEventSourceReturn { state, data, message, error, .. } =
        owner.with(|| use_event_source::<TemperatureReading>(format!("{}/test/invalid-json", server())));

    // The route sends `this is not json` (id 1), then a valid reading of 22.5 °C (id 2).
    eventually(Duration::from_secs(5), "the valid reading after the invalid one", || data.get_untracked().is_some())
        .await;
    assert_eq!(data.get_untracked().unwrap().temperature, 22.5);
    match error.get_untracked() {
        Some(EventSourceError::Decode { raw, message }) => {
            assert_eq!(raw, "this is not json");
            assert!(!message.is_empty(), "serde's message is kept");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(state.get_untracked(), ConnectionState::Open, "a decode error keeps the connection open");
    assert_eq!(message.get_untracked().unwrap().last_event_id, "2");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn close_stops_the_stream_and_reports_closed() {
    let before = settled_open_streams().await;
    let owner = Owner::new();
    let UseEventSourceReturn { state, data, close, .. } =
        owner.with(|| use_event_source::<TemperatureReading>(format!("{}/e/temperatures", server())));
    eventually(Duration::from_secs(5), "state Open", || state.get_untracked() == ConnectionState::Open).await;
    eventually(Duration::from_secs(5), "a first reading", || data.get_untracked().is_some()).await;
    let with_stream = open_streams().await;
    assert!(with_stream > before, "the server counts the new stream: {before} -> {with_stream}");
    close();
    assert_eq!(state.get_untracked(), ConnectionState::Closed);
    until_open_streams_below(before + 1, "close()").await;
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn an_unparsable_url_is_an_error_value_not_a_panic() {
    let owner = Owner::new();
    let UseEventSourceReturn { state, error, .. } =
        owner.with(|| use_event_source::<TemperatureReading>("http://[::1"));
    // The hook connects once it is live (an effect), never while it is created: hydration sees the server's state.
    assert_eq!(state.get_untracked(), ConnectionState::Connecting);
    assert_eq!(error.get_untracked(), None);
    eventually(Duration::from_secs(1), "the effect to try the URL", || {
        state.get_untracked() != ConnectionState::Connecting
    })
    .await;
    assert_eq!(state.get_untracked(), ConnectionState::Closed);
    assert!(
        matches!(error.get_untracked(), Some(EventSourceError::InvalidUrl { ref url, .. }) if url == "http://[::1"),
        "got {:?}",
        error.get_untracked()
    );
    owner.cleanup();
}

/// One value of a multi-topic stream, decoded by its event type (the topic).
#[derive(Clone, Debug, PartialEq)]
enum Update {
    Temperature(f64),
    Random(f64),
}

fn number(data: &str, field: &str) -> Result<f64, String> {
    let value: serde_json::Value = serde_json::from_str(data).map_err(|e| e.to_string())?;
    value[field].as_f64().ok_or_else(|| format!("no number {field:?} in {data}"))
}

#[wasm_bindgen_test]
async fn a_decoder_that_sees_the_event_type_decodes_each_type_into_its_own_value() {
    use leptos_sse_live::{use_event_source_with_event_decoder, Event, UseEventSourceOptions};
    // Both topics over one stream, each event named after its topic; `lastEventId=0` replays both histories.
    let url = format!("{}/events?topic=temperatures&topic=random-numbers&lastEventId=0", server());
    let options = UseEventSourceOptions::default().events(["temperatures", "random-numbers"]).history(10_000);
    let owner = Owner::new();
    let UseEventSourceReturn { history, error, reset, .. } = owner.with(|| {
        use_event_source_with_event_decoder(url, options, |event: &Event| match event.event_type.as_str() {
            "temperatures" => number(&event.data, "temperature").map(Update::Temperature),
            "random-numbers" => number(&event.data, "value").map(Update::Random),
            other => Err(format!("unexpected event type {other:?}")),
        })
    });
    eventually(Duration::from_secs(10), "values of both types", || {
        history.with_untracked(|values| {
            values.iter().any(|v| matches!(v, Update::Temperature(_)))
                && values.iter().any(|v| matches!(v, Update::Random(_)))
        })
    })
    .await;
    assert_eq!(error.get_untracked(), None, "every event decoded by its type");
    history.with_untracked(|values| {
        for value in values {
            match value {
                Update::Temperature(t) => assert!((10.0..35.0).contains(t), "a temperature: {t}"),
                Update::Random(r) => assert!((0.0..=1.0).contains(r), "a random number: {r}"),
            }
        }
    });
    assert!(reset.get_untracked().is_some(), "the server's resets for `lastEventId=0` are notices, not values");
    owner.cleanup();
}

#[wasm_bindgen(inline_js = r#"
const Native = EventSource;
let newest = null;
export function trackSources() {
  globalThis.EventSource = class extends Native { constructor(...args) { super(...args); newest = this; } };
}
export function untrackSources() { globalThis.EventSource = Native; }
export function newestSource() { return newest; }
export function sendMessage(source, data, id) { source.dispatchEvent(new MessageEvent('message', { data, lastEventId: id })); }
export function sendLoneSurrogate(source, id) { sendMessage(source, 'a\uD800b', id); }
export function sendBurst(source, n, seen) {
  for (let i = 0; i < n; i++) sendMessage(source, `m${i}`, String(i + 2));
  source.dispatchEvent(new MessageEvent('end', { data: 'done' }));
  return seen();
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = trackSources)]
    fn track_sources();
    #[wasm_bindgen(js_name = untrackSources)]
    fn untrack_sources();
    #[wasm_bindgen(js_name = newestSource)]
    fn newest_source() -> JsValue;
    #[wasm_bindgen(js_name = sendMessage)]
    fn send_message(source: &JsValue, data: &str, id: &str);
    #[wasm_bindgen(js_name = sendLoneSurrogate)]
    fn send_lone_surrogate(source: &JsValue, id: &str);
    /// Dispatches `n` messages (`m0` with id `2`, `m1` with id `3`, ...) and an `end` event on `source`, in one task;
    /// returns what `seen` returns right after the last, still in that task.
    #[wasm_bindgen(js_name = sendBurst)]
    fn send_burst(source: &JsValue, n: u32, seen: &Closure<dyn FnMut() -> u32>) -> u32;
}

/// Keeps the page's newest `EventSource` for [`newest_source`] until dropped, also when the test fails.
struct TrackedSources;

impl TrackedSources {
    fn new() -> Self {
        track_sources();
        Self
    }
}

impl Drop for TrackedSources {
    fn drop(&mut self) {
        untrack_sources();
    }
}

/// Each message's data and id reach the hook as the browser gave them, whatever their size and characters: a small
/// one, one far larger than any before it (the listener's buffer grows), multi-byte UTF-8 and a surrogate pair, an
/// empty message, a lone surrogate (U+FFFD, as the browser's own UTF-8 encoding gives it), and a small one again.
#[wasm_bindgen_test]
async fn messages_of_any_size_and_text_reach_the_hook_intact_with_their_ids() {
    let tracked = TrackedSources::new();
    let (options, log) = recording(UseEventSourceOptions::default());
    let owner = Owner::new();
    let UseEventSourceReturn { data, last_event_id, .. } = owner.with(|| {
        use_event_source_with_decoder(format!("{}/test/stall?key={}", server(), unique_key("sizes")), options, text)
    });
    // The stream's one event (id `1`), then the messages dispatched on its `EventSource`.
    eventually(Duration::from_secs(5), "the stream's first event", || !logged(&log).is_empty()).await;
    let source = newest_source();
    drop(tracked);
    let large = format!("{}é€😀{}", "x".repeat(100_000), "y".repeat(50_000));
    let sent = [
        ("a", "2"),
        (large.as_str(), "3"),
        ("caf\u{e9} \u{20ac} \u{1f600}\nsecond line", "\u{fc}n\u{ef}code-id"),
        ("", ""),
        ("small again", "6"),
    ];
    for (data, id) in &sent[..4] {
        send_message(&source, data, id);
    }
    send_lone_surrogate(&source, "5");
    send_message(&source, sent[4].0, sent[4].1);

    // Handed over in the task that dispatched them, or in the next ones when that task has run long (a burst).
    eventually(Duration::from_secs(5), "the messages handed over", || logged(&log).len() > sent.len() + 1).await;
    let received: Vec<(String, String)> =
        logged(&log).into_iter().skip(1).map(|event| (event.data, event.last_event_id)).collect();
    let mut expected: Vec<(String, String)> =
        sent[..4].iter().map(|(data, id)| (data.to_string(), id.to_string())).collect();
    expected.push(("a\u{fffd}b".to_owned(), "5".to_owned()));
    expected.push(("small again".to_owned(), "6".to_owned()));
    assert_eq!(received.len(), expected.len(), "every message once");
    for (number, (got, want)) in received.iter().zip(&expected).enumerate() {
        assert!(
            got == want,
            "message {number}: {} bytes with id {:?}, expected {} bytes with id {:?}",
            got.0.len(),
            got.1,
            want.0.len(),
            want.1
        );
    }
    eventually(Duration::from_secs(5), "the signals at the last message", || {
        data.get_untracked().as_deref() == Some("small again") && last_event_id.get_untracked() == "6"
    })
    .await;
    owner.cleanup();
}

/// A burst that the browser dispatches in one task (20,000 messages and then the terminal event, as a server's burst
/// read at once) does not keep that task busy with all of the hook's work: the hook hands part of it to `on_message`
/// in later tasks (the page can render and respond in between), every message once and in order, and the terminal
/// event closes the hook only after the last of them.
#[wasm_bindgen_test]
async fn a_burst_dispatched_in_one_task_reaches_the_hook_over_later_tasks_in_order() {
    const BURST: u32 = 20_000;
    let tracked = TrackedSources::new();
    let (options, log) = recording(UseEventSourceOptions::default().terminal_event("end"));
    let owner = Owner::new();
    let UseEventSourceReturn { data, state, last_event_id, .. } = owner.with(|| {
        use_event_source_with_decoder(format!("{}/test/stall?key={}", server(), unique_key("burst")), options, text)
    });
    eventually(Duration::from_secs(5), "the stream's first event", || !logged(&log).is_empty()).await;
    let source = newest_source();
    drop(tracked);
    let counted = log.clone();
    let seen = Closure::<dyn FnMut() -> u32>::new(move || counted.lock().unwrap().len() as u32 - 1);
    let in_the_task = send_burst(&source, BURST, &seen);
    assert!(in_the_task < BURST, "{in_the_task} of {BURST} messages were handled in the task that dispatched them");

    eventually(Duration::from_secs(20), "the terminal event", || state.get_untracked() == ConnectionState::Closed)
        .await;
    let received = logged(&log);
    assert_eq!(received.len() as u32, BURST + 1, "every message once, before the terminal event closed the hook");
    for (number, event) in received[1..].iter().enumerate() {
        let expected = (format!("m{number}"), (number + 2).to_string());
        assert!((&event.data, &event.last_event_id) == (&expected.0, &expected.1), "message {number}: {event:?}");
    }
    assert_eq!(data.get_untracked(), Some(format!("m{}", BURST - 1)));
    assert_eq!(last_event_id.get_untracked(), (BURST + 1).to_string());
    owner.cleanup();
}
